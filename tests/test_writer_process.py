"""SQLite's writer process (app.store.writer_process): what it writes, what the writer thread still writes,
and what happens when the process dies, is replaced or is stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from app.domain.errors import ServiceUnavailable
from app.store import sqlite as sqlite_store
from app.store import writer_process
from app.store.base import Store
from app.store.sqlite import Inserts, SqliteStore


@pytest.fixture
async def sqlite(store: Store) -> SqliteStore:
    if not isinstance(store, SqliteStore):
        pytest.skip("the writer process is SQLite's")
    await store.write(
        lambda conn: conn.execute(text("CREATE TABLE probe (n integer PRIMARY KEY, note text)"))
    )
    return store


def _probe(n: int, note: str = "a") -> Inserts:
    return Inserts(("probe", ("n", "note"), [(n, note)]))


async def _thread_statements(store: SqliteStore) -> list[str]:
    """The statements the writer thread's connection runs from now on (SQLite's trace callback)."""
    statements: list[str] = []
    await store.write(lambda conn: conn.connection.driver_connection.set_trace_callback(statements.append))
    return statements


def _requests_sent(sqlite: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """From now on, each request sent to the running process, as the number of units of each statement."""
    process = sqlite._process
    assert process is not None
    sent: list[list[int]] = []
    send = process.send
    monkeypatch.setattr(
        process, "send", lambda statements: (sent.append([len(s) for s in statements]), send(statements))
    )
    return sent


async def test_inserts_queued_together_are_one_statement_of_the_process(sqlite: SqliteStore) -> None:
    """The process has one request out at a time: the Inserts queued meanwhile go together in the next one
    (one statement, one commit). The thread's connection runs none of it, and another connection sees every
    row."""
    statements = await _thread_statements(sqlite)
    await sqlite.write(_probe(1))
    batches = sqlite.batches_committed
    assert await asyncio.gather(*(sqlite.write(_probe(n)) for n in range(2, 42))) == [None] * 40
    assert sqlite.batches_committed - batches == 2  # the first alone, then the 39 queued meanwhile
    assert not [s for s in statements if "probe" in s]
    assert sqlite._process is not None and sqlite._process.popen is not None
    assert sqlite._process.popen.pid != os.getpid() and sqlite._process.popen.poll() is None
    other = sqlite3.connect(sqlite._path)
    try:
        assert other.execute("SELECT count(*), min(n), max(n) FROM probe").fetchone() == (41, 1, 41)
    finally:
        other.close()


async def test_inserts_beyond_one_values_list_are_statements_of_one_request(
    sqlite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """42 rows with a 40-row VALUES limit: the first goes alone (nothing else is queued yet); the 41 queued
    meanwhile are two statements, and a different shape (another table) a third, all in the next request,
    one commit; each statement's units are settled by its own answer byte."""
    monkeypatch.setattr(sqlite_store, "MAX_VALUES_ROWS", 40)
    await sqlite.write(lambda conn: conn.execute(text("CREATE TABLE other (n integer)")))
    await sqlite.write(_probe(100))  # the process is running
    sent = _requests_sent(sqlite, monkeypatch)
    batches = sqlite.batches_committed
    works = [_probe(n) for n in range(1, 43)] + [Inserts(("other", ("n",), [(1,)]))]
    assert await asyncio.gather(*(sqlite.write(work) for work in works)) == [None] * 43
    assert sent == [[1], [40, 1, 1]]
    assert sqlite.batches_committed - batches == 2
    assert await sqlite.fetch_all("SELECT count(*) FROM probe", ()) == [(43,)]
    assert await sqlite.fetch_all("SELECT count(*) FROM other", ()) == [(1,)]


