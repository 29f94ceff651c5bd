"""Run `tmf629 serve` as a separate process (for the CTK, SIGKILL and multi-replica tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerProcess:
    def __init__(
        self, database_url: str, port: int | None = None, log_path: Path | None = None, **env: str
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/tmf-api/customerManagement/v4"
        self.env = {
            **os.environ,
            "TMF629_DATABASE_URL": database_url,
            "TMF629_HOST": "127.0.0.1",
            "TMF629_PORT": str(self.port),
            "TMF629_HUB_CALLBACK_ALLOW": "127.0.0.0/8",  # the tests' listeners are local
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = log_path  # the server's stderr (its logs) goes there when given

    def start(self, timeout: float = 20) -> ServerProcess:
        stderr = open(self.log_path, "ab") if self.log_path is not None else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        if stderr is not None:
            stderr.close()  # the child holds its own descriptor
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
