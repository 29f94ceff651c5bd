"""CustomerService without HTTP, on a real database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import orjson
import pytest
from sqlalchemy import select, text

from app import resources, services
from app.domain.errors import Conflict, Invalid, NotFound, PreconditionFailed
from app.domain.patch import PatchFormat
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.query.model import CustomerQuery, parse_rest_query
from app.query.plain import PlainQuery, plain_query
from app.query.sql import where_clause
from app.resources import ResourceService
from app.services import CustomerService
from app.store.base import Store
from app.store.sqlite import SqliteStore
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
    # One instant, stored as one text: the row's creation and update, and its event's (compared as stored).
    same = await store.read(
        lambda conn: conn.execute(
            text(
                "SELECT count(*) FROM customer JOIN event_outbox ON event_outbox.customer_id = customer.id"
                " WHERE customer.updated_at = customer.created_at"
                " AND event_outbox.created_at = customer.created_at AND customer.id = :id"
            ),
            {"id": record.id},
        ).scalar_one()
    )
    assert same == 1
    assert events[0]["eventTime"] == row.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
    """The SQL of a query on indexed columns is written once (app.query.plain) and kept for equal queries;
    another query's statements (app.query.sql) run as built the first time, and are kept when it is asked
    again, compiled to text; at most MAX_PLANS are kept, then all are forgotten. A kept plan holds
    no data: the same query answers what the table holds now."""
    written: list[object] = []
    monkeypatch.setattr(services, "plain_query", lambda q, d: written.append(q) or plain_query(q, d))
    built: list[object] = []
    monkeypatch.setattr(services, "where_clause", lambda f, d: built.append(f) or where_clause(f, d))
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
    assert service._plans[general] is None  # asked once: its statements ran, a mark is kept
    await service.create({**party, "contactMedium": _mail("planned@example.org")}, BASE)
    # From now on nothing runs as statements (through SQLAlchemy, `Store.read`): the compiled text runs.
    monkeypatch.setattr(service.store, "read", lambda fn: pytest.fail("a kept query ran as statements"))
    assert [r.document["name"] for r in (await service.list(general)).records] == ["Moon"]
    kept = service._plans[general]  # asked again: compiled to text and kept
    assert isinstance(kept, PlainQuery)
    assert (await service.list(general)).total == 1 and service._plans[general] is kept
    assert built == [general.filter] * 2 and written == [indexed, general, general]  # none once kept
    assert isinstance(service._plans[indexed], PlainQuery)
    monkeypatch.setattr(services, "MAX_PLANS", 2)
    third = query(("name", "Moon"))
    assert (await service.list(third)).total == 3
    assert list(service._plans) == [third]  # full: the others forgotten, this one kept
    assert (await service.list(indexed)).total == 3
    assert written[-2:] == [third, indexed]


def _mail(address: str) -> list[dict]:
    return [{"mediumType": "email", "characteristic": {"emailAddress": address}}]


async def _links(store: Store, customer_id: str) -> list[str]:
    rows = await store.read(
        lambda conn: conn.execute(
            text("SELECT account_id FROM customer_account WHERE customer_id = :id ORDER BY seq"),
            {"id": customer_id},
        ).all()
    )
    return [row[0] for row in rows]


async def _ids(service: CustomerService, *params: tuple[str, str]) -> list[str]:
    page = await service.list(parse_rest_query(list(params), default_limit=10, max_limit=10))
    return [record.id for record in page.records]


async def test_a_patch_writes_the_row_its_indexes_links_and_events_and_a_delete_removes_them(
    service: CustomerService, store: Store
) -> None:
    """Everything a patch changes is written, on each database: the document, version and update time, the
    indexed columns, the index of the arrays' values, the account links (only when account[] changed) and the
    events, created at one instant; a delete takes the links with the customer."""
    body = {**MOON, "account": [{"id": "A1", "name": "A1"}], "contactMedium": _mail("old@example.com")}
    record = await service.create(body, BASE)
    patch = {
        "name": "Sun",
        "status": "Approved",
        "account": [{"id": "A2", "name": "A2"}, {"id": "A3", "name": "A3"}],
    }
    patched = await service.patch(
        record.id, PatchFormat.MERGE, {**patch, "contactMedium": _mail("new@example.com")}, BASE
    )
    table = Customer.__table__  # type: ignore[attr-defined]
    row = await store.read(lambda conn: conn.execute(select(table).where(table.c.id == record.id)).one())
    assert (
        (row.version, row.name, row.status) == (2, "Sun", "Approved") == (patched.version, "Sun", "Approved")
    )
    assert row.doc == patched.document == (await service.get(record.id)).document
    assert row.updated_at > row.created_at
    assert await _links(store, record.id) == ["A2", "A3"]
    assert await _ids(service, ("name", "Sun")) == [record.id] and await _ids(service, ("name", "Moon")) == []
    email = "contactMedium.characteristic.emailAddress"
    assert await _ids(service, (email, "new@example.com")) == [record.id]
    assert await _ids(service, (email, "old@example.com")) == []
    outbox_table = EventOutbox.__table__  # type: ignore[attr-defined]
    events = await store.read(
        lambda conn: conn.execute(select(outbox_table).order_by(outbox_table.c.seq)).all()
    )
    assert [(e.event_type, e.customer_id) for e in events] == [
        ("CustomerCreateEvent", record.id),
        ("CustomerAttributeValueChangeEvent", record.id),
        ("CustomerStateChangeEvent", record.id),
    ]
    assert events[1].created_at == events[2].created_at == row.updated_at  # the instant of the change
    same = text(
        "SELECT count(*) FROM event_outbox JOIN customer ON customer.id = event_outbox.customer_id"
        " WHERE event_outbox.created_at = customer.updated_at"
    )
    assert await store.read(lambda conn: conn.execute(same).scalar_one()) == 2  # as stored, too
    assert orjson.loads(events[2].body)["event"]["customer"] == patched.resource(BASE)
    await service.patch(record.id, PatchFormat.MERGE, {"name": "Star"}, BASE)  # account[] as it was
    assert await _links(store, record.id) == ["A2", "A3"]
    await service.patch(record.id, PatchFormat.MERGE, {"account": []}, BASE)
    assert await _links(store, record.id) == []
    await service.patch(record.id, PatchFormat.MERGE, {"account": [{"id": "A4", "name": "A4"}]}, BASE)
    assert await _links(store, record.id) == ["A4"]
    last = await service.get(record.id)
    assert last.version == 5 and last.document["name"] == "Star"
    await service.delete(record.id, BASE)
    assert await _links(store, record.id) == []
    with pytest.raises(NotFound):
        await service.get(record.id)
    deleted = (await outbox(store))[-1]
    assert deleted["eventType"] == "CustomerDeleteEvent" and deleted["event"]["customer"] == last.resource(
        BASE
    )


@pytest.fixture
def sqlite_service(service: CustomerService, store: Store) -> CustomerService:
    if not isinstance(store, SqliteStore):
        pytest.skip("SQLite's patches and deletes are conditional writes of its writer process")
    return service


async def test_sqlite_patches_and_deletes_are_written_by_the_process_not_the_thread(
    sqlite_service: CustomerService, store: Store
) -> None:
    record = await sqlite_service.create(MOON, BASE)
    statements: list[str] = []
    await store.write(lambda conn: conn.connection.driver_connection.set_trace_callback(statements.append))
    account = {"account": [{"id": "A1", "name": "A1"}]}
    await sqlite_service.patch(record.id, PatchFormat.MERGE, {"name": "Sun", **account}, BASE)
    assert await _links(store, record.id) == ["A1"]
    await sqlite_service.delete(record.id, BASE)
    assert not [s for s in statements if "customer" in s]
    assert [e["eventType"] for e in await outbox(store)][1:] == [
        "CustomerAttributeValueChangeEvent",
        "CustomerDeleteEvent",
    ]


def _between_read_and_write(
    monkeypatch: pytest.MonkeyPatch, store: Store, write: Callable[[], Awaitable[object]]
) -> None:
    """The next inline read of a customer returns what it read only once `write` has committed: a write that
    lands between a patch's (or a delete's) read and its own write."""
    fetch_row = store.fetch_row

    async def read_then_write(sql: str, params: tuple) -> object:
        row = await fetch_row(sql, params)
        monkeypatch.setattr(store, "fetch_row", fetch_row)
        await write()
        return row

    monkeypatch.setattr(store, "fetch_row", read_then_write)


async def test_sqlite_a_patch_of_a_customer_changed_since_its_read_applies_to_the_current_one(
    sqlite_service: CustomerService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sqlite_service
    record = await service.create({**MOON, "account": [{"id": "A0", "name": "A0"}]}, BASE)
    bystander = await service.create({**MOON, "account": [{"id": "B1", "name": "B1"}]}, BASE)
    _between_read_and_write(
        monkeypatch, store, lambda: service.patch(record.id, PatchFormat.MERGE, {"status": "Approved"}, BASE)
    )
    account = [{"id": "A1", "name": "A1"}]
    patched = await service.patch(record.id, PatchFormat.MERGE, {"name": "Sun", "account": account}, BASE)
    assert patched.version == 3 and patched.document == {
        **MOON,
        "@type": "Customer",
        "name": "Sun",
        "status": "Approved",
        "account": account,
    }
    stored = await service.get(record.id)
    assert (stored.version, stored.document) == (3, patched.document)
    assert await _links(store, record.id) == ["A1"]  # written the locked way: the row, links and columns
    assert await _links(store, bystander.id) == ["B1"]
    assert await _ids(service, ("name", "Sun")) == [record.id]
    assert await _ids(service, ("name", "Moon")) == [bystander.id]
    same = text(
        "SELECT count(*) FROM event_outbox JOIN customer ON customer.id = event_outbox.customer_id"
        " WHERE event_outbox.created_at = customer.updated_at AND customer.id = :id"
    )
    assert await store.read(lambda conn: conn.execute(same, {"id": record.id}).scalar_one()) == 1
    events = await outbox(store)
    assert [(e["eventType"], e.get("fieldPath")) for e in events] == [
        ("CustomerCreateEvent", None),
        ("CustomerCreateEvent", None),
        ("CustomerAttributeValueChangeEvent", "status"),
        ("CustomerStateChangeEvent", None),
        ("CustomerAttributeValueChangeEvent", "account,name"),
    ]
    assert events[-1]["event"]["customer"] == stored.resource(BASE)


async def test_sqlite_if_match_is_checked_against_the_version_written_over(
    sqlite_service: CustomerService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sqlite_service
    record = await service.create(MOON, BASE)
    _between_read_and_write(
        monkeypatch, store, lambda: service.patch(record.id, PatchFormat.MERGE, {"status": "Approved"}, BASE)
    )
    with pytest.raises(PreconditionFailed):
        await service.patch(record.id, PatchFormat.MERGE, {"name": "Sun"}, BASE, if_match=record.etag)
    assert (await service.get(record.id)).document["name"] == "Moon"
    current = await service.get(record.id)
    _between_read_and_write(
        monkeypatch, store, lambda: service.patch(record.id, PatchFormat.MERGE, {"name": "Star"}, BASE)
    )
    with pytest.raises(PreconditionFailed):
        await service.delete(record.id, BASE, if_match=current.etag)
    assert (await service.get(record.id)).version == 3


async def test_sqlite_a_delete_of_a_customer_changed_since_its_read_announces_the_current_one(
    sqlite_service: CustomerService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sqlite_service
    record = await service.create(MOON, BASE)
    _between_read_and_write(
        monkeypatch, store, lambda: service.patch(record.id, PatchFormat.MERGE, {"name": "Sun"}, BASE)
    )
    await service.delete(record.id, BASE)
    with pytest.raises(NotFound):
        await service.get(record.id)
    deleted = (await outbox(store))[-1]
    assert deleted["eventType"] == "CustomerDeleteEvent"
    href = f"{BASE}/customer/{record.id}"
    assert deleted["event"]["customer"] == {
        "id": record.id,
        "href": href,
        **MOON,
        "@type": "Customer",
        "name": "Sun",
    }


async def test_sqlite_a_customer_deleted_since_its_read_is_not_found(
    sqlite_service: CustomerService, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = sqlite_service
    record = await service.create(MOON, BASE)
    _between_read_and_write(monkeypatch, store, lambda: service.delete(record.id, BASE))
    with pytest.raises(NotFound, match=f"^No customer with id '{record.id}'$"):
        await service.patch(record.id, PatchFormat.MERGE, {"name": "Sun"}, BASE)
    other = await service.create(MOON, BASE)
    _between_read_and_write(monkeypatch, store, lambda: service.delete(other.id, BASE))
    with pytest.raises(NotFound, match=f"^No customer with id '{other.id}'$"):
        await service.delete(other.id, BASE)
    types = [e["eventType"] for e in await outbox(store)]
    assert types == ["CustomerCreateEvent", "CustomerDeleteEvent"] * 2


async def test_account_listings_keep_their_plans(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts are listed as customers are: a query asked again keeps its plan, compiled to text, which
    holds no data (the same query answers what the table holds now)."""
    monkeypatch.setattr(resources, "_PLANS", {})  # the process's plans, whatever ran before
    billing = ResourceService(store, ACCOUNT_MANAGEMENT, ACCOUNT_MANAGEMENT.resource("billingAccount"))
    query = parse_rest_query(
        [("relatedParty.id", "kept"), ("limit", "1")], default_limit=10, max_limit=10, resource=billing.type
    )
    key = (("billingAccount",), query, billing.type.model, store.dialect)
    party = [{"id": "kept", "name": "Jane", "@referredType": "Customer"}]
    names = []
    for name in ("First", "Second", "Third"):
        await billing.create({"name": name, "relatedParty": party}, BASE)
        page = await billing.list(query)
        names.append(([r.document["name"] for r in page.records], page.total))
        assert (resources._PLANS[key] is None) == (name == "First")  # asked once: a mark only
    assert names == [(["First"], 1), (["First"], 2), (["First"], 3)]
    kept = resources._PLANS[key]
    assert isinstance(kept, PlainQuery) and (await billing.list(query)).total == 3
    assert resources._PLANS[key] is kept
