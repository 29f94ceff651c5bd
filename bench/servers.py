"""The servers under test, each a subprocess on a free loopback port, started and stopped one at a time."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-server-header")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def app_command(port: int) -> tuple[list[str], dict[str, str]]:
    """The service itself: `tmf629 serve`, one uvicorn worker (uvloop, httptools), settings from env."""
    env = {
        "TMF629_HOST": "127.0.0.1",
        "TMF629_PORT": str(port),
        "TMF629_WORKERS": "1",
        "TMF629_ACCESS_LOG": "false",
        "TMF629_LOG_LEVEL": "warning",
    }
    return [sys.executable, "-m", "app.cli", "serve"], env


def ceiling_command(
    module: str, port: int, workers: int = 1, one_write: bool = False
) -> tuple[list[str], dict[str, str]]:
    """A bare app under stock uvicorn (uvloop, httptools), or, `one_write`, served as the service is."""
    if one_write:
        return [sys.executable, "-m", "bench.one_write", f"{module}:app", str(port)], {}
    command = [sys.executable, "-m", "uvicorn", f"{module}:app", *UVICORN_FLAGS]
    command += [
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return command, {}


class ServerFailed(RuntimeError):
    pass


class ServerURL(str):
    """The base URL of a running server, with the pid of its process (for its resident memory)."""

    pid: int


def resident_bytes(pid: int) -> int:
    """The resident memory of a process and its descendants (uvicorn's workers), from /proc."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


@contextmanager
def serve(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    ready_path: str,
    log_dir: Path,
    timeout: float = 60,
) -> Iterator[ServerURL]:
    """Start the server, wait until `ready_path` answers below 500, yield its base URL, stop it."""
    log_path = log_dir / f"{name}.log"
    base = ServerURL(f"http://127.0.0.1:{port}")
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base.pid = process.pid
    try:
        _wait_ready(process, base + ready_path, log_path, timeout)
        yield base
    finally:
        _stop(process)


def _wait_ready(process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerFailed(f"server exited with {process.returncode}; its log:\n{_tail(log_path)}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise ServerFailed(f"server did not answer {url} within {timeout:.0f}s; its log:\n{_tail(log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown (runs on_shutdown)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
