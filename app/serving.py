"""How uvicorn serves the app: its options, and the HTTP protocol that writes each response in one piece.

uvicorn's httptools protocol writes a response's status line and headers when the app starts the response,
and its body when the app sends it: two system calls, and for a small response two TCP segments, which the
client reads with two wake-ups. Measured on loopback (wrk, 32 connections), writing them together serves
`GET /customer/{id}` about half as fast again. `OneWriteHttpTools` is uvicorn's protocol over a transport
that holds what is written until the event loop finishes its current step, then writes it at once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Held writes go out at once past this size: a stream that writes many pieces in one step of the loop is not
# kept in memory, and the transport's own flow control (pause_writing past its high-water mark) still holds.
MAX_HELD_BYTES = 64 * 1024


class HeldWrites:
    """A transport whose writes wait for the end of the event loop's current step (or MAX_HELD_BYTES), then
    go out as one write. Closing writes what is held first; a transport closed under it drops what is held,
    as the transport itself would. Everything else is the transport's."""

    __slots__ = ("_transport", "_loop", "_held", "_size")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if type(data) is not bytes:  # a buffer its writer may reuse once the call returns: copied now
            data = bytes(data)
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._size += len(data)
        if self._size > MAX_HELD_BYTES:
            self.flush()

    def flush(self) -> None:
        held, self._held, self._size = self._held, [], 0
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through HeldWrites."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeldWrites(transport, self.loop))  # type: ignore[arg-type]


# The uvicorn options every server of the app runs with (`tmf629 serve`, and the tests' live servers).
UVICORN_OPTIONS: dict[str, Any] = {
    "loop": "uvloop",
    "http": OneWriteHttpTools,
    "server_header": False,
}
