"""The HTTP protocol the app is served with: each response's head and body leave in one write, and nothing
is lost, reordered or held past the loop's step (HeldWrites), on a real uvicorn server and real sockets."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import httpx
import pytest
import uvicorn

from app.serving import MAX_HELD_BYTES, UVICORN_OPTIONS, HeldWrites, OneWriteHttpTools


class RecordingTransport(asyncio.Transport):
    """The transport under HeldWrites: what reached it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.calls.append(("write", bytes(data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append(("eof", b""))

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 8000) if name == "peername" else default


async def next_step() -> None:
    """Let the loop finish its current step (and run what it scheduled)."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_writes_of_one_step_leave_as_one_write_at_its_end() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    held.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
    held.write(b"{}")
    assert transport.calls == []
    await next_step()
    assert transport.calls == [("write", b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")]


async def test_a_reused_buffer_is_written_as_it_was_when_written() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    buffer = bytearray(b"first")
    held.write(buffer)
    buffer[:] = b"later"
    held.write(memoryview(b"!"))
    await next_step()
    assert transport.calls == [("write", b"first!")]


async def test_writes_of_separate_steps_leave_separately() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    held.write(b"one")
    await next_step()
    held.write(b"two")
    await next_step()
    assert transport.calls == [("write", b"one"), ("write", b"two")]


async def test_more_than_the_limit_leaves_at_once_in_order() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    head, body = b"h" * 10, b"b" * MAX_HELD_BYTES
    held.write(head)
    held.write(body)  # past the limit: written now, not at the end of the step
    assert transport.calls == [("write", head + body)]
    held.write(b"tail")
    await next_step()
    assert transport.calls == [("write", head + body), ("write", b"tail")]


async def test_exactly_the_limit_waits_for_the_step() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    held.write(b"x" * MAX_HELD_BYTES)
    assert transport.calls == []
    await next_step()
    assert transport.calls == [("write", b"x" * MAX_HELD_BYTES)]


async def test_close_and_eof_write_what_is_held_first() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    held.write(b"last")
    held.write_eof()
    held.write(b"after")
    held.close()
    await next_step()
    assert transport.calls == [("write", b"last"), ("eof", b""), ("write", b"after"), ("close", b"")]


async def test_a_transport_closed_under_it_drops_what_is_held() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    held.write(b"lost")
    transport.closing = True
    assert held.is_closing()
    await next_step()
    assert transport.calls == []


async def test_everything_else_is_the_transports() -> None:
    transport = RecordingTransport()
    held = HeldWrites(transport, asyncio.get_running_loop())
    assert held.get_extra_info("peername") == ("127.0.0.1", 8000)
    assert not held.is_closing()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: /small answers 2 bytes, /big streams 3 pieces (one larger than MAX_HELD_BYTES),
    /echo answers the request's body."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/echo":
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        pieces = [body]
    elif path == "/big":
        pieces = [b"a" * 1000, b"b" * (MAX_HELD_BYTES * 2), b"c" * 10]
    else:
        pieces = [b"ok"]
    length = str(sum(len(piece) for piece in pieces)).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", length)]})
    for index, piece in enumerate(pieces):
        await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces) - 1})


@pytest.fixture(scope="module")
def served() -> Any:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **UVICORN_OPTIONS
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.01)
    yield server, f"http://127.0.0.1:{port}", port
    server.should_exit = True
    thread.join(timeout=15)


def test_the_app_is_served_with_the_one_write_protocol(served: Any) -> None:
    server, _url, _port = served
    assert UVICORN_OPTIONS["http"] is OneWriteHttpTools
    assert server.config.http_protocol_class is OneWriteHttpTools


def test_small_big_and_echoed_answers_arrive_whole(served: Any) -> None:
    _server, url, _port = served
    with httpx.Client(base_url=url) as client:
        assert client.get("/small").content == b"ok"
        big = client.get("/big").content
        assert big == b"a" * 1000 + b"b" * (MAX_HELD_BYTES * 2) + b"c" * 10
        payload = b"p" * 300_000
        assert client.post("/echo", content=payload).content == payload


def test_pipelined_requests_get_their_answers_in_order(served: Any) -> None:
    _server, _url, port = served
    request = (
        b"GET /small HTTP/1.1\r\nhost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        received = b""
        while received.count(b"HTTP/1.1 200") < 2 or not received.endswith(b"hello"):
            chunk = conn.recv(65536)
            assert chunk, f"connection closed after {received!r}"
            received += chunk
    first, second = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert first.endswith(b"\r\n\r\nok") and second.endswith(b"\r\n\r\nhello")


def test_connection_close_answers_then_closes(served: Any) -> None:
    _server, _url, port = served
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"GET /small HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        received = b""
        while chunk := conn.recv(65536):
            received += chunk
    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and received.endswith(b"\r\n\r\nok")
