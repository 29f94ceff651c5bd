"""Vacuuming where the server does not (app.store.upkeep), against the test PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import Connection, insert, text
from sqlalchemy.engine import make_url

from app.events.hub import Events
from app.settings import Settings
from app.store import upkeep
from app.store.base import Store
from app.store.postgres import PostgresStore
from app.store.tables import EventOutbox
from app.store.upkeep import LOCK, TableStats, Upkeep, wanted

OUTBOX_TABLE = EventOutbox.__table__  # type: ignore[attr-defined]


def postgres(store: Store) -> PostgresStore:
    if not isinstance(store, PostgresStore):
        pytest.skip("SQLite removes old row versions itself: nothing to vacuum")
    return store


async def add_events(store: Store, count: int) -> None:
    """`count` outbox rows, their statistics sent to the server at once (not within the next seconds)."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": uuid.uuid4().hex,
            "event_type": "CustomerCreateEvent",
            "customer_id": f"c{n}",
            "body": "{}",
            "created_at": now,
        }
        for n in range(count)
    ]

    def run(conn: Connection) -> None:
        conn.execute(insert(OUTBOX_TABLE), rows)
        conn.execute(text("SELECT pg_stat_force_next_flush()"))

    await store.write(run)


async def connect(settings: Settings) -> asyncpg.Connection:
    """A connection of its own: another replica, a migration."""
    return await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait up to 5 s for `check` to hold; the caller asserts what it waited for."""
    for _ in range(100):
        if await check():
            return
        await asyncio.sleep(0.05)


async def outbox_state(store: Store) -> tuple[int, int]:
    """(vacuums of event_outbox so far, its pages marked all-visible)."""
    row = await store.fetch_row(
        "SELECT s.vacuum_count, c.relallvisible FROM pg_stat_user_tables s "
        "JOIN pg_class c ON c.oid = s.relid "
        "WHERE s.schemaname = current_schema() AND s.relname = 'event_outbox'",
        (),
    )
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_table_is_due_past_autovacuums_rule_with_the_smaller_factors() -> None:
    # 10,000 rows: vacuum past 1,000 + 500 dead and inserted rows, analyze past 1,000 + 2,000 changed ones.
    assert TableStats("t", 1_000, 500, 0, 10_000).statement() is None
    assert TableStats("t", 1_000, 501, 0, 10_000).statement() == 'VACUUM (SKIP_LOCKED) "t"'
    assert TableStats("t", 0, 1_501, 0, 10_000).statement() == 'VACUUM (SKIP_LOCKED) "t"'
    assert TableStats("t", 0, 0, 3_000, 10_000).statement() is None
    assert TableStats("t", 0, 0, 3_001, 10_000).statement() == 'VACUUM (SKIP_LOCKED, ANALYZE) "t"'
    assert TableStats("t", 0, 0, 1_001, 0).statement() == 'VACUUM (SKIP_LOCKED, ANALYZE) "t"'


def test_auto_vacuums_only_where_the_server_does_not() -> None:
    assert wanted("auto", "off")
    assert not wanted("auto", "on")
    assert wanted("on", "on")
    assert wanted("on", "off")
    assert not wanted("off", "off")


async def test_a_round_vacuums_the_tables_due_and_only_them(store: Store) -> None:
    pg = postgres(store)
    keeper = Upkeep(pg, "on")
    await keeper.round()  # whatever earlier tests left due
    assert await keeper.round() == []

    await add_events(pg, 50)
    assert await keeper.round() == []
    vacuums, _ = await outbox_state(pg)

    await add_events(pg, 1_200)
    assert await keeper.round() == ['VACUUM (SKIP_LOCKED, ANALYZE) "event_outbox"']
    after, visible = await outbox_state(pg)
    assert after == vacuums + 1
    assert visible > 0  # index-only scans of these rows read no table page any more
    assert await keeper.round() == []


async def test_one_replica_vacuums_at_a_time(store: Store, settings: Settings) -> None:
    pg = postgres(store)
    keeper = Upkeep(pg, "on")
    await keeper.round()
    await add_events(pg, 1_200)
    other = await connect(settings)
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        assert await keeper.round() == []
        await other.execute("SELECT pg_advisory_unlock($1)", LOCK)
        assert await keeper.round() == ['VACUUM (SKIP_LOCKED, ANALYZE) "event_outbox"']
        # The round let go of the lock: the other replica takes it at once.
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
    finally:
        await other.close()


async def test_off_vacuums_nothing(store: Store) -> None:
    pg = postgres(store)
    await add_events(pg, 1_200)
    assert await Upkeep(pg, "off").round() == []


async def test_the_dispatcher_process_vacuums_on_its_own(
    store: Store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upkeep, "CHECK_SECONDS", 0.05)
    events = Events(store, settings.model_copy(update={"vacuum": "on"}), dispatcher=True)
    if store.dialect != "postgresql":
        assert events.upkeep is None
        return
    pg = postgres(store)
    await Upkeep(pg, "on").round()
    vacuums, _ = await outbox_state(pg)
    await events.start()
    try:
        await add_events(pg, 1_200)

        async def vacuumed() -> bool:
            return (await outbox_state(pg))[0] > vacuums

        await until(vacuumed)
        assert (await outbox_state(pg))[0] == vacuums + 1
    finally:
        await events.stop()


async def test_a_session_left_by_an_error_is_closed_not_pooled(store: Store) -> None:
    """A round stopped mid-VACUUM, or failing, may leave its connection mid-statement and holding the
    lock: it is closed (which lets go of the lock), and the pool goes on with the others."""
    pg = postgres(store)
    with pytest.raises(RuntimeError):
        async with pg.session() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            assert await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
            raise RuntimeError("stopped")
    gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = ?"

    async def closed() -> bool:
        return await pg.fetch_row(gone, (pid,)) == (0,)

    await until(closed)
    assert await pg.fetch_row(gone, (pid,)) == (0,)
    async with pg.session() as other:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", LOCK)
        await other.execute("SELECT pg_advisory_unlock($1)", LOCK)
    assert await pg.fetch_row("SELECT 1", ()) == (1,)


async def test_a_locked_table_is_left_for_a_later_round_not_waited_for(
    store: Store, settings: Settings
) -> None:
    pg = postgres(store)
    keeper = Upkeep(pg, "on")
    await keeper.round()
    await add_events(pg, 1_200)
    vacuums, _ = await outbox_state(pg)
    migration = await connect(settings)
    try:
        transaction = migration.transaction()
        await transaction.start()
        await migration.execute("LOCK TABLE event_outbox IN ACCESS EXCLUSIVE MODE")
        await asyncio.wait_for(keeper.round(), 10)
        await transaction.rollback()
    finally:
        await migration.close()
    assert (await outbox_state(pg))[0] == vacuums
    assert await keeper.round() == ['VACUUM (SKIP_LOCKED, ANALYZE) "event_outbox"']
    assert (await outbox_state(pg))[0] == vacuums + 1


async def test_a_role_that_does_not_own_the_tables_leaves_them_alone(
    store: Store, settings: Settings
) -> None:
    """VACUUM of a table another role owns only warns in the server's log: the round does not try it."""
    pg = postgres(store)
    await Upkeep(pg, "on").round()
    await add_events(pg, 1_200)
    guest = "tmf629_upkeep_guest"
    await pg.execute(f"DROP ROLE IF EXISTS {guest}", ())
    await pg.execute(f"CREATE ROLE {guest} LOGIN", ())
    guest_store = PostgresStore(
        Settings(database_url=make_url(settings.database_url).set(username=guest).render_as_string(False))
    )
    try:
        assert await Upkeep(guest_store, "on").round() == []
    finally:
        await guest_store.dispose()
        await pg.execute(f"DROP ROLE {guest}", ())
    assert await Upkeep(pg, "on").round() == ['VACUUM (SKIP_LOCKED, ANALYZE) "event_outbox"']
