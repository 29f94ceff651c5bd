"""The SQLite writer process: runs the statements the server sends it, in order, a request at a time.

    python app/store/writer_process.py FD DATABASE_PATH SETUP_JSON     (started by app.store.sqlite)

FD is this end of a socket pair whose other end the server keeps. Each request is a 4-byte little-endian
length and an orjson array of statements, each `[sql, params]`, which the process runs in one transaction;
the answer is one byte per statement, in their order, sent once the transaction has committed: 0 for a
statement written, 1 for one that failed (rolled back, as SQLite does a statement, the others kept), or for
every statement if the transaction itself failed (rolled back whole). SETUP_JSON is the list of statements
run on connecting: the pragmas and the temporary objects the statements write through. The process ends
when the server closes its end (or dies); it ignores SIGINT and SIGTERM, which are the server's to act on.

Why a process: the server's event loop and a writer thread share one GIL, and each SQLite call of the
writer takes it back from the loop; here SQLite's work runs on its own interpreter, and the loop only writes
a request and reads a byte per statement. Only stdlib and orjson are imported: the process starts in
milliseconds and stays small.
"""

from __future__ import annotations

import signal
import socket
import sqlite3
import struct
import sys
from typing import Any

import orjson

HEADER = struct.Struct("<I")
OK, FAILED = b"\x00", b"\x01"


def serve(sock: socket.socket, database: str, setup: list[str]) -> None:
    conn = sqlite3.connect(database, isolation_level=None, timeout=5, check_same_thread=False)
    for statement in setup:
        conn.execute(statement)
    stream = sock.makefile("rb")  # buffered: read(n) returns n bytes, fewer only at the end
    while True:
        header = stream.read(HEADER.size)
        if len(header) < HEADER.size:
            break
        size = HEADER.unpack(header)[0]
        payload = stream.read(size)
        if len(payload) < size:
            break
        sock.sendall(_transaction(conn, orjson.loads(payload)))
    conn.close()


def _transaction(conn: sqlite3.Connection, statements: list[list[Any]]) -> bytes:
    """The statements in one transaction, committed: their answers. A failed one is rolled back alone, as
    SQLite does a statement; the server writes it again itself, to learn why."""
    answers = bytearray()
    try:
        conn.execute("BEGIN IMMEDIATE")  # past the busy timeout, it fails: nothing is written
        for sql, params in statements:
            try:
                conn.execute(sql, params)
            except Exception:
                if not conn.in_transaction:  # an error that ended the transaction: nothing was written
                    raise
                answers += FAILED
            else:
                answers += OK
        conn.execute("COMMIT")
    except Exception:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        return FAILED * len(statements)
    return bytes(answers)


def main() -> None:
    # Ctrl-C or a stop signal to the server's process group is the server's to handle: it closes the socket
    # once its writes are done, and the process ends at that end of file (or at the server's death).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    fd, database, setup = sys.argv[1:4]
    serve(socket.socket(fileno=int(fd)), database, orjson.loads(setup))


if __name__ == "__main__":
    main()
