"""Random (version 4) UUIDs for customers and events, drawn from a buffer of OS randomness.

`uuid.uuid4()` asks the OS for 16 bytes on every call, and that system call gives up the GIL: on a
loaded server the request thread then waits for the writer thread to hand it back. One call for
256 identifiers keeps the same randomness source at a fraction of the hand-offs.
"""

from __future__ import annotations

import os
import threading
import uuid

_CHUNK = 16 * 256
_lock = threading.Lock()
_buffer = b""
_used = _CHUNK


def new_id() -> str:
    global _buffer, _used
    with _lock:
        if _used >= len(_buffer):
            _buffer, _used = os.urandom(_CHUNK), 0
        raw = _buffer[_used : _used + 16]
        _used += 16
    return str(uuid.UUID(bytes=raw, version=4))


def storable(identifier: str) -> bool:
    """Whether an identifier could be stored at all. One holding NUL names nothing; PostgreSQL would
    refuse the statement rather than find no row, so it is answered as unknown before any SQL."""
    return "\x00" not in identifier
