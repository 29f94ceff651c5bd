"""The dispatcher and the feed below HTTP: backoff, subscription queries, the in-process event feed, several
dispatchers on one database, a SIGKILLed server, and two server replicas on PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import os
import random
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from app.domain.errors import InvalidQuery
from app.domain.patch import PatchFormat
from app.events.dispatch import Dispatcher, backoff_seconds
from app.events.feed import FeedOverflow
from app.events.filter import parse_subscription_query
from app.events.hub import Events, HubService
from app.events.queue import DeliveryQueue, Pending, pending_work, skip_fan_out_sql
from app.services import CustomerService
from app.settings import Settings
from app.store.base import Store
from app.store.factory import create_store
from app.store.sqlite import SqliteStore
from app.store.tables import EventDelivery, EventOutbox
from tests.conftest import PG_URL, truncate_all
from tests.support.listener import FAST_DISPATCH, Listener, fast_dispatch_env
from tests.support.process import ROOT, ServerProcess

BASE = "http://test/tmf-api/customerManagement/v4"
DELIVERY = EventDelivery.__table__.c  # type: ignore[attr-defined]
OUTBOX = EventOutbox.__table__.c  # type: ignore[attr-defined]


def customer(name: str, status: str = "Pending") -> dict[str, Any]:
    return {"name": name, "status": status, "engagedParty": {"id": "500", "@referredType": "Organization"}}


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener().start()
    yield listener
    listener.stop()


async def outbox_ids(store: Store) -> list[str]:
    rows = await store.read(lambda conn: conn.execute(select(OUTBOX.event_id).order_by(OUTBOX.seq)).all())
    return [row[0] for row in rows]


async def wait_until_attempted(store: Store, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await store.read(
        lambda conn: conn.execute(
            select(DELIVERY.seq).where(DELIVERY.state == "pending", DELIVERY.attempts > 0).limit(1)
        ).first()
    ):
        assert time.monotonic() < deadline, "no delivery was attempted"
        await asyncio.sleep(0.05)


def assert_once_each_in_order(events: list[dict[str, Any]], expected_ids: list[str]) -> None:
    """Every expected event exactly once; each customer's events in the order they were written."""
    ids = [e["eventId"] for e in events]
    assert Counter(ids) == Counter(expected_ids), "duplicates or losses"
    position = {event_id: index for index, event_id in enumerate(expected_ids)}
    per_customer: dict[str, list[int]] = defaultdict(list)
    for event in events:
        per_customer[event["event"]["customer"]["id"]].append(position[event["eventId"]])
    assert all(order == sorted(order) for order in per_customer.values())


