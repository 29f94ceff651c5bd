"""The store below the service: group commit on SQLite, inline reads and their fallback."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import pytest
from sqlalchemy import Connection, event, text

from app.store.base import Store
from app.store.sqlite import Inserts, SqliteStore


async def test_a_failing_unit_rolls_back_alone(store: Store) -> None:
    await store.write(lambda conn: conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n integer)")))

    def insert(n: int):  # type: ignore[no-untyped-def]
        def run(conn: Connection) -> int:
            conn.execute(text("INSERT INTO probe (n) VALUES (:n)"), {"n": n})
            if n % 3 == 0:
                raise ValueError(f"unit {n} fails after writing")
            return n

        return run

    outcomes = await asyncio.gather(*(store.write(insert(n)) for n in range(1, 31)), return_exceptions=True)
    assert [o for o in outcomes if isinstance(o, ValueError)] and len(outcomes) == 30
    assert [o for o in outcomes if not isinstance(o, Exception)] == [n for n in range(1, 31) if n % 3]
    stored = await store.fetch_all("SELECT n FROM probe ORDER BY n", ())
    assert [row[0] for row in stored] == [n for n in range(1, 31) if n % 3]


async def test_a_failing_unit_alone_in_its_transaction_leaves_nothing(store: Store) -> None:
    """A unit of work alone in its batch runs without a savepoint: its failure rolls back the transaction,
    and the next write (alone too) commits."""
    await store.write(lambda conn: conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n integer)")))

    def failing(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (n) VALUES (1)"))
        raise ValueError("fails after writing")

    with pytest.raises(ValueError, match="fails after writing"):
        await store.write(failing)
    inserted = await store.write(lambda conn: conn.execute(text("INSERT INTO probe (n) VALUES (2)")).rowcount)
    assert inserted == 1
    stored = await store.fetch_all("SELECT n FROM probe ORDER BY n", ())
    assert [row[0] for row in stored] == [2]


async def test_sqlite_writes_are_grouped_into_few_commits(store: Store) -> None:
    if not isinstance(store, SqliteStore):
        pytest.skip("group commit is SQLite's")
    await store.write(lambda conn: conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n integer)")))
    batches = store.batches_committed
    await asyncio.gather(
        *(
            store.write(lambda conn, n=n: conn.execute(text("INSERT INTO probe VALUES (:n)"), {"n": n}))
            for n in range(200)
        )
    )
    assert (await store.fetch_all("SELECT count(*) FROM probe", ()))[0][0] == 200
    assert 0 < store.batches_committed - batches < 200


def _probe_rows(n: int, label: str = "") -> Inserts:
    """One unit creating a row of `probe` (n unique) and two of `probe_note` naming it."""
    return Inserts(
        ("probe", ("n",), [(n,)]),
        ("probe_note", ("n", "note"), [(n, f"{label}a"), (n, f"{label}b")]),
    )


async def _one_batch(store: SqliteStore, works: list) -> list:  # type: ignore[type-arg]
    """`works` written as one batch: the writer is held by a unit until all of them are queued."""
    release = threading.Event()
    blocker = asyncio.ensure_future(store.write(lambda conn: release.wait(5)))
    await asyncio.sleep(0.05)  # the writer is inside the blocking unit
    pending = [asyncio.ensure_future(store.write(work)) for work in works]
    await asyncio.sleep(0)
    release.set()
    await blocker
    return await asyncio.gather(*pending, return_exceptions=True)


async def _probe_tables(store: Store) -> None:
    await store.write(lambda conn: conn.execute(text("CREATE TABLE probe (n integer PRIMARY KEY)")))
    await store.write(
        lambda conn: conn.execute(
            text("CREATE TABLE probe_note (n integer NOT NULL REFERENCES probe (n), note text NOT NULL)")
        )
    )


async def test_sqlite_inserts_queued_together_take_one_statement_per_table(store: Store) -> None:
    """Inserts of one shape queued together are written with one multi-row INSERT per table, in the tables'
    order (a probe_note row refers to its probe row), inside the batch's one transaction."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer's runs")
    await _probe_tables(store)
    statements: list[str] = []
    engine = store.sql_engines()[0]

    def seen(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    store.traced = True  # the statements go through SQLAlchemy, where the listener sees them
    try:
        batches = store.batches_committed
        outcomes = await _one_batch(store, [_probe_rows(n) for n in range(1, 41)])
    finally:
        store.traced = False
        event.remove(engine, "before_cursor_execute", seen)
    assert outcomes == [None] * 40
    assert store.batches_committed - batches == 2  # the blocking unit's batch, then the 40 inserts'
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert [s.split(" (")[0] for s in inserts] == ["INSERT INTO probe", "INSERT INTO probe_note"]
    assert inserts[0].count("(?)") == 40 and inserts[1].count("(?, ?)") == 80
    notes = await store.fetch_all("SELECT n, note FROM probe_note ORDER BY n, note", ())
    assert notes == [(n, note) for n in range(1, 41) for note in ("a", "b")]


async def test_sqlite_a_failing_insert_among_a_run_fails_alone(store: Store) -> None:
    """One unit of a run breaks a constraint (its key is taken): the run is written again unit by unit, so
    only that caller gets the error; every other unit of the batch, before and after it, is stored."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer's runs")
    await _probe_tables(store)
    await store.write(_probe_rows(7, "old "))
    outcomes = await _one_batch(store, [_probe_rows(n) for n in range(1, 13)])
    assert [type(o) for o in outcomes] == [type(None)] * 6 + [sqlite3.IntegrityError] + [type(None)] * 5
    notes = await store.fetch_all("SELECT n, note FROM probe_note ORDER BY n, note", ())
    expected = {(n, note) for n in range(1, 13) if n != 7 for note in ("a", "b")}
    assert set(notes) == expected | {(7, "old a"), (7, "old b")} and len(notes) == 24


async def test_sqlite_a_run_failing_in_its_second_table_leaves_nothing_of_the_first(store: Store) -> None:
    """A unit's row of the second table breaks a constraint (a note is NULL): the rows of the first table
    written before it by the same statement go too, and the run is written again unit by unit."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer's runs")
    await _probe_tables(store)
    works = [_probe_rows(n) for n in range(1, 9)]
    works[4] = Inserts(("probe", ("n",), [(5,)]), ("probe_note", ("n", "note"), [(5, None)]))
    outcomes = await _one_batch(store, works)
    assert [type(o) for o in outcomes] == [type(None)] * 4 + [sqlite3.IntegrityError] + [type(None)] * 3
    stored = await store.fetch_all("SELECT n FROM probe ORDER BY n", ())
    assert [row[0] for row in stored] == [1, 2, 3, 4, 6, 7, 8]


