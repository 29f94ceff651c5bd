"""Events an operator can run: retention pruning, the dead-letter API, and the PostgreSQL start point of a
subscription under concurrent, out-of-order commits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from app.events.hub import Events
from app.events.queue import DeliveryQueue
from app.events.retention import Retention
from app.services import CustomerService
from app.settings import Settings, parse_duration
from app.store.base import Store, async_url
from app.store.tables import EventDelivery, EventOutbox, EventSubscription
from tests.conftest import LiveServer
from tests.support.listener import FAST_DISPATCH, Listener

BASE = "http://test/tmf-api/customerManagement/v4"
DELIVERY = EventDelivery.__table__.c  # type: ignore[attr-defined]
OUTBOX = EventOutbox.__table__.c  # type: ignore[attr-defined]
SUBSCRIPTION = EventSubscription.__table__.c  # type: ignore[attr-defined]
CUSTOMER = {"name": "Kept", "engagedParty": {"id": "1", "@referredType": "Organization"}}


@pytest.fixture
def listener() -> Iterator[Listener]:
    started = Listener().start()
    yield started
    started.stop()


def test_retention_durations() -> None:
    assert [parse_duration(v) for v in ("30s", "15m", "12h", "7d", " 2D ", "90")] == [
        30,
        900,
        43200,
        604800,
        172800,
        90,
    ]
    for bad in ("", "d", "-1d", "0s", "7w", "nan", "infd"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert Settings().event_retention_seconds == 7 * 86400
    with pytest.raises(ValueError, match="not a duration"):
        Settings(event_retention="soon")


async def test_retention_prunes_delivered_events_and_keeps_dead_letters(
    settings: Settings, store: Store
) -> None:
    events = Events(store, settings, dispatcher=False)
    subscription = await events.hub.subscribe({"callback": "http://127.0.0.1:9/listener"})
    service = CustomerService(store)
    for _ in range(4):
        await service.create(CUSTOMER, BASE)
    queue = DeliveryQueue(store.dialect, "test", timedelta(seconds=10), 3)
    assert await store.write(queue.fan_out) == 4
    old = datetime.now(UTC) - timedelta(days=8)
    naive_old = old.replace(tzinfo=None)

    def age(conn: Any) -> list[int]:
        conn.execute(update(EventOutbox.__table__).values(created_at=old))
        seqs = [row[0] for row in conn.execute(select(DELIVERY.seq).order_by(DELIVERY.outbox_seq))]
        # 1: delivered 8 days ago, 2: dead 8 days ago, 3: delivered just now, 4: still pending.
        conn.execute(
            update(EventDelivery.__table__)
            .where(DELIVERY.seq == seqs[0])
            .values(state="delivered", delivered_at=naive_old)
        )
        conn.execute(
            update(EventDelivery.__table__)
            .where(DELIVERY.seq == seqs[1])
            .values(state="dead", last_error="HTTP 500", attempts=3)
        )
        conn.execute(
            update(EventDelivery.__table__)
            .where(DELIVERY.seq == seqs[2])
            .values(state="delivered", delivered_at=datetime.now(UTC).replace(tzinfo=None))
        )
        return seqs

    seqs = await store.write(age)
    outbox_before = await store.read(
        lambda c: [r[0] for r in c.execute(select(OUTBOX.seq).order_by(OUTBOX.seq))]
    )

    assert await Retention(store, parse_duration("7d")).prune() == (1, 1)

    deliveries = await store.read(
        lambda c: c.execute(select(DELIVERY.seq, DELIVERY.state).order_by(DELIVERY.outbox_seq)).all()
    )
    assert [tuple(row) for row in deliveries] == [
        (seqs[1], "dead"),
        (seqs[2], "delivered"),
        (seqs[3], "pending"),
    ]
    outbox_after = await store.read(
        lambda c: [r[0] for r in c.execute(select(OUTBOX.seq).order_by(OUTBOX.seq))]
    )
    assert outbox_after == outbox_before[1:]  # the event delivered long ago is gone; the others are needed
    assert subscription.id  # the subscription itself is untouched
    # Nothing left to prune: a second run deletes nothing.
    assert await Retention(store, parse_duration("7d")).prune() == (0, 0)


async def test_dead_letter_api(
    settings: Settings, store: Store, listener: Listener, make_server: Callable[..., LiveServer]
) -> None:
    server = make_server(**{**FAST_DISPATCH, "dispatch_max_attempts": 2})
    listener.status = 500
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
        hub = (await http.post("/hub", json={"callback": listener.callback()})).json()
        letters = f"/hub/{hub['id']}/deadLetter"
        first = (await http.post("/customer", json=CUSTOMER)).json()
        second = (await http.post("/customer", json=CUSTOMER)).json()

        deadline = time.monotonic() + 15
        while len(dead := (await http.get(letters)).json()) < 2:
            assert time.monotonic() < deadline, dead
            await asyncio.sleep(0.1)
        assert [letter["event"]["event"]["customer"]["id"] for letter in dead] == [first["id"], second["id"]]
        assert all(letter["attempts"] == 2 and letter["lastError"] == "HTTP 500" for letter in dead)
        assert all(letter["eventType"] == "CustomerCreateEvent" for letter in dead)

        listener.status = 201
        replayed = await http.post(f"{letters}/{dead[0]['id']}/replay")
        assert replayed.status_code == 200 and replayed.json() == {"replayed": 1}
        received = await listener.wait_for(1, timeout=10)
        assert received[0]["event"]["customer"]["id"] == first["id"]
        assert [letter["id"] for letter in (await http.get(letters)).json()] == [dead[1]["id"]]

        # Unknown ids answer TMF Error bodies.
        for response in (
            await http.get("/hub/no-such-hub/deadLetter"),
            await http.post("/hub/no-such-hub/deadLetter/replay"),
            await http.post(f"{letters}/{dead[0]['id']}/replay"),  # no longer dead
            await http.post(f"{letters}/not-a-number/replay"),
            await http.delete(f"{letters}/99999999"),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["@type"] == "Error" and response.json()["code"] == "NOT_FOUND"

        deleted = await http.delete(f"{letters}/{dead[1]['id']}")
        assert deleted.status_code == 204
        assert (await http.get(letters)).json() == []
        assert (await http.post(f"{letters}/replay")).json() == {"replayed": 0}

        # Replay all: every dead letter goes out again.
        listener.status = 500
        third = (await http.post("/customer", json=CUSTOMER)).json()
        while not (await http.get(letters)).json():
            assert time.monotonic() < deadline + 15
            await asyncio.sleep(0.1)
        listener.status = 201
        assert (await http.post(f"{letters}/replay")).json() == {"replayed": 1}
        received = await listener.wait_for(2, timeout=10)
        assert received[1]["event"]["customer"]["id"] == third["id"]
        assert (await http.get(letters)).json() == []


async def test_a_write_committed_after_the_subscription_reaches_it(settings: Settings, store: Store) -> None:
    """Write A takes a lower outbox seq than write B but commits later. A subscription made between B's
    commit and A's must still receive A (or not be made until A committed): never miss it."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer: seqs are taken in commit order")
    engine = create_async_engine(async_url(settings.database_url))
    events = Events(store, settings, dispatcher=False)
    insert_event = text(
        "INSERT INTO event_outbox (event_id, event_type, customer_id, body, created_at, fanned_out) "
        "VALUES (:id, 'CustomerCreateEvent', :id, :body, now(), false) RETURNING seq"
    )

    def body(event_id: str) -> dict[str, str]:
        return {"id": event_id, "body": f'{{"eventId": "{event_id}", "eventType": "CustomerCreateEvent"}}'}

    try:
        async with engine.connect() as a, engine.connect() as b:
            await a.begin()
            seq_a = (await a.execute(insert_event, body("event-a"))).scalar_one()
            await b.begin()
            seq_b = (await b.execute(insert_event, body("event-b"))).scalar_one()
            await b.commit()
            assert seq_a < seq_b

            subscribing = asyncio.create_task(events.hub.subscribe({"callback": "http://127.0.0.1:9/x"}))
            await asyncio.sleep(0.5)
            subscribed_before_a = subscribing.done()
            await a.commit()
            subscription = await subscribing
        await CustomerService(store).create(CUSTOMER, BASE)  # a write after the subscription

        queue = DeliveryQueue(store.dialect, "test", timedelta(seconds=10), 3)
        while await store.write(queue.fan_out):
            pass
        delivered = await store.read(
            lambda c: list(
                c.execute(
                    select(OUTBOX.event_id)
                    .join(EventDelivery.__table__, DELIVERY.outbox_seq == OUTBOX.seq)
                    .where(DELIVERY.subscription_id == subscription.id)
                    .order_by(OUTBOX.seq)
                ).scalars()
            )
        )
        assert "event-b" not in delivered  # committed before the subscription
        assert len(delivered) >= 1 and delivered[-1] not in ("event-a", "event-b")  # the later write
        # A committed after the subscription began: either the subscription waited for it, or A reaches it.
        assert not subscribed_before_a or "event-a" in delivered, (subscribed_before_a, delivered)
    finally:
        await engine.dispose()