# -- pure parts -----------------------------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for attempts, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 10.0), (60, 10.0)]:
        delays = [backoff_seconds(attempts, 0.5, 10.0, rng) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered


def test_subscription_queries() -> None:
    everything = parse_subscription_query(None)
    assert everything == parse_subscription_query("  ") and everything.event_types is None
    spaced = parse_subscription_query("?eventType = CustomerCreateEvent , CustomerDeleteEvent")
    assert spaced.event_types == {"CustomerCreateEvent", "CustomerDeleteEvent"} and spaced.filter is None
    approved = parse_subscription_query("event.customer.status=Approved&engagedParty.id=1,2")
    event = {"event": {"customer": {"id": "c1", "status": "Approved", "engagedParty": {"id": "2"}}}}
    assert approved.accepts("CustomerDeleteEvent", event)
    event["event"]["customer"]["status"] = "Pending"
    assert not approved.accepts("CustomerDeleteEvent", event)
    by_id = parse_subscription_query("eventType=CustomerCreateEvent&id=c1")
    assert by_id.accepts("CustomerCreateEvent", {"event": {"customer": {"id": "c1"}}})
    assert not by_id.accepts("CustomerDeleteEvent", {"event": {"customer": {"id": "c1"}}})
    with pytest.raises(InvalidQuery):
        parse_subscription_query("sort=name")


# -- the in-process feed (what a GraphQL subscription consumes) ---------------------------------------


async def next_event(stream: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(stream), 5)


async def test_the_feed_streams_committed_events_of_every_writer(settings: Settings, store: Store) -> None:
    events = Events(store, settings, dispatcher=False)
    await events.start()
    other_store = create_store(settings)  # another replica: no in-process hook reaches this feed
    try:
        service = CustomerService(store, on_commit=events.committed)
        stream = events.feed.listen(["CustomerCreateEvent", "CustomerDeleteEvent"])
        everything = events.feed.listen()
        record = await service.create(customer("Moon"), BASE)
        await service.patch(record.id, PatchFormat.MERGE, {"status": "Approved"}, BASE)
        await service.delete(record.id, BASE)
        assert [(await next_event(stream))["eventType"] for _ in range(2)] == [
            "CustomerCreateEvent",
            "CustomerDeleteEvent",
        ]
        assert [(await next_event(everything))["eventType"] for _ in range(4)] == [
            "CustomerCreateEvent",
            "CustomerAttributeValueChangeEvent",
            "CustomerStateChangeEvent",
            "CustomerDeleteEvent",
        ]
        remote = await CustomerService(other_store).create(customer("Sun"), BASE)
        arrived = await next_event(stream)
        assert (arrived["eventType"], arrived["event"]["customer"]["id"]) == (
            "CustomerCreateEvent",
            remote.id,
        )
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await next_event(stream)
    finally:
        await events.stop()
        await other_store.dispose()
    # Stopping ends every stream once what was queued is consumed.
    assert (await next_event(everything))["event"]["customer"]["name"] == "Sun"
    with pytest.raises(StopAsyncIteration):
        await next_event(everything)


async def test_a_feed_listener_that_falls_behind_is_ended(settings: Settings, store: Store) -> None:
    events = Events(store, settings, dispatcher=False)
    await events.start()
    try:
        service = CustomerService(store, on_commit=events.committed)
        stream = events.feed.listen(max_queue=2)
        for index in range(3):
            await service.create(customer(f"C{index}"), BASE)
        await asyncio.sleep(0.3)  # the feed publishes while nobody consumes
        assert (await next_event(stream))["eventType"] == "CustomerCreateEvent"
        assert (await next_event(stream))["eventType"] == "CustomerCreateEvent"
        with pytest.raises(FeedOverflow):
            await next_event(stream)
    finally:
        await events.stop()


# -- several dispatchers, one database ----------------------------------------------------------------


async def test_two_dispatchers_deliver_each_event_once_per_subscriber(
    settings: Settings, store: Store, listener: Listener
) -> None:
    fast = settings.model_copy(update=FAST_DISPATCH)
    hub = HubService(store, settings)
    for path in ("/a", "/b"):
        await hub.subscribe({"callback": listener.callback(path)})
    service = CustomerService(store)
    records = [await service.create(customer(f"C{index}"), BASE) for index in range(15)]
    for record in records[::2]:
        await service.patch(record.id, PatchFormat.MERGE, {"status": "Approved"}, BASE)
    expected = await outbox_ids(store)
    assert len(expected) == 15 + 8 * 2

    stores = [create_store(fast), create_store(fast)]
    dispatchers = [Dispatcher(replica, fast, worker_id=f"replica-{n}") for n, replica in enumerate(stores)]
    try:
        await asyncio.gather(*(dispatcher.start() for dispatcher in dispatchers))
        for path in ("/a", "/b"):
            await listener.wait_for(len(expected), path)
        await asyncio.sleep(0.3)
        for path in ("/a", "/b"):
            assert_once_each_in_order(listener.events(path), expected)
    finally:
        for dispatcher in dispatchers:
            await dispatcher.stop()
        for replica in stores:
            await replica.dispose()
    states = await store.read(lambda conn: conn.execute(select(DELIVERY.state)).scalars().all())
    assert Counter(states) == {"delivered": 2 * len(expected)}


async def test_claims_of_a_crashed_replica_are_taken_over_when_their_lease_expires(
    settings: Settings, store: Store, listener: Listener
) -> None:
    fast = settings.model_copy(update=FAST_DISPATCH)
    await HubService(store, settings).subscribe({"callback": listener.callback()})
    await CustomerService(store).create(customer("Moon"), BASE)
    crashed = DeliveryQueue(store.dialect, "crashed", timedelta(seconds=1), 10)
    assert await store.write(crashed.fan_out) == 1
    [claim] = await store.write(functools.partial(crashed.claim, limit=10))  # ... and it never completes
    survivor = Dispatcher(store, fast, worker_id="survivor")
    await survivor.start()
    try:
        await asyncio.sleep(0.5)
        assert listener.events() == []  # the lease holds
        [event] = await listener.wait_for(1, timeout=3)
        assert event["event"]["customer"]["name"] == "Moon"
        # The crashed replica's late completion is fenced off: it records nothing.
        assert await store.write(functools.partial(crashed.complete, claim, "late", 1.0, True)) is None
        await asyncio.sleep(0.2)
        rows = await store.read(lambda conn: conn.execute(select(DELIVERY.state, DELIVERY.attempts)).all())
        assert [tuple(row) for row in rows] == [("delivered", 1)]
    finally:
        await survivor.stop()


async def test_without_a_subscription_a_round_marks_the_events_fanned_out_with_one_statement(
    settings: Settings, store: Store, listener: Listener
) -> None:
    """No subscription: the round marks the events fanned out (no delivery, no claim), on SQLite without the
    writer thread; a subscriber made afterwards gets only the events written after it."""
    service = CustomerService(store)
    for index in range(3):
        await service.create(customer(f"Early {index}"), BASE)
    seqs = await store.read(
        lambda conn: conn.execute(select(OUTBOX.seq).order_by(OUTBOX.seq)).scalars().all()
    )
    assert await store.read(pending_work) == Pending(unfanned=seqs[-1], due=False, subscribed=False)
    fast = settings.model_copy(update=FAST_DISPATCH)
    dispatcher = Dispatcher(store, fast, worker_id="solo")
    thread: list[str] = []
    if isinstance(store, SqliteStore):
        await store.write(lambda conn: conn.connection.driver_connection.set_trace_callback(thread.append))
    await dispatcher.run_once()
    assert [s for s in thread if s != "COMMIT"] == []  # after the COMMIT of the unit setting the trace
    assert (
        await store.read(lambda conn: conn.execute(select(OUTBOX.fanned_out)).scalars().all()) == [True] * 3
    )
    assert await store.read(lambda conn: conn.execute(select(DELIVERY.seq)).all()) == []
    assert await store.read(pending_work) == Pending(unfanned=None, due=False, subscribed=False)

    await HubService(store, settings).subscribe({"callback": listener.callback()})
    await service.create(customer("Late"), BASE)
    late = await store.read(lambda conn: conn.execute(select(func.max(OUTBOX.seq))).scalar_one())
    assert await store.read(pending_work) == Pending(unfanned=late, due=False, subscribed=True)
    await dispatcher.start()
    try:
        [event] = await listener.wait_for(1, timeout=3)
        assert event["event"]["customer"]["name"] == "Late"
        await asyncio.sleep(0.2)
        assert len(listener.events()) == 1
    finally:
        await dispatcher.stop()


async def test_skipping_the_fan_out_marks_the_events_up_to_the_one_read(store: Store) -> None:
    """Events stored after the round read the last unfanned one stay to be fanned out by the next round."""
    service = CustomerService(store)
    for index in range(4):
        await service.create(customer(f"C{index}"), BASE)
    seqs = await store.read(
        lambda conn: conn.execute(select(OUTBOX.seq).order_by(OUTBOX.seq)).scalars().all()
    )
    await store.execute(skip_fan_out_sql(store.dialect), (seqs[1],))
    marked = await store.read(
        lambda conn: conn.execute(select(OUTBOX.fanned_out).order_by(OUTBOX.seq)).scalars().all()
    )
    assert marked == [True, True, False, False]
    assert (await store.read(pending_work)).unfanned == seqs[-1]


async def test_skipping_the_fan_out_steps_over_the_versions_it_left_behind(store: Store) -> None:
    """PostgreSQL: each event marked leaves a dead version, and its entry in the partial index of unfanned
    events, until a vacuum (and this server may run none). A round after the marking reads none of them
    from the table: an ordered scan of the index marked their entries dead as it met them."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite removes an index entry with the row version it points to")
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": f"e{n}",
            "event_type": "CustomerCreateEvent",
            "customer_id": f"c{n}",
            "body": "{}" * 200,
            "created_at": now,
        }
        for n in range(2_000)
    ]
    await store.write(lambda conn: conn.execute(insert(EventOutbox.__table__), rows))  # type: ignore[attr-defined]
    await store.execute("ANALYZE event_outbox", ())
    last = (await store.read(pending_work)).unfanned
    assert last is not None
    await store.execute(skip_fan_out_sql(store.dialect), (last,))
    assert (await store.read(pending_work)).unfanned is None

    def plan(conn: Any) -> str:
        sql = skip_fan_out_sql(store.dialect).replace("?", str(last))
        lines = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}").scalars().all()
        conn.rollback()
        return "\n".join(lines)

    found = await store.read(plan)
    assert "Index Only Scan using ix_event_outbox_unfanned" in found, found
    assert "Bitmap" not in found and "Heap Fetches: 0" in found, found


# -- processes ----------------------------------------------------------------------------------------


async def test_undelivered_events_go_out_after_a_sigkill(settings: Settings, store: Store) -> None:
    listener = Listener()  # down
    first = ServerProcess(settings.database_url, **fast_dispatch_env()).start()
    try:
        async with httpx.AsyncClient(base_url=first.api, timeout=10) as api:
            assert (await api.post("/hub", json={"callback": listener.callback()})).status_code == 201
            for name in ("Moon", "Sun", "Star"):
                assert (await api.post("/customer", json=customer(name))).status_code == 201
        await wait_until_attempted(store)
    finally:
        first.kill()
    expected = await outbox_ids(store)

    listener.start()
    second = ServerProcess(settings.database_url, **fast_dispatch_env()).start()
    try:
        events = await listener.wait_for(3, timeout=10)
        await asyncio.sleep(0.3)
        assert [e["eventId"] for e in listener.events()] == expected
        assert [e["event"]["customer"]["name"] for e in events] == ["Moon", "Sun", "Star"]
    finally:
        second.stop()
        listener.stop()


async def test_the_dispatch_command_delivers_without_a_server(
    settings: Settings, store: Store, listener: Listener
) -> None:
    await HubService(store, settings).subscribe(
        {"callback": listener.callback(), "query": "eventType=CustomerCreateEvent"}
    )
    for name in ("Moon", "Sun"):
        await CustomerService(store).create(customer(name), BASE)
    env = {**os.environ, "TMF629_DATABASE_URL": settings.database_url, **fast_dispatch_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dispatch"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    try:
        events = await listener.wait_for(2, timeout=15)
        assert [e["event"]["customer"]["name"] for e in events] == ["Moon", "Sun"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0


@pytest.fixture
async def pg_settings(request: pytest.FixtureRequest) -> AsyncIterator[Settings]:
    if PG_URL is None:
        pytest.skip("TMF629_TEST_DATABASE_URL is not set")
    settings = Settings(
        database_url=request.getfixturevalue("pg_migrated"),
        dispatcher_enabled=False,
        hub_callback_allow="127.0.0.0/8",
    )
    store = create_store(settings)
    await truncate_all(store)
    await store.dispose()
    yield settings


async def test_two_postgresql_replicas_deliver_each_event_once_and_take_over(
    pg_settings: Settings, listener: Listener
) -> None:
    replicas = [ServerProcess(pg_settings.database_url, **fast_dispatch_env()) for _ in range(2)]
    await asyncio.gather(*(asyncio.to_thread(replica.start) for replica in replicas))
    store = create_store(pg_settings)
    try:
        clients = [httpx.AsyncClient(base_url=replica.api, timeout=10) for replica in replicas]
        for path in ("/a", "/b"):
            assert (
                await clients[1].post("/hub", json={"callback": listener.callback(path)})
            ).status_code == 201

        async def write(index: int) -> None:
            api = clients[index % 2]
            created = (await api.post("/customer", json=customer(f"C{index}"))).json()
            patched = await api.patch(f"/customer/{created['id']}", json={"status": "Approved"})
            assert patched.status_code == 200

        await asyncio.gather(*(write(index) for index in range(20)))
        expected = await outbox_ids(store)
        assert len(expected) == 20 * 3
        for path in ("/a", "/b"):
            await listener.wait_for(len(expected), path, timeout=10)

        # One replica dies while the listener is down; the other delivers what it left.
        listener.stop()
        for index in range(5):
            assert (await clients[0].post("/customer", json=customer(f"Late{index}"))).status_code == 201
        await wait_until_attempted(store)
        replicas[0].kill()
        listener.start()
        expected = await outbox_ids(store)
        for path in ("/a", "/b"):
            await listener.wait_for(len(expected), path, timeout=10)
        await asyncio.sleep(0.5)
        for path in ("/a", "/b"):
            assert_once_each_in_order(listener.events(path), expected)
        for api in clients:
            await api.aclose()
    finally:
        for replica in replicas:
            replica.stop()
        await store.dispose()