async def test_sqlite_runs_keep_their_order_with_other_units(store: Store) -> None:
    """Units between inserts split the runs and run in queue order, each in its savepoint: a failing one
    rolls back alone, a run with a failing unit is written again unit by unit (only that unit fails), and a
    unit sees the rows of the runs queued before it, not of those after."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer's runs")
    await _probe_tables(store)

    def count_then_fail(conn: Connection) -> None:
        conn.execute(text("INSERT INTO probe (n) VALUES (100)"))
        raise ValueError(conn.execute(text("SELECT count(*) FROM probe")).scalar_one())

    def count(conn: Connection) -> int:
        return int(conn.execute(text("SELECT count(*) FROM probe")).scalar_one())

    works = [
        _probe_rows(1),
        _probe_rows(2),
        count_then_fail,
        _probe_rows(3),
        _probe_rows(1, "again "),  # 1 is taken: only this unit of the run fails
        _probe_rows(5),
        count,
        _probe_rows(4),
    ]
    outcomes = await _one_batch(store, works)
    assert [outcomes[i] for i in (0, 1, 3, 5, 7)] == [None] * 5
    assert isinstance(outcomes[2], ValueError) and outcomes[2].args == (3,)  # 1, 2 and its own 100
    assert isinstance(outcomes[4], sqlite3.IntegrityError)
    assert outcomes[6] == 4  # 1, 2, 3, 5: the failed units' rows are gone, 4 is not yet written
    stored = await store.fetch_all("SELECT n FROM probe ORDER BY n", ())
    assert [row[0] for row in stored] == [1, 2, 3, 4, 5]
    notes = await store.fetch_all("SELECT note FROM probe_note WHERE n = 5 ORDER BY note", ())
    assert notes == [("a",), ("b",)]


# A view of the writer's connection whose trigger writes a probe row and its note: one row per unit.
_PROBE_VIEW = (
    "CREATE TEMP VIEW new_probe (n, note) AS SELECT NULL, NULL WHERE 0",
    "CREATE TEMP TRIGGER new_probe_insert INSTEAD OF INSERT ON new_probe BEGIN"
    " INSERT INTO probe (n) VALUES (NEW.n); INSERT INTO probe_note (n, note) VALUES (NEW.n, NEW.note); END",
)


def _new_probe(n: int, note: str = "a") -> Inserts:
    return Inserts(("new_probe", ("n", "note"), [(n, note)]))


async def test_sqlite_a_failing_row_of_one_statement_fails_alone(store: Store) -> None:
    """One row of the statement breaks a constraint: the statement is rolled back whole (its trigger's
    writes included), then written again unit by unit, so only that caller gets the error."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer's batches")
    await _probe_tables(store)
    store.add_writer_schema(*_PROBE_VIEW)
    await store.write(_new_probe(7, "old"))
    outcomes = await _one_batch(store, [_new_probe(n, "new") for n in range(1, 13)])
    assert [type(o) for o in outcomes] == [type(None)] * 6 + [sqlite3.IntegrityError] + [type(None)] * 5
    notes = await store.fetch_all("SELECT n, note FROM probe_note ORDER BY n", ())
    assert notes == [(n, "old" if n == 7 else "new") for n in range(1, 13)]