async def test_retention_skips_rows_another_transaction_holds(settings: Settings, store: Store) -> None:
    """Pruning never waits: a row locked elsewhere (a writer, another replica pruning) is left for later."""
    if store.dialect != "postgresql":
        pytest.skip("SQLite has one writer: nothing else can hold a row")
    events = Events(store, settings, dispatcher=False)
    await events.hub.subscribe({"callback": "http://127.0.0.1:9/listener"})
    service = CustomerService(store)
    for _ in range(3):
        await service.create(CUSTOMER, BASE)
    queue = DeliveryQueue(store.dialect, "test", timedelta(seconds=10), 3)
    await store.write(queue.fan_out)
    long_ago = (datetime.now(UTC) - timedelta(days=8)).replace(tzinfo=None)
    await store.write(
        lambda conn: conn.execute(
            update(EventDelivery.__table__).values(state="delivered", delivered_at=long_ago)
        )
    )
    seqs = await store.read(lambda c: [r[0] for r in c.execute(select(DELIVERY.seq).order_by(DELIVERY.seq))])
    engine = create_async_engine(async_url(settings.database_url))
    try:
        async with engine.connect() as holder:
            await holder.begin()
            await holder.execute(
                text("SELECT seq FROM event_delivery WHERE seq = :seq FOR UPDATE"), {"seq": seqs[0]}
            )
            pruned = await asyncio.wait_for(Retention(store, parse_duration("7d")).prune(), 5)
            await holder.rollback()
    finally:
        await engine.dispose()
    assert pruned[0] == 2
    left = await store.read(lambda c: [r[0] for r in c.execute(select(DELIVERY.seq))])
    assert left == [seqs[0]]
