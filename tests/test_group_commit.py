"""Concurrent creates: on PostgreSQL they are group-committed (one statement, one commit for those that
arrive together); on SQLite the writer thread does the same. Every caller gets its own customer, its own
account links and its own event row, and is answered only after the commit."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from sqlalchemy import select

from app import services
from app.services import CustomerService
from app.store.base import Store
from app.store.tables import Customer, CustomerAccount, EventOutbox

BASE = "http://test/tmf-api/customerManagement/v4"


def accounts(index: int) -> list[str]:
    """The accounts of customer `index`: none when even, one for most odd ones, two for every fourth."""
    return [f"acc-{index}", f"acc-{index}-b"][: (index % 2) * (1 + (index % 4 == 3))]


def body(index: int) -> dict:
    return {
        "name": f"Concurrent {index}",
        "status": ("Approved", "Pending")[index % 2],
        "engagedParty": {"id": f"party-{index % 3}", "@referredType": "Organization"},
        "account": [
            {"id": account, "name": f"Account {account}", "@referredType": "BillingAccount"}
            for account in accounts(index)
        ],
        "validFor": {"startDateTime": "2024-01-01T02:00:00+02:00"},
    }


async def test_concurrent_creates_each_commit_their_row_links_and_event(store: Store) -> None:
    service = CustomerService(store)
    records = await asyncio.gather(*(service.create(body(i), BASE) for i in range(60)))
    assert len({record.id for record in records}) == 60

    customer = Customer.__table__  # type: ignore[attr-defined]
    links = CustomerAccount.__table__  # type: ignore[attr-defined]
    outbox = EventOutbox.__table__  # type: ignore[attr-defined]
    for index, record in enumerate(records):
        stored = await service.get(record.id)  # readable as soon as create returned: committed
        assert stored.document["name"] == f"Concurrent {index}"
    rows = await store.read(
        lambda conn: conn.execute(select(customer.c.id, customer.c.status, customer.c.valid_for_start)).all()
    )
    by_id = {row[0]: row for row in rows}
    assert by_id[records[1].id][1:] == ("Pending", "2024-01-01T00:00:00.000000Z")
    linked = await store.read(
        lambda conn: conn.execute(select(links.c.customer_id, links.c.account_id)).all()
    )
    assert sorted(linked) == sorted((records[i].id, account) for i in range(60) for account in accounts(i))
    events = await store.read(lambda conn: conn.execute(select(outbox.c.customer_id, outbox.c.body)).all())
    assert sorted(customer_id for customer_id, _ in events) == sorted(record.id for record in records)
    for customer_id, event_body in events:
        event = orjson.loads(event_body)
        assert event["eventType"] == "CustomerCreateEvent"
        assert event["event"]["customer"]["id"] == customer_id


async def test_a_failed_create_fails_only_its_caller(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One create whose row breaks a constraint (its id is taken) among concurrent good ones: the batch is
    written again row by row, so only that caller gets the error and the others are stored."""
    service = CustomerService(store)
    taken = await service.create(body(0), BASE)
    ids = iter([taken.id])
    real = services.new_id
    monkeypatch.setattr(services, "new_id", lambda: next(ids, None) or real())  # the next create clashes

    results = await asyncio.gather(
        *(service.create(body(i), BASE) for i in range(1, 12)), return_exceptions=True
    )
    failed = [result for result in results if isinstance(result, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], Exception)
    customer = Customer.__table__  # type: ignore[attr-defined]
    names = await store.read(lambda conn: conn.execute(select(customer.c.name)).scalars().all())
    assert sorted(names) == sorted(f"Concurrent {i}" for i in range(12) if i != 1)
    # Nothing of the failed create is left: not its links (acc-1), not its event.
    links = CustomerAccount.__table__  # type: ignore[attr-defined]
    outbox = EventOutbox.__table__  # type: ignore[attr-defined]
    linked = await store.read(lambda conn: conn.execute(select(links.c.account_id)).scalars().all())
    assert "acc-1" not in linked and "acc-3" in linked
    events = await store.read(lambda conn: conn.execute(select(outbox.c.customer_id)).scalars().all())
    assert sorted(events) == sorted([taken.id, *(r.id for r in results if not isinstance(r, BaseException))])


async def test_bulk_load_links_customers_to_their_accounts(store: Store) -> None:
    """`tmf629 seed`'s batches (create_many) write the same account links as create, and no events."""
    service = CustomerService(store)
    ids = await service.create_many([body(i) for i in range(6)])
    links = CustomerAccount.__table__  # type: ignore[attr-defined]
    outbox = EventOutbox.__table__  # type: ignore[attr-defined]
    pairs = select(links.c.customer_id, links.c.account_id)
    linked = await store.read(lambda conn: conn.execute(pairs).all())
    assert sorted(linked) == sorted((ids[i], account) for i in range(6) for account in accounts(i))
    assert await store.read(lambda conn: conn.execute(select(outbox.c.seq)).all()) == []
