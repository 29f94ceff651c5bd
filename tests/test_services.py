"""CustomerService without HTTP, on a real database."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select, text

from app import services
from app.domain.errors import Conflict, Invalid, NotFound, PreconditionFailed
from app.domain.patch import PatchFormat
from app.query.model import CustomerQuery, parse_rest_query
from app.query.plain import plain_query
from app.services import CustomerService
from app.store.base import Store
from app.store.tables import Customer, EventOutbox

BASE = "http://test/tmf-api/customerManagement/v4"
MOON = {"name": "Moon", "engagedParty": {"id": "500", "@referredType": "Organization"}}


@pytest.fixture
def service(store: Store) -> CustomerService:
    return CustomerService(store)


async def outbox(store: Store) -> list[dict]:
    table = EventOutbox.__table__  # type: ignore[attr-defined]
    rows = await store.read(
        lambda conn: conn.execute(select(table.c.body).order_by(table.c.seq)).scalars().all()
    )
    return [orjson.loads(row) for row in rows]


async def test_create_stores_indexed_columns_and_one_event(service: CustomerService, store: Store) -> None:
    body = {**MOON, "status": "Approved", "validFor": {"startDateTime": "2024-01-01T02:00:00+02:00"}}
    record = await service.create(body, BASE)
    table = Customer.__table__  # type: ignore[attr-defined]
    row = await store.read(lambda conn: conn.execute(select(table).where(table.c.id == record.id)).one())
    assert (row.name, row.status, row.engaged_party_id) == ("Moon", "Approved", "500")
    assert row.valid_for_start == "2024-01-01T00:00:00.000000Z"
    events = await outbox(store)
    assert [e["eventType"] for e in events] == ["CustomerCreateEvent"]
    assert events[0]["event"]["customer"]["href"] == f"{BASE}/customer/{record.id}"


async def test_get_and_versions(service: CustomerService) -> None:
    record = await service.create(MOON, BASE)
    fetched = await service.get(record.id)
    assert fetched.document == {**MOON, "@type": "Customer"} and fetched.etag == record.etag
    patched = await service.patch(record.id, PatchFormat.MERGE, {"name": "Sun"}, BASE)
    assert patched.version == record.version + 1 and patched.etag != record.etag
    with pytest.raises(NotFound):
        await service.get("missing")


async def test_invalid_create_writes_nothing(service: CustomerService, store: Store) -> None:
    with pytest.raises(Invalid) as error:
        await service.create({"name": "x"}, BASE)
    assert error.value.field == "engagedParty"
    page = await service.list(parse_rest_query([], default_limit=10, max_limit=10))
    assert page.total == 0 and await outbox(store) == []


async def test_patch_events_and_no_op(service: CustomerService, store: Store) -> None:
    record = await service.create(MOON, BASE)
    await service.patch(record.id, PatchFormat.MERGE, {"status": "Approved", "name": "Sun"}, BASE)
    unchanged = await service.patch(record.id, PatchFormat.MERGE, {"name": "Sun"}, BASE)
    assert unchanged.version == 2
    events = await outbox(store)
    assert [e["eventType"] for e in events] == [
        "CustomerCreateEvent",
        "CustomerAttributeValueChangeEvent",
        "CustomerStateChangeEvent",
    ]
    assert events[1]["fieldPath"] == "name,status"
    assert events[2]["event"]["customer"]["status"] == "Approved"


async def test_if_match_and_delete(service: CustomerService, store: Store) -> None:
    record = await service.create(MOON, BASE)
    with pytest.raises(PreconditionFailed):
        await service.patch(record.id, PatchFormat.MERGE, {"name": "x"}, BASE, if_match='"99"')
    with pytest.raises(PreconditionFailed):
        await service.delete(record.id, BASE, if_match='"99"')
    await service.patch(record.id, PatchFormat.MERGE, {"name": "y"}, BASE, if_match=record.etag)
    await service.delete(record.id, BASE, if_match="*")
    with pytest.raises(NotFound):
        await service.delete(record.id, BASE)
    assert (await outbox(store))[-1]["eventType"] == "CustomerDeleteEvent"


async def test_json_patch_is_atomic(service: CustomerService) -> None:
    record = await service.create({**MOON, "characteristic": [{"name": "a", "value": 1}]}, BASE)
    operations = [
        {"op": "add", "path": "/characteristic/-", "value": {"name": "b", "value": 2}},
        {"op": "test", "path": "/name", "value": "not the name"},
    ]
    with pytest.raises(Conflict):
        await service.patch(record.id, PatchFormat.JSON_PATCH, operations, BASE)
    with pytest.raises(Invalid):
        await service.patch(record.id, PatchFormat.JSON_PATCH, [{"op": "remove", "path": "/nothing"}], BASE)
    assert (await service.get(record.id)).document["characteristic"] == [{"name": "a", "value": 1}]


async def test_postgres_page_totals_are_remembered_only_for_their_snapshot(
    service: CustomerService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL remembers each filter's total with the snapshot it was counted in, and counts again in any
    other snapshot: every write, this service's or another connection's, moves the snapshot."""
    if store.dialect != "postgresql":
        pytest.skip("the snapshot-keyed totals are PostgreSQL's (SQLite's follow PRAGMA data_version)")
    party = {**MOON, "engagedParty": {"id": "counted", "@referredType": "Organization"}}
    for _ in range(3):
        await service.create(party, BASE)
    query = parse_rest_query([("engagedParty.id", "counted"), ("limit", "2")], default_limit=10, max_limit=10)

    async def total() -> int:
        return (await service.list(query)).total

    assert await total() == 3
    ((key, (snapshot, counted)),) = service._counts.items()
    assert counted == 3 and snapshot.count(":") == 2  # xmin:xmax:in-progress
    service._counts[key] = (snapshot, 99)  # a total for the current snapshot is taken as it is
    assert await total() == 99
    await service.create(party, BASE)  # a write: a new snapshot, so a real count
    assert await total() == 4 and service._counts[key][1] == 4
    await store.write(
        lambda conn: conn.execute(
            text(
                "DELETE FROM customer WHERE id = (SELECT min(id) "
                "FROM customer WHERE engaged_party_id = 'counted')"
            )
        )
    )
    assert await total() == 3
    service._counts[key] = ("1:1:", 99)  # a total of another snapshot is never used
    assert await total() == 3
    monkeypatch.setattr(services, "MAX_COUNTS", 1)  # at most MAX_COUNTS filters are remembered
    await service.create(MOON, BASE)
    other = parse_rest_query([("engagedParty.id", "500")], default_limit=10, max_limit=10)
    assert (await service.list(other)).total == 1
    assert [total for _snapshot, total in service._counts.values()] == [1] and key not in service._counts