async def test_a_request_holds_max_batch_units_and_a_statement_max_values_rows(
    sqlite: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_BATCH units a request (one-row Inserts: 3, 3, then the last), and a VALUES list holds whole
    units up to MAX_VALUES_ROWS rows (three-row units, four rows at most: one unit a statement)."""
    monkeypatch.setattr(sqlite, "MAX_BATCH", 3)
    monkeypatch.setattr(sqlite_store, "MAX_VALUES_ROWS", 4)
    await sqlite.write(_probe(100))  # the process is running
    sent = _requests_sent(sqlite, monkeypatch)
    assert await asyncio.gather(*(sqlite.write(_probe(n)) for n in range(1, 9))) == [None] * 8
    assert sent == [[1], [3], [3], [1]]
    sent.clear()
    threes = [
        Inserts(("probe", ("n", "note"), [(n, "a"), (n + 1, "b"), (n + 2, "c")])) for n in (10, 20, 30, 40)
    ]
    assert await asyncio.gather(*(sqlite.write(work) for work in threes)) == [None] * 4
    assert sent == [[1], [1, 1, 1]]
    assert await sqlite.fetch_all("SELECT count(*) FROM probe", ()) == [(1 + 8 + 12,)]


async def test_statements_of_one_request_fail_alone(sqlite: SqliteStore) -> None:
    """Statements queued together are one transaction of the process; the one that fails is rolled back alone
    (its caller hears its error, from the thread that runs it again), the others are committed."""
    await sqlite.execute("INSERT INTO probe (n, note) VALUES (?, ?)", (5, "old"))
    sql = "INSERT INTO probe (n, note) VALUES (?, ?)"
    statements = await _thread_statements(sqlite)
    batches = sqlite.batches_committed
    outcomes = await asyncio.gather(
        *(sqlite.execute(sql, (n, "new")) for n in range(1, 10)), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [type(None)] * 4 + [IntegrityError] + [type(None)] * 4
    assert sqlite.batches_committed - batches == 2  # the first alone, then the eight queued meanwhile
    assert len([s for s in statements if "probe" in s]) == 1  # the thread ran the failed one only
    rows = await sqlite.fetch_all("SELECT n, note FROM probe ORDER BY n", ())
    assert rows == [(n, "old" if n == 5 else "new") for n in range(1, 10)]


async def test_the_process_waits_for_the_lock_of_a_unit_on_the_thread(sqlite: SqliteStore) -> None:
    """The thread and the process write at the same time and take turns at SQLite's lock: a create sent
    while a unit of work holds it commits once that unit has."""
    await sqlite.write(_probe(1))
    holds, release = threading.Event(), threading.Event()

    def holding(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (n, note) VALUES (2, 'thread')"))
        holds.set()
        release.wait(5)

    unit = asyncio.ensure_future(sqlite.write(holding))
    assert await asyncio.to_thread(holds.wait, 5)  # the thread holds the write lock
    create = asyncio.ensure_future(sqlite.write(_probe(3)))
    await asyncio.sleep(0.2)
    assert not create.done() and sqlite._process is not None and sqlite._process.in_flight
    release.set()
    await asyncio.wait_for(asyncio.gather(unit, create), 5)
    assert await sqlite.fetch_all("SELECT n FROM probe ORDER BY n", ()) == [(1,), (2,), (3,)]


async def test_a_request_that_cannot_take_the_lock_is_written_by_the_thread(sqlite: SqliteStore) -> None:
    """Held longer than SQLite's busy timeout (5 s), the lock is refused to the process's BEGIN: the request
    is answered as not written, the process stays, and the thread writes it once the lock is free."""
    await sqlite.write(_probe(1))
    process = sqlite._process
    holds, release = threading.Event(), threading.Event()

    def holding(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (n, note) VALUES (2, 'thread')"))
        holds.set()
        release.wait(15)

    unit = asyncio.ensure_future(sqlite.write(holding))
    assert await asyncio.to_thread(holds.wait, 5)
    create = asyncio.ensure_future(sqlite.write(_probe(3)))
    await asyncio.sleep(6)  # past the process's busy timeout
    release.set()
    await asyncio.wait_for(asyncio.gather(unit, create), 10)
    assert await sqlite.fetch_all("SELECT n FROM probe ORDER BY n", ()) == [(1,), (2,), (3,)]
    assert sqlite._process is process


async def test_a_statement_runs_in_the_process_and_a_failing_one_raises_its_error(
    sqlite: SqliteStore,
) -> None:
    statements = await _thread_statements(sqlite)
    await sqlite.execute("INSERT INTO probe (n, note) VALUES (?, ?)", (1, "one"))
    assert not [s for s in statements if "probe" in s]
    assert await sqlite.fetch_all("SELECT n, note FROM probe", ()) == [(1, "one")]
    with pytest.raises(IntegrityError, match="UNIQUE"):  # run again by the thread, which raises it
        await sqlite.execute("INSERT INTO probe (n, note) VALUES (?, ?)", (1, "again"))
    assert await sqlite.fetch_all("SELECT n, note FROM probe", ()) == [(1, "one")]


async def test_a_failing_row_fails_only_its_caller(sqlite: SqliteStore) -> None:
    """The process's statement fails whole on one bad row; the thread writes the units again one by one."""
    await sqlite.write(_probe(7, "old"))
    outcomes = await asyncio.gather(
        *(sqlite.write(_probe(n, "new")) for n in range(1, 13)), return_exceptions=True
    )
    assert [type(o) for o in outcomes] == [type(None)] * 6 + [sqlite3.IntegrityError] + [type(None)] * 5
    rows = await sqlite.fetch_all("SELECT n, note FROM probe ORDER BY n", ())
    assert rows == [(n, "old" if n == 7 else "new") for n in range(1, 13)]


async def test_a_statement_ending_the_transaction_leaves_no_caller_told_wrong(sqlite: SqliteStore) -> None:
    """A statement that rolls back the whole transaction (a trigger's RAISE(ROLLBACK)) takes the statements
    of its request with it, those before it and those after: none is answered as written, and none is
    written by itself after it. Every caller's answer matches what is stored."""
    await sqlite.write(
        lambda conn: conn.execute(
            text(
                "CREATE TRIGGER probe_rollback BEFORE INSERT ON probe WHEN NEW.note = 'rollback' "
                "BEGIN SELECT RAISE(ROLLBACK, 'rolled back'); END"
            )
        )
    )
    sql = "INSERT INTO probe (n, note) VALUES (?, ?)"
    await sqlite.execute(sql, (100, "first"))  # the process is running
    process = sqlite._process
    batches = sqlite.batches_committed
    outcomes = await asyncio.gather(
        *(sqlite.execute(sql, (n, "rollback" if n == 3 else "new")) for n in range(1, 7)),
        return_exceptions=True,
    )
    stored = {n for (n,) in await sqlite.fetch_all("SELECT n FROM probe", ())}
    assert 3 not in stored and isinstance(outcomes[2], Exception)
    assert [n in stored for n in range(1, 7)] == [outcome is None for outcome in outcomes]
    assert outcomes[0] is None  # alone in its request
    assert not [o for o in outcomes if isinstance(o, ServiceUnavailable)] and sqlite._process is process
    assert sqlite.batches_committed - batches == 1  # the first request; the second committed nothing


async def test_answers_split_across_reads_settle_their_request_once_all_are_in(sqlite: SqliteStore) -> None:
    """A request's answer bytes may come in more than one read of the socket: they are gathered until every
    statement of the oldest request has its own."""
    await sqlite.write(_probe(1))  # the process is running, with nothing out
    process = sqlite._process
    assert process is not None and not process.in_flight
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    process.in_flight.append([[(_probe(2), first, loop)], [(_probe(3), second, loop)]])
    process.data_received(writer_process.OK)
    assert not first.done() and not second.done()
    process.data_received(writer_process.OK)
    assert first.done() and second.done() and not process.in_flight and process.answers == b""


_SLOW = (
    "INSERT INTO probe (n, note) SELECT 99, count(*) FROM "
    "(WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 100000000) SELECT i FROM r)"
)


async def test_a_killed_process_fails_its_statement_and_the_next_write_starts_another(
    sqlite: SqliteStore,
) -> None:
    """Killed under a statement: its caller hears 503's error (committed or not is unknown, so nothing is
    written again), and the next write starts a new process."""
    await sqlite.write(_probe(1))
    first = sqlite._process
    assert first is not None and first.popen is not None
    slow = asyncio.ensure_future(sqlite.execute(_SLOW, ()))
    await asyncio.sleep(0.2)
    assert not slow.done()
    os.kill(first.popen.pid, signal.SIGKILL)
    with pytest.raises(ServiceUnavailable, match="^the SQLite writer process exited$"):
        await asyncio.wait_for(slow, 5)
    await sqlite.write(_probe(2))
    assert sqlite._process is not None and sqlite._process is not first
    assert await sqlite.fetch_all("SELECT n FROM probe ORDER BY n", ()) == [(1,), (2,)]


async def test_a_process_started_before_a_writer_schema_is_replaced(sqlite: SqliteStore) -> None:
    await sqlite.write(_probe(1))
    first = sqlite._process
    assert first is not None and first.popen is not None
    sqlite.add_writer_schema(
        "CREATE TEMP VIEW new_probe (n) AS SELECT NULL WHERE 0",
        "CREATE TEMP TRIGGER new_probe_insert INSTEAD OF INSERT ON new_probe BEGIN"
        " INSERT INTO probe (n, note) VALUES (NEW.n, 'view'); END",
    )
    await sqlite.write(Inserts(("new_probe", ("n",), [(2,)])))
    assert sqlite._process is not first
    assert await asyncio.wait_for(asyncio.to_thread(first.popen.wait), 5) == 0
    assert await sqlite.fetch_all("SELECT n, note FROM probe ORDER BY n", ()) == [(1, "a"), (2, "view")]


async def test_dispose_waits_for_queued_writes_then_stops_the_process(sqlite: SqliteStore) -> None:
    """Writes queued when dispose starts are all committed first, the last one a statement that takes a
    while; then the process ends on its own (exit status 0)."""
    await sqlite.write(_probe(1))
    process = sqlite._process
    assert process is not None and process.popen is not None
    pending = [asyncio.ensure_future(sqlite.write(_probe(n))) for n in range(2, 30)]
    pending.append(asyncio.ensure_future(sqlite.execute(_SLOW.replace("100000000", "300000"), ())))
    await asyncio.sleep(0)
    await sqlite.dispose()
    assert all(task.done() and task.exception() is None for task in pending)
    assert process.popen.poll() == 0
    other = sqlite3.connect(sqlite._path)
    try:
        assert other.execute("SELECT count(*), max(note) FROM probe").fetchone() == (30, "a")
        assert other.execute("SELECT note FROM probe WHERE n = 99").fetchone() == ("300000",)
    finally:
        other.close()


async def test_dispose_from_another_event_loop_kills_the_process(sqlite: SqliteStore) -> None:
    """The loop the process answers to is not the one disposing (it is gone, say): nothing could take its
    answers, so it is killed rather than waited for."""
    await sqlite.write(_probe(1))
    process = sqlite._process
    assert process is not None and process.popen is not None
    await asyncio.wait_for(asyncio.to_thread(asyncio.run, sqlite.dispose()), 5)
    assert process.popen.poll() == -signal.SIGKILL


async def test_writes_of_another_event_loop_go_to_the_thread(sqlite: SqliteStore) -> None:
    """The process is fed from one event loop; a write from another (a thread's) runs on the writer thread,
    and both are stored."""
    await sqlite.write(_probe(1))
    statements = await _thread_statements(sqlite)
    await asyncio.to_thread(asyncio.run, sqlite.write(_probe(2)))
    assert [s for s in statements if s.startswith("INSERT INTO probe")]
    assert await sqlite.fetch_all("SELECT n FROM probe ORDER BY n", ()) == [(1,), (2,)]


async def test_without_a_process_the_thread_writes_everything(
    sqlite: SqliteStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A process that cannot be started (here: no interpreter where it should be) is logged, and the writes
    waiting for it, and every later one, are written by the writer thread."""
    monkeypatch.setattr("sys.executable", "/nonexistent/python")
    statements = await _thread_statements(sqlite)
    assert await asyncio.gather(*(sqlite.write(_probe(n)) for n in range(1, 6))) == [None] * 5
    await sqlite.execute("INSERT INTO probe (n, note) VALUES (?, ?)", (6, "statement"))
    assert sqlite._process is None
    assert "could not start the SQLite writer process" in caplog.text
    assert len([s for s in statements if s.startswith("INSERT INTO probe")]) >= 2
    assert await sqlite.fetch_all("SELECT count(*) FROM probe", ()) == [(6,)]
