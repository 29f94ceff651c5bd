"""ResourceService: the use cases of any registered resource (app.domain.tmf666), both doors call them.

One service per registration, all over the shared `account` table (rows told apart by `kind`). The
rules are the customer's (app.services): validation on the model, defaults, server-owned members, merge
patch and JSON Patch, ETags, the TMF630 query compiled by app.query.sql on this table and this model,
and events into the same durable outbox, in the write's transaction. What differs is read from the
registration: the member stamped on every write (`lastModified`), the array whose items are also kept in
the link table (the parties, through the model's `Linked` marker), and which event types exist.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Text, and_, cast, delete, func, insert, select, type_coerce, update

from app.domain.account_events import ACCOUNT_EVENT_MODELS
from app.domain.errors import Invalid, NotFound, PreconditionFailed
from app.domain.ids import new_id, storable
from app.domain.patch import PatchFormat, apply_patch
from app.domain.resource import ResourceType, instant_key
from app.domain.tmf666 import CHANGE, CREATE, DELETE, STATE, Api, Registration
from app.domain.validation import validate
from app.query.model import CustomerQuery
from app.query.plain import PlainQuery
from app.query.sql import order_by, where_clause
from app.services import Statements, changed_paths, etag_matches, kept_plan, run_plan
from app.store.base import Store
from app.store.tables import Account, AccountParty, EventOutbox

T = TypeVar("T")

ACCOUNT_TABLE = Account.__table__  # type: ignore[attr-defined]
ACCOUNT = ACCOUNT_TABLE.c
PARTY_TABLE = AccountParty.__table__  # type: ignore[attr-defined]
PARTY = PARTY_TABLE.c
OUTBOX_TABLE = EventOutbox.__table__  # type: ignore[attr-defined]

_HOT_SQL = {
    "sqlite": "SELECT doc, version FROM account WHERE id = ? AND kind = ?",
    "postgresql": "SELECT doc::text, version FROM account WHERE id = ? AND kind = ?",
}


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def doc_text(dialect: str) -> Any:
    """The document column as JSON text (spliced into answers without re-encoding)."""
    return cast(ACCOUNT.doc, Text) if dialect == "postgresql" else type_coerce(ACCOUNT.doc, Text)


@dataclass(eq=False)
class ResourceRecord:
    """A stored resource: its kind (`billingAccount`), id, version (the ETag) and document as JSON text."""

    kind: str
    id: str
    version: int
    doc_json: str

    @cached_property
    def document(self) -> dict[str, Any]:
        value: dict[str, Any] = orjson.loads(self.doc_json)
        return value

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def href(self, base: str) -> str:
        return f"{base}/{self.kind}/{self.id}"

    def resource(self, base: str) -> dict[str, Any]:
        """The wire form: id and href first, then the document as the client sent it."""
        return {"id": self.id, "href": self.href(base), **self.document}


@dataclass
class ResourcePage:
    records: list[ResourceRecord]
    total: int
    offset: int
    limit: int


def _record(row: Any) -> ResourceRecord:
    """A record of a (kind, id, version, doc text) row."""
    return ResourceRecord(row[0], row[1], row[2], row[3])


def record_columns(dialect: str) -> tuple[Any, ...]:
    return (ACCOUNT.kind, ACCOUNT.id, ACCOUNT.version, doc_text(dialect))


# The SQL of each listing seen (kinds, query, model, dialect), kept as CustomerService keeps its own.
_PLANS: dict[tuple[Any, ...], PlainQuery | Statements | None] = {}


def _statements(
    kinds: tuple[str, ...], query: CustomerQuery, resource: ResourceType, dialect: str
) -> Statements:
    condition = ACCOUNT.kind == kinds[0] if len(kinds) == 1 else ACCOUNT.kind.in_(list(kinds))
    if query.filter is not None:
        condition = and_(
            condition, where_clause(query.filter, dialect, resource=resource, table=ACCOUNT_TABLE)
        )
    page = (
        select(*record_columns(dialect))
        .where(condition)
        .order_by(*order_by(query.sort, dialect, resource=resource, table=ACCOUNT_TABLE))
        .offset(query.offset)
        .limit(query.limit)
    )
    return Statements(page, select(func.count()).select_from(ACCOUNT_TABLE).where(condition))


async def list_kinds(
    store: Store, kinds: Sequence[str], query: CustomerQuery, resource: ResourceType
) -> ResourcePage:
    """One page of the rows of these kinds matching the query (on `resource`'s attributes) and their
    total: at most two statements. One kind is a REST collection; several are GraphQL's `accounts`."""
    dialect = store.dialect
    key = (tuple(kinds), query, resource.model, dialect)
    plan = kept_plan(_PLANS, key, partial(_statements, key[0], query, resource, dialect), dialect)
    records, total = await run_plan(store, plan, query, _record)
    return ResourcePage(records, total, query.offset, query.limit)


async def get_of_kinds(store: Store, resource_id: str, kinds: Sequence[str]) -> ResourceRecord | None:
    """The row with this id if it is of one of these kinds (GraphQL's `account(id)`), else None."""
    if not storable(resource_id):
        return None
    statement = select(*record_columns(store.dialect)).where(
        ACCOUNT.id == resource_id, ACCOUNT.kind.in_(list(kinds))
    )
    row = await store.read(lambda conn: conn.execute(statement).first())
    return None if row is None else _record(row)


def _now() -> datetime:
    return datetime.now(UTC)


class ResourceService:
    """list/retrieve/create/patch/delete of one registered resource."""

    def __init__(
        self,
        store: Store,
        api: Api,
        registration: Registration,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.api = api
        self.registration = registration
        self.kind = registration.name
        self.type = registration.type
        self.on_commit = on_commit
        self._doc_text = doc_text(store.dialect)
        self._hot_sql = _HOT_SQL[store.dialect]

    def _missing(self, resource_id: str) -> NotFound:
        return NotFound(f"No {self.kind} with id '{resource_id}'")

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, resource_id: str) -> ResourceRecord:
        row = (
            await self.store.fetch_row(self._hot_sql, (resource_id, self.kind))
            if storable(resource_id)
            else None
        )
        if row is None:
            raise self._missing(resource_id)
        return ResourceRecord(self.kind, resource_id, row[1], row[0])

    async def list(self, query: CustomerQuery) -> ResourcePage:
        """One page of the matching resources and their total: at most two statements."""
        return await list_kinds(self.store, (self.kind,), query, self.type)

    # -- writes --------------------------------------------------------------------------------

    def _stored(self, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
        """The stored form of a valid document: defaults filled in, the stamped members set to `at`."""
        doc = self.type.with_defaults(doc)
        if self.type.stamped:
            doc = {**doc, **{name: instant_key(at) for name in self.type.stamped}}
        return doc

    def _unstamped(self, doc: dict[str, Any]) -> dict[str, Any]:
        return {name: value for name, value in doc.items() if name not in self.type.stamped}

    async def create(self, body: Any, href_base: str) -> ResourceRecord:
        # A stamped member is the server's: a valid value a client sends there is replaced.
        self.type.validate(body)
        now = _now()
        doc = self._stored(body, now)
        record = ResourceRecord(self.kind, new_id(), 1, dumps(doc))
        record.__dict__["document"] = doc
        values = {
            "id": record.id,
            "kind": self.kind,
            "doc": doc,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            **self.type.indexed_columns(doc),
        }
        events = self._events(CREATE, record.resource(href_base), now)

        def run(conn: Connection) -> None:
            conn.execute(insert(ACCOUNT_TABLE), values)
            self._write_links(conn, record.id, doc, replace=False)
            self._write_events(conn, record.id, events)

        await self._write(run)
        return record

    async def patch(
        self,
        resource_id: str,
        patch_format: PatchFormat,
        patch: Any,
        href_base: str,
        if_match: str | None = None,
    ) -> ResourceRecord:
        self._check_patchable(patch_format, patch)

        def run(conn: Connection) -> ResourceRecord:
            current = self._locked(conn, resource_id, if_match)
            old = current.document
            new = apply_patch(old, patch_format, patch, resource_id)
            self.type.validate(new)
            if self._unstamped(self.type.with_defaults(new)) == self._unstamped(old):
                return current
            now = _now()
            new = self._stored(new, now)
            record = ResourceRecord(self.kind, resource_id, current.version + 1, dumps(new))
            record.__dict__["document"] = new
            conn.execute(
                update(ACCOUNT_TABLE)
                .where(ACCOUNT.id == resource_id)
                .values(doc=new, version=record.version, updated_at=now, **self.type.indexed_columns(new))
            )
            if self.type.linked_parties(old) != self.type.linked_parties(new):
                self._write_links(conn, resource_id, new, replace=True)
            resource = record.resource(href_base)
            paths = changed_paths(self._unstamped(old), self._unstamped(new))
            events = self._events(CHANGE, resource, now, ",".join(paths))
            state = self.type.lifecycle
            if state and old.get(state) != new.get(state):
                events += self._events(STATE, resource, now)
            self._write_events(conn, resource_id, events)
            return record

        return await self._write(run)

    def _check_patchable(self, patch_format: PatchFormat, patch: Any) -> None:
        """Refuse a patch that sets a member the model marks `NotPatchable`."""
        if not self.type.not_patchable:
            return
        if patch_format is PatchFormat.MERGE:
            touched = list(patch) if isinstance(patch, dict) else []
        else:
            touched = [
                op["path"].split("/")[1]
                for op in (patch if isinstance(patch, list) else [])
                if isinstance(op, dict)
                and isinstance(op.get("path"), str)
                and op["path"].startswith("/")
                and op.get("op") != "test"
            ]
        for name in touched:
            if name in self.type.not_patchable:
                raise Invalid(f"'{name}' cannot be changed by a patch of a {self.type.name}", field=name)

    async def delete(self, resource_id: str, href_base: str, if_match: str | None = None) -> None:
        def run(conn: Connection) -> None:
            current = self._locked(conn, resource_id, if_match)
            conn.execute(delete(ACCOUNT_TABLE).where(ACCOUNT.id == resource_id))
            self._write_events(conn, resource_id, self._events(DELETE, current.resource(href_base), _now()))

        await self._write(run)

    async def _write(self, run: Callable[[Connection], T]) -> T:
        result = await self.store.write(run)
        if self.on_commit is not None:
            self.on_commit()
        return result

    def _locked(self, conn: Connection, resource_id: str, if_match: str | None) -> ResourceRecord:
        """The current resource, locked for the rest of the transaction; checks If-Match."""
        if not storable(resource_id):
            raise self._missing(resource_id)
        row = conn.execute(
            select(ACCOUNT.version, self._doc_text)
            .where(ACCOUNT.id == resource_id, ACCOUNT.kind == self.kind)
            .with_for_update()
        ).first()
        if row is None:
            raise self._missing(resource_id)
        record = ResourceRecord(self.kind, resource_id, row[0], row[1])
        if if_match is not None and not etag_matches(if_match, record.etag):
            raise PreconditionFailed(
                f"If-Match {if_match} does not match the current ETag {record.etag} "
                f"of {self.kind} '{resource_id}'"
            )
        return record

    def _write_links(self, conn: Connection, resource_id: str, doc: dict[str, Any], *, replace: bool) -> None:
        """The link rows of the linked array (one statement each way, none when there is nothing)."""
        if self.type.links is None:
            return
        if replace:
            conn.execute(delete(PARTY_TABLE).where(PARTY.account_id == resource_id))
        parties = self.type.linked_parties(doc)
        if parties:
            conn.execute(
                insert(PARTY_TABLE),
                [{"account_id": resource_id, "party_id": pid, "party_type": kind} for pid, kind in parties],
            )

    # -- events --------------------------------------------------------------------------------

    def _events(
        self, change: str, resource: dict[str, Any], at: datetime, field_path: str | None = None
    ) -> list[dict[str, Any]]:
        """The event of `change`, as the swagger shapes it, or none when the swagger names none."""
        event_type = self.registration.event_type(change)
        if event_type is None:
            return []
        body: dict[str, Any] = {"eventId": new_id(), "eventTime": instant_key(at), "eventType": event_type}
        if field_path is not None:
            body["fieldPath"] = field_path
        body[self.api.event_member] = {self.kind: resource}
        return [body]

    @staticmethod
    def _write_events(conn: Connection, resource_id: str, events: Sequence[dict[str, Any]]) -> None:
        if not events:
            return
        now = _now()
        conn.execute(
            insert(OUTBOX_TABLE),
            [
                {
                    "event_id": event["eventId"],
                    "event_type": event["eventType"],
                    # The outbox's `customer_id` holds the id of whichever resource changed.
                    "customer_id": resource_id,
                    "body": dumps(event),
                    "created_at": now,
                }
                for event in events
            ],
        )


def accept_event(api: Api, event_type: str, body: Any) -> dict[str, Any]:
    """The client side of a hub's contract (`/listener/<eventType>`): an event of the listener's type,
    carrying its resource where the API's events carry it."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object (the event)", field="body")
    sent = body.get("eventType")
    if sent is not None and sent != event_type:
        raise Invalid(f"eventType '{sent}' was sent to the listener of {event_type}", field="eventType")
    model = ACCOUNT_EVENT_MODELS.get(event_type)
    if model is not None:
        validate(model, body)
    return body