async def test_plans_are_written_once_per_query_and_bounded(
    service: CustomerService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL of a query on indexed columns is written once (app.query.plain) and kept for equal queries,
    other queries keep None (the general compiler); at most MAX_PLANS are kept, then all are forgotten. A kept
    plan holds no data: the same query answers what the table holds now."""
    written: list[object] = []
    monkeypatch.setattr(services, "plain_query", lambda q, d: written.append(q) or plain_query(q, d))
    party = {**MOON, "engagedParty": {"id": "planned", "@referredType": "Organization"}}
    await service.create(party, BASE)

    def query(*params: tuple[str, str]) -> CustomerQuery:
        return parse_rest_query(list(params), default_limit=10, max_limit=10)

    indexed = query(("engagedParty.id", "planned"), ("limit", "5"))
    assert (await service.list(indexed)).total == 1
    await service.create(party, BASE)
    assert (await service.list(query(("engagedParty.id", "planned"), ("limit", "5")))).total == 2
    assert written == [indexed]  # an equal query, parsed again: the same plan
    general = query(("contactMedium.mediumType", "email"))
    assert (await service.list(general)).total == 0
    assert (await service.list(general)).total == 0
    assert written == [indexed, general] and service._plans[general] is None
    assert service._plans[indexed] is not None
    monkeypatch.setattr(services, "MAX_PLANS", 2)
    third = query(("name", "Moon"))
    assert (await service.list(third)).total == 2
    assert list(service._plans) == [third]  # full: the others forgotten, this one kept
    assert (await service.list(indexed)).total == 2
    assert written == [indexed, general, third, indexed]