_COUNT_TO = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT count(*) FROM n"
)


async def test_a_long_inline_read_moves_to_the_reader_pool(store: Store) -> None:
    if not isinstance(store, SqliteStore):
        pytest.skip("inline reads are SQLite's")
    assert not [t for t in threading.enumerate() if t.name.startswith("sqlite-reader")]
    assert (await store.fetch_all(_COUNT_TO, (300000,))) == [(300000,)]
    assert store.inline_interrupted == 1
    assert [t for t in threading.enumerate() if t.name.startswith("sqlite-reader")]  # run there
    assert (await store.fetch_all("SELECT 1", ())) == [(1,)]
    assert store.inline_interrupted == 1
    assert (await store.fetch_all(_COUNT_TO, (200000,))) == [(200000,)]
    assert store.inline_interrupted == 2
    # Asked again, a read that ran out of budget goes to the pool at once: not interrupted again.
    assert (await store.fetch_all(_COUNT_TO, (300000,))) == [(300000,)]
    assert (await store.fetch_all(_COUNT_TO, (200000,))) == [(200000,)]
    assert store.inline_interrupted == 2


async def test_the_long_reads_remembered_are_bounded(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most MAX_COUNTS long reads are remembered; past that they are all forgotten, and a forgotten one is
    tried inline again (and interrupted again)."""
    if not isinstance(store, SqliteStore):
        pytest.skip("inline reads are SQLite's")
    monkeypatch.setattr(store, "MAX_COUNTS", 1)
    for expected, count in [(1, 300000), (1, 300000), (2, 200000), (3, 300000)]:
        assert (await store.fetch_all(_COUNT_TO, (count,))) == [(count,)]
        assert store.inline_interrupted == expected


def _progress_calls(store: SqliteStore, sql: str, params: tuple[int, ...]) -> int:
    """How many times SQLite calls a progress handler every INLINE_STEP steps while running `sql`."""
    calls = 0

    def tick() -> int:
        nonlocal calls
        calls += 1
        return 0

    probe = sqlite3.connect(store._path)
    try:
        probe.set_progress_handler(tick, store.INLINE_STEP)
        probe.execute(sql, params).fetchall()
    finally:
        probe.close()
    return calls


async def test_an_inline_read_runs_exactly_its_budget(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read needing as many progress steps as the budget runs inline; one more and it moves to the pool.
    Each read starts with the whole budget, whatever the read before it spent."""
    if not isinstance(store, SqliteStore):
        pytest.skip("inline reads are SQLite's")
    calls = _progress_calls(store, _COUNT_TO, (20000,))
    assert calls > 5
    monkeypatch.setattr(store, "INLINE_BUDGET", calls)
    assert (await store.fetch_all(_COUNT_TO, (20000,))) == [(20000,)]
    assert (await store.fetch_row(_COUNT_TO, (20000,))) == (20000,)
    assert store.inline_interrupted == 0
    monkeypatch.setattr(store, "INLINE_BUDGET", calls - 1)
    assert (await store.fetch_all(_COUNT_TO, (20000,))) == [(20000,)]
    assert store.inline_interrupted == 1
    monkeypatch.setattr(store, "INLINE_BUDGET", calls)
    # The interrupted read left the budget spent: the next one, a single row, has the whole budget again.
    assert (await store.fetch_row(_COUNT_TO, (20000,))) == (20000,)


async def test_dispose_waits_for_a_write_under_way(store: Store) -> None:
    """A write under way when the store is disposed finishes first: it is committed."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite writer thread")
    await store.write(lambda conn: conn.execute(text("CREATE TABLE probe (n integer)")))
    writing = threading.Event()

    def slow_write(conn: Connection) -> None:
        writing.set()
        time.sleep(0.3)
        conn.execute(text("INSERT INTO probe VALUES (1)"))

    wrote = asyncio.ensure_future(store.write(slow_write))
    assert await asyncio.to_thread(writing.wait, 5)
    await store.dispose()
    other = sqlite3.connect(store._path)
    try:
        assert other.execute("SELECT n FROM probe").fetchall() == [(1,)]
    finally:
        other.close()
    await wrote


async def test_dispose_waits_for_a_read_under_way(store: Store) -> None:
    """A read under way on the reader pool when the store is disposed finishes first."""
    if not isinstance(store, SqliteStore):
        pytest.skip("the SQLite reader threads")
    reading, read = threading.Event(), []

    def slow_read(_conn: Connection) -> None:
        reading.set()
        time.sleep(0.3)
        read.append(True)

    readout = asyncio.ensure_future(store.read(slow_read))
    assert await asyncio.to_thread(reading.wait, 5)
    await store.dispose()
    assert read == [True]
    await readout


async def test_counts_follow_every_commit(store: Store) -> None:
    await store.write(lambda conn: conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n integer)")))
    counting = "SELECT count(*) FROM probe WHERE n >= ?"
    assert await store.fetch_count(counting, (0,)) == 0
    await store.write(lambda conn: conn.execute(text("INSERT INTO probe VALUES (1), (2)")))
    assert await store.fetch_count(counting, (0,)) == 2
    assert await store.fetch_count(counting, (2,)) == 1
    if isinstance(store, SqliteStore):  # a commit by another process's connection is seen too
        other = sqlite3.connect(store._path)
        other.execute("INSERT INTO probe VALUES (3)")
        other.commit()
        other.close()
    else:
        await store.write(lambda conn: conn.execute(text("INSERT INTO probe VALUES (3)")))
    assert await store.fetch_count(counting, (0,)) == 3


async def test_sqlite_counts_are_remembered_until_a_commit_and_bounded(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A count is taken from memory while no connection has committed (what is remembered is what counting
    would answer, so it is replaced here to be told apart), counted again after any commit, and no more
    than MAX_COUNTS of them are kept."""
    if not isinstance(store, SqliteStore):
        pytest.skip("SQLite's counts follow PRAGMA data_version")
    await store.write(lambda conn: conn.execute(text("CREATE TABLE IF NOT EXISTS probe (n integer)")))
    await store.write(lambda conn: conn.execute(text("INSERT INTO probe VALUES (1), (2)")))
    counting = "SELECT count(*) FROM probe WHERE n >= ?"
    assert await store.fetch_count(counting, (0,)) == 2
    store._counts[(counting, (0,))] = 99
    assert await store.fetch_count(counting, (0,)) == 99  # no commit since: remembered
    await store.write(lambda conn: conn.execute(text("INSERT INTO probe VALUES (3)")))
    assert await store.fetch_count(counting, (0,)) == 3  # a commit: counted again
    monkeypatch.setattr(store, "MAX_COUNTS", 3)
    for n in (1, 2):
        assert await store.fetch_count(counting, (n,)) == 4 - n
    assert len(store._counts) == 3 and (counting, (0,)) in store._counts
    assert await store.fetch_count(counting, (3,)) == 1  # a fourth filter: the others are forgotten
    assert store._counts == {(counting, (3,)): 1}


async def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(store: Store) -> None:
    if not isinstance(store, SqliteStore):
        pytest.skip("SQLite pragmas")
    for run in (store.read, store.write):
        pragmas = await run(
            lambda conn: tuple(
                conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            )
        )
        assert pragmas == ("wal", 1, 5000, 1)  # synchronous=1 is NORMAL
    # The writer's statement journals stay in memory (2 is MEMORY): no temporary file per write.
    assert await store.write(lambda conn: conn.exec_driver_sql("PRAGMA temp_store").scalar()) == 2
    inline = await store.fetch_all("PRAGMA journal_mode", ())
    assert inline == [("wal",)]
    # Readers, inline and pooled, read the file through a memory map; the writer does not need one. The
    # inline reader keeps a larger page cache (negative: KiB).
    from app.store.sqlite import MMAP_BYTES, READ_CACHE_KIB

    assert await store.fetch_all("PRAGMA mmap_size", ()) == [(MMAP_BYTES,)]
    assert await store.fetch_all("PRAGMA cache_size", ()) == [(-READ_CACHE_KIB,)]
    assert await store.read(lambda conn: conn.exec_driver_sql("PRAGMA mmap_size").scalar()) == MMAP_BYTES
