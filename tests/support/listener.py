"""A real HTTP listener for hub tests: collects POSTed events, answers `status`, and can go down and
come back on the same port. It runs in a thread of its own, so it answers whatever the test's event
loop is doing."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.process import free_port


@dataclass(frozen=True)
class Received:
    path: str
    body: dict[str, Any]
    at: float  # time.monotonic()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    listener: Listener


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        listener = self.server.listener
        status = listener.status
        if 200 <= status < 300:
            listener.record(Received(self.path, json.loads(raw), time.monotonic()))
        else:
            listener.refused += 1
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Listener:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.status = 201
        self.refused = 0
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def callback(self, path: str = "/listener") -> str:
        return self.url + path

    def record(self, received: Received) -> None:
        with self._lock:
            self._received.append(received)

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self._received if path is None or r.path == path]

    def events(self, path: str | None = None) -> list[dict[str, Any]]:
        return [r.body for r in self.received(path)]

    def start(self) -> Listener:
        server = _Server(("127.0.0.1", self.port), _Handler)
        server.listener = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    async def wait_for(
        self, count: int, path: str | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The events received on `path` once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count:
            if time.monotonic() > deadline:
                got = [e.get("eventType") for e in self.events(path)]
                raise AssertionError(
                    f"expected {count} events on {path or 'any path'} within {timeout}s, got {got}"
                )
            await asyncio.sleep(0.02)
        return self.events(path)


FAST_DISPATCH = {
    "dispatcher_enabled": True,
    "dispatch_poll_seconds": 0.1,
    "dispatch_backoff_base_seconds": 0.1,
    "dispatch_backoff_max_seconds": 0.4,
    "dispatch_timeout_seconds": 1.0,
    "dispatch_lease_seconds": 2.0,
    "dispatch_max_attempts": 100,
    "hub_callback_allow": "127.0.0.0/8",
}


def fast_dispatch_env(**extra: Any) -> dict[str, str]:
    """FAST_DISPATCH as TMF629_* variables, for ServerProcess."""
    values = {**FAST_DISPATCH, **extra}
    return {
        f"TMF629_{name.upper()}": str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in values.items()
    }
