"""wrk: found or installed, run with one of the bench Lua scripts, its result parsed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GET_SCRIPT = HERE / "get.lua"
POST_SCRIPT = HERE / "post.lua"
MIXED_SCRIPT = HERE / "mixed.lua"


class WrkMissing(RuntimeError):
    pass


def ensure_wrk() -> str:
    """The wrk binary; installed with apt-get when it is missing and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WrkMissing("wrk is not on PATH; install it (e.g. `apt-get install -y wrk`) and run again")
    print("wrk is not on PATH: installing it with apt-get (root)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("apt-get installed wrk but it is still not on PATH")
    return found


@dataclass
class WrkResult:
    requests: int
    seconds: float
    errors: int  # connect/read/write/timeout errors
    bad_status: int  # responses other than 2xx/3xx
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        good = self.requests - self.bad_status
        return good / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return self.errors + self.bad_status


def combined(first: WrkResult, second: WrkResult) -> WrkResult:
    """Two runs of one scenario as one: their requests over their time, latencies averaged (max: the max)."""
    return WrkResult(
        requests=first.requests + second.requests,
        seconds=first.seconds + second.seconds,
        errors=first.errors + second.errors,
        bad_status=first.bad_status + second.bad_status,
        mean_ms=(first.mean_ms + second.mean_ms) / 2,
        p50_ms=(first.p50_ms + second.p50_ms) / 2,
        p90_ms=(first.p90_ms + second.p90_ms) / 2,
        p99_ms=(first.p99_ms + second.p99_ms) / 2,
        max_ms=max(first.max_ms, second.max_ms),
    )


def parse(output: str) -> WrkResult:
    for line in output.splitlines():
        if line.startswith("WRK_RESULT "):
            data = json.loads(line.removeprefix("WRK_RESULT "))
            break
    else:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        bad_status=data["status"],
        mean_ms=data["mean_us"] / 1000,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


def run_wrk(
    wrk: str,
    url: str,
    script: Path,
    script_arg: Path | list[str] | None,
    *,
    duration: float,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
    stop_marker: Path | None = None,
) -> WrkResult:
    """One wrk run against `url` (scheme://host:port/path): its requests, errors and latencies (a script
    may stop its threads before `duration`, as mixed.lua does after a number of requests: it then leaves
    a file named `stop_marker` + a suffix per thread, and the run ends when every thread has)."""
    threads = max(1, min(threads, connections))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        *(f"-H{name}: {value}" for name, value in (headers or {}).items()),
        url,
    ]
    if isinstance(script_arg, list):
        command += script_arg
    elif script_arg is not None:
        command.append(str(script_arg))
    if stop_marker is None:
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        if done.returncode != 0:
            raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")
        return parse(done.stdout)
    return _until_stopped(command, stop_marker, threads, duration)


def _until_stopped(command: list[str], marker: Path, threads: int, duration: float) -> WrkResult:
    """Run wrk until each of its threads has left a file `marker*` (it stopped after its share of
    requests), then interrupt it: on SIGINT, wrk stops sleeping out -d and prints its summary."""
    for old in marker.parent.glob(marker.name + "*"):
        old.unlink()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + duration + 60
        while process.poll() is None and time.monotonic() < deadline:
            if len(list(marker.parent.glob(marker.name + "*"))) >= threads:
                process.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        try:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            raise RuntimeError("wrk did not stop") from None
    if process.returncode not in (0, -signal.SIGINT):
        raise RuntimeError(f"wrk exited with {process.returncode}: {stderr or stdout}")
    return parse(stdout)
