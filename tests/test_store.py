"""The store below the service: group commit on SQLite, inline reads and their fallback."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import Connection, text

from app.store.base import Store
from app.store.sqlite import SqliteStore


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


async def test_a_long_inline_read_moves_to_the_reader_pool(store: Store) -> None:
    if not isinstance(store, SqliteStore):
        pytest.skip("inline reads are SQLite's")
    count = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) "
        "SELECT count(*) FROM n"
    )
    assert (await store.fetch_all(count, ())) == [(300000,)]
    assert store.inline_interrupted == 1
    assert (await store.fetch_all("SELECT 1", ())) == [(1,)]
    assert store.inline_interrupted == 1


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
