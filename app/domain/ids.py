"""Time-ordered (version 7, RFC 9562) UUIDs for customers and events, their random bits drawn from a buffer
of OS randomness.

Version 7: the first 48 bits are the Unix time in milliseconds, the other 74 (after the version and variant
bits) random. Identifiers made one after the other sort together, so each new row's entry in an index on
its id (customer.id, customer_account.customer_id, event_outbox.event_id) lands next to the previous one's:
an insert dirties the index's last pages, where a random (version 4) id dirtied a page anywhere in it. On
SQLite that was three pages more of WAL per create, written again by each checkpoint; on PostgreSQL, three
random index pages per create too. 74 random bits keep an id as unguessable as before for any purpose here.

`os.urandom` is one system call per 256 identifiers (it gives up the GIL, so a call per id made the request
thread wait to take it back).
"""

from __future__ import annotations

import os
import threading
import time

_RANDOM_BYTES = 10  # 80 bits drawn per id, 74 of them used
_CHUNK = _RANDOM_BYTES * 256
_lock = threading.Lock()
_buffer = b""
_used = _CHUNK
_VERSION_7 = 0x7 << 76
_VARIANT = 0b10 << 62
_RAND_A = (1 << 12) - 1
_RAND_B = (1 << 62) - 1


def new_id() -> str:
    global _buffer, _used
    with _lock:
        if _used >= len(_buffer):
            _buffer, _used = os.urandom(_CHUNK), 0
        raw = int.from_bytes(_buffer[_used : _used + _RANDOM_BYTES])
        _used += _RANDOM_BYTES
    value = (
        (time.time_ns() // 1_000_000) << 80
        | _VERSION_7
        | (raw >> 64 & _RAND_A) << 64
        | _VARIANT
        | raw & _RAND_B
    )
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def storable(identifier: str) -> bool:
    """Whether an identifier could be stored at all. One holding NUL names nothing; PostgreSQL would
    refuse the statement rather than find no row, so it is answered as unknown before any SQL."""
    return "\x00" not in identifier
