"""wrk: found or installed, run with one of the bench Lua scripts, its result parsed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GET_SCRIPT = HERE / "get.lua"
POST_SCRIPT = HERE / "post.lua"


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
    script_arg: Path | None,
    *,
    duration: float,
    connections: int,
    threads: int,
    headers: dict[str, str] | None = None,
) -> WrkResult:
    """One wrk run against `url` (scheme://host:port/path): its requests, errors and latencies."""
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
    if script_arg is not None:
        command.append(str(script_arg))
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr or done.stdout}")
    return parse(done.stdout)
