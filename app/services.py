"""CustomerService: the use cases both doors call. Each write is one transaction."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Select, Text, cast, delete, exc, func, insert, select, type_coerce, update
from sqlalchemy.dialects import postgresql, sqlite

from app.domain.errors import NotFound, PreconditionFailed
from app.domain.events import CHANGE_EVENT, CREATE_EVENT, DELETE_EVENT, STATE_EVENT
from app.domain.ids import new_id, storable
from app.domain.patch import PatchFormat, apply_patch
from app.domain.resource import CUSTOMER_TYPE, indexed_columns, instant_key, validate_customer, with_defaults
from app.query.model import CustomerQuery
from app.query.plain import PlainQuery, compiled_query, plain_query
from app.query.sql import order_by, where_clause
from app.store.base import Store
from app.store.outage import is_unreachable
from app.store.sqlite import Inserts, SqliteStore
from app.store.tables import Customer, CustomerAccount, EventOutbox

T = TypeVar("T")

CUSTOMER = Customer.__table__.c  # type: ignore[attr-defined]
CUSTOMER_TABLE = Customer.__table__
OUTBOX_TABLE = EventOutbox.__table__
LINK_TABLE = CustomerAccount.__table__  # type: ignore[attr-defined]


# Statements built once: executing a constant statement with parameters hits SQLAlchemy's
# compiled cache without rebuilding a cache key from the values on every write.
_INSERT_CUSTOMER = insert(CUSTOMER_TABLE)
_INSERT_EVENT = insert(OUTBOX_TABLE)
_INSERT_LINKS = insert(LINK_TABLE)

# Filters whose counts are remembered at once (PostgreSQL): past it, they are all forgotten.
MAX_COUNTS = 4096
MAX_PLANS = 1024

_HOT_SQL = {
    "sqlite": "SELECT doc, version FROM customer WHERE id = ?",
    "postgresql": "SELECT doc::text, version FROM customer WHERE id = ?",
}


_EVENT_COLUMNS = ("event_id", "event_type", "customer_id", "body", "created_at")
# SQLite stores date-times as the text its SQLAlchemy type writes: the rows bind the same text.
_SQLITE_DATETIME = CUSTOMER_TABLE.c.created_at.type.dialect_impl(sqlite.dialect()).bind_processor(
    sqlite.dialect()
)


# SQLite: a create is one row of a temporary view of the writer's connection, whose trigger inserts the
# customer, its links to accounts (from the JSON array `links`) and its event. The creates queued
# together are then one INSERT, which SQLite runs as one call and commits by itself (app.store.sqlite).
_NEW_CUSTOMER = "new_customer"
_CUSTOMER_COLUMNS = tuple(column.name for column in CUSTOMER_TABLE.columns if column.name != "seq")
_NEW_CUSTOMER_COLUMNS = (
    *_CUSTOMER_COLUMNS,
    "links",
    "event_id",
    "event_type",
    "event_body",
    "event_created_at",
)


def _new_customer_schema() -> tuple[str, str]:
    """The view `_NEW_CUSTOMER` and its trigger, for SqliteStore.add_writer_schema."""
    trigger = (
        f"CREATE TEMP TRIGGER {_NEW_CUSTOMER}_insert INSTEAD OF INSERT ON {_NEW_CUSTOMER} BEGIN "
        f"INSERT INTO {CUSTOMER_TABLE.name} ({', '.join(_CUSTOMER_COLUMNS)})"
        f" VALUES ({', '.join(f'NEW.{column}' for column in _CUSTOMER_COLUMNS)}); "
        f"INSERT INTO {LINK_TABLE.name} (customer_id, account_id)"
        " SELECT NEW.id, value FROM json_each(NEW.links) WHERE NEW.links IS NOT NULL; "
        f"INSERT INTO {OUTBOX_TABLE.name} ({', '.join(_EVENT_COLUMNS)})"
        " VALUES (NEW.event_id, NEW.event_type, NEW.id, NEW.event_body, NEW.event_created_at); "
        "END"
    )
    return _temp_view(_NEW_CUSTOMER, _NEW_CUSTOMER_COLUMNS), trigger


def _temp_view(name: str, columns: tuple[str, ...]) -> str:
    """A view of the writer's connection with these columns and no rows: what its INSTEAD OF trigger does
    with an inserted row is the write."""
    nulls = ", ".join(["NULL"] * len(columns))
    return f"CREATE TEMP VIEW {name} ({', '.join(columns)}) AS SELECT {nulls} WHERE 0"


# SQLite: a patch or a delete is a row of a temporary view too, written by the writer process as a create is,
# holding the version the service read the customer at: the trigger changes the customer only if that is
# still its version, and otherwise aborts with _STALE; the service then makes the change the locked way, on
# the writer thread (`_locked`). Run on the writer thread every time, a patch held SQLite's lock while the
# thread waited for the GIL, and the writer process's creates waited for the lock: at 5% patches, the mixed
# load's p99 went from about 3 to 5.9 times its p50.
_STALE = "tmf629: the customer changed since it was read"
_PATCHED_CUSTOMER = "patched_customer"
_DELETED_CUSTOMER = "deleted_customer"
_SET_COLUMNS = ("doc", "version", "updated_at", *indexed_columns({}))
# `links`: the new account ids as a JSON array, or NULL when they did not change; `events`: a JSON array of
# [event_id, event_type, body] (`_event_rows`), all created `at`.
_PATCHED_COLUMNS = ("id", "expected", *_SET_COLUMNS, "links", "events", "at")
_DELETED_COLUMNS = ("id", "expected", "events", "at")


def _changed_customer_schema() -> tuple[str, ...]:
    """The views `_PATCHED_CUSTOMER` and `_DELETED_CUSTOMER` and their triggers (add_writer_schema)."""
    stale = f"SELECT RAISE(ABORT, '{_STALE}') WHERE changes() = 0; "
    events = (
        f"INSERT INTO {OUTBOX_TABLE.name} ({', '.join(_EVENT_COLUMNS)})"
        " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), NEW.id,"
        " json_extract(value, '$[2]'), NEW.at FROM json_each(NEW.events); "
    )
    patched = (
        f"CREATE TEMP TRIGGER {_PATCHED_CUSTOMER}_insert INSTEAD OF INSERT ON {_PATCHED_CUSTOMER} BEGIN "
        f"UPDATE {CUSTOMER_TABLE.name} SET {', '.join(f'{column} = NEW.{column}' for column in _SET_COLUMNS)}"
        " WHERE id = NEW.id AND version = NEW.expected; "
        f"{stale}"
        f"DELETE FROM {LINK_TABLE.name} WHERE NEW.links IS NOT NULL AND customer_id = NEW.id; "
        f"INSERT INTO {LINK_TABLE.name} (customer_id, account_id)"
        " SELECT NEW.id, value FROM json_each(NEW.links); "
        f"{events}END"
    )
    deleted = (
        f"CREATE TEMP TRIGGER {_DELETED_CUSTOMER}_insert INSTEAD OF INSERT ON {_DELETED_CUSTOMER} BEGIN "
        f"DELETE FROM {CUSTOMER_TABLE.name} WHERE id = NEW.id AND version = NEW.expected; "
        f"{stale}{events}END"
    )
    return (
        _temp_view(_PATCHED_CUSTOMER, _PATCHED_COLUMNS),
        patched,
        _temp_view(_DELETED_CUSTOMER, _DELETED_COLUMNS),
        deleted,
    )


def _insert_sql(view: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {view} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_PATCH_SQL = _insert_sql(_PATCHED_CUSTOMER, _PATCHED_COLUMNS)
_DELETE_SQL = _insert_sql(_DELETED_CUSTOMER, _DELETED_COLUMNS)


def _event_rows(events: list[dict[str, Any]]) -> str:
    return dumps([[event["eventId"], event["eventType"], dumps(event)] for event in events])


def _sqlite_create(
    row: dict[str, Any], doc_json: str, links: list[str], event: tuple[str, str, str, str, datetime]
) -> Inserts:
    """SQLite: the row creating one customer, its account links and its event (`_NEW_CUSTOMER`), for the
    writer to insert with those of the other creates queued with it (app.store.sqlite): no statement
    building, no re-encoding of the document, no SQLAlchemy execution on the writer thread. The event is
    stamped with the row's creation instant, as `create` makes it."""
    stamp = _SQLITE_DATETIME(row["created_at"])
    values = {**row, "doc": doc_json, "created_at": stamp, "updated_at": stamp}
    event_id, event_type, _customer_id, body, _at = event
    added = (dumps(links) if links else None, event_id, event_type, body, stamp)
    return Inserts(
        (_NEW_CUSTOMER, _NEW_CUSTOMER_COLUMNS, [(*(values[column] for column in _CUSTOMER_COLUMNS), *added)])
    )


@functools.lru_cache(maxsize=8)
def _create_many_sql(columns: tuple[str, ...]) -> str:
    """PostgreSQL: new customers, their account links and their event rows as ONE statement over arrays (one
    element per customer), so one round trip and one implicit transaction for the lot, committed before
    PostgreSQL answers. Every data-modifying CTE runs; the links' foreign key is checked at the end of the
    statement, when the customer rows are there."""
    dialect = postgresql.dialect()
    arrays = ", ".join(f"?::{CUSTOMER_TABLE.c[column].type.compile(dialect=dialect)}[]" for column in columns)
    return (
        f"WITH new_customers AS (INSERT INTO customer ({', '.join(columns)})"
        f" SELECT * FROM unnest({arrays})), "
        "links AS (INSERT INTO customer_account (customer_id, account_id)"
        " SELECT * FROM unnest(?::text[], ?::text[])) "
        "INSERT INTO event_outbox (event_id, event_type, customer_id, body, created_at)"
        " SELECT * FROM unnest(?::varchar[], ?::varchar[], ?::varchar[], ?::text[], ?::timestamptz[])"
    )


@dataclass
class _NewCustomer:
    """What creating one customer writes: its row (the document as JSON text), links and event row."""

    row: dict[str, Any]
    links: list[str]
    event: tuple[str, str, str, str, datetime]


class _GroupCommit:
    """PostgreSQL: the creates that arrive while a statement is being written go together into the next one:
    one round trip and one commit (one WAL flush) for all of them. Each caller is answered only once the
    statement holding its row has committed. A batch that fails is written again row by row, so that one
    bad row fails only its own caller; an unreachable database fails the whole batch at once."""

    MAX_BATCH = 256

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: list[tuple[_NewCustomer, asyncio.Future[None]]] = []
        self.task: asyncio.Task[None] | None = None

    async def write(self, item: _NewCustomer) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.queue.append((item, future))
        if self.task is None:
            self.task = asyncio.create_task(self._drain(), name="customer-group-commit")
        await future

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue[: self.MAX_BATCH], self.queue[self.MAX_BATCH :]
                await self._write(batch)
        except BaseException as error:  # cancelled at shutdown: no caller waits forever
            for _, future in self.queue:
                _settle(future, error)
            self.queue = []
            raise
        finally:
            self.task = None

    async def _write(self, batch: list[tuple[_NewCustomer, asyncio.Future[None]]]) -> None:
        items = [item for item, _ in batch]
        columns = tuple(items[0].row)
        links = [(item.row["id"], account) for item in items for account in item.links]
        params = (
            *([item.row[column] for item in items] for column in columns),
            [customer_id for customer_id, _ in links],
            [account for _, account in links],
            *(list(values) for values in zip(*(item.event for item in items), strict=True)),
        )
        try:
            await self.store.execute(_create_many_sql(columns), params)
        except BaseException as error:
            if len(batch) == 1 or not isinstance(error, Exception) or is_unreachable(error):
                for _, future in batch:
                    _settle(future, error)
                if not isinstance(error, Exception):
                    raise
                return
            for one in batch:
                await self._write([one])
            return
        for _, future in batch:
            _settle(future, None)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # its caller was cancelled
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def account_ids(doc: dict[str, Any]) -> list[str]:
    """The ids a customer's `account[]` lists, in order, without repeats: its links to accounts."""
    accounts = doc.get("account")
    if not accounts:
        return []
    return list(
        dict.fromkeys(a["id"] for a in accounts if isinstance(a, dict) and isinstance(a.get("id"), str))
    )


def _write_account_links(conn: Connection, customer_id: str, ids: list[str]) -> None:
    if ids:
        conn.execute(_INSERT_LINKS, [{"customer_id": customer_id, "account_id": a} for a in ids])


@dataclass(eq=False)
class CustomerRecord:
    """A stored customer: its id, its version (the ETag) and its document as JSON text."""

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

    def resource(self, href_base: str) -> dict[str, Any]:
        """The wire form: id and href first, then the document as the client sent it."""
        return {"id": self.id, "href": customer_href(href_base, self.id), **self.document}


def customer_href(href_base: str, customer_id: str) -> str:
    return f"{href_base}/customer/{customer_id}"


def etag_matches(header: str, etag: str) -> bool:
    """If-Match: `*` or a list of strong entity tags (weak tags never match)."""
    candidates = [part.strip() for part in header.split(",")]
    return "*" in candidates or etag in candidates


def changed_paths(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Attribute paths whose values differ (objects are compared member by member)."""
    if isinstance(old, dict) and isinstance(new, dict):
        paths: list[str] = []
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                paths.extend(changed_paths(old.get(name), new.get(name), f"{prefix}{name}."))
        return paths
    return [prefix.rstrip(".")]


@dataclass
class CustomerPage:
    records: list[CustomerRecord]
    total: int
    offset: int
    limit: int
    # The page as a REST JSON array, with its length, when `list` was given the hrefs' base and the database
    # wrote it (SQLite, queries on indexed columns); `records` is then empty.
    wire: bytes | None = None
    wire_count: int = 0

    @property
    def count(self) -> int:
        return self.wire_count if self.wire is not None else len(self.records)


def _customer_doc_text(dialect: str) -> Any:
    """The document column as JSON text (spliced into answers without re-encoding)."""
    return cast(CUSTOMER.doc, Text) if dialect == "postgresql" else type_coerce(CUSTOMER.doc, Text)


def page_total(query: CustomerQuery, found: int) -> int | None:
    """The total a page of `found` items tells without counting: a short page that is not past the end
    holds the last match. None when the matches must be counted."""
    if found < query.limit and (found or query.offset == 0):
        return query.offset + found
    return None


@dataclass(frozen=True)
class Statements:
    """The page and count statements app.query.sql builds for a query the fixed SQL cannot write."""

    page: Select[Any]
    count: Select[Any]


def kept_plan(
    plans: dict[Any, PlainQuery | Statements | None],
    key: Any,
    build: Callable[[], PlainQuery | Statements],
    dialect: str,
) -> PlainQuery | Statements:
    """The plan of a query, kept in `plans` (MAX_PLANS at most, then all are forgotten): the fixed SQL
    `build` gives, kept at once; or the statements it builds (app.query.sql), compiled to text when the same
    query is asked again (app.query.plain.compiled_query) and kept, to run as fixed SQL does. Building a
    filter's statements costs ten times what SQLite needs to run them. Compiling them to text costs more than
    SQLAlchemy's compiled cache, which serves a new value of a known shape, so a query asked once runs its
    statements as built and keeps only a mark: a stream of distinct values costs what it did."""
    plan = plans.get(key, _UNSEEN)
    if plan is not None and plan is not _UNSEEN:
        return plan  # type: ignore[return-value]
    made = kept = build()
    if isinstance(made, Statements):
        if plan is _UNSEEN:
            kept = None
        else:
            made = kept = compiled_query(made.page, made.count, dialect) or made
    if len(plans) >= MAX_PLANS:
        plans.clear()
    plans[key] = kept
    return made


_UNSEEN = object()


def _customer_record(row: Any) -> CustomerRecord:
    """A record of an (id, version, doc text) row."""
    return CustomerRecord(row[0], row[1], row[2])


async def run_plan(
    store: Store, plan: PlainQuery | Statements, query: CustomerQuery, record: Callable[[Any], T]
) -> tuple[list[T], int]:
    """The page of a plan's rows as records, and its total: the text as fixed SQL is run (`Store.fetch_all`,
    `fetch_count`), statements through SQLAlchemy (`Store.read`); the count only when the page does not
    tell the total (`page_total`)."""
    if isinstance(plan, PlainQuery):
        records = [record(row) for row in await store.fetch_all(plan.rows_sql, plan.rows_params)]
        total = page_total(query, len(records))
        if total is None:
            total = await store.fetch_count(plan.count_sql, plan.count_params)
        return records, total

    def run(conn: Connection) -> tuple[list[T], int]:
        records = [record(row) for row in conn.execute(plan.page)]
        total = page_total(query, len(records))
        return records, conn.execute(plan.count).scalar_one() if total is None else total

    return await store.read(run)


def _page_statements(query: CustomerQuery, dialect: str) -> PlainQuery | Statements:
    plain = plain_query(query, dialect)
    if plain is not None:
        return plain
    page = select(CUSTOMER.id, CUSTOMER.version, _customer_doc_text(dialect))
    counting = select(func.count()).select_from(CUSTOMER_TABLE)
    if query.filter is not None:
        condition = where_clause(query.filter, dialect)
        page, counting = page.where(condition), counting.where(condition)
    page = page.order_by(*order_by(query.sort, dialect)).offset(query.offset).limit(query.limit)
    return Statements(page, counting)


@dataclass
class CustomerService:
    store: Store
    # Called after each write's commit (app.events.hub: wakes the dispatcher; no work on the request path).
    on_commit: Callable[[], None] | None = None
    _doc_text: Any = field(init=False)
    _group_commit: _GroupCommit | None = field(init=False)
    # PostgreSQL: the last count of each filter, with the snapshot it was counted in (app.query.plain).
    _counts: dict[tuple[str, tuple[Any, ...]], tuple[str, int]] = field(init=False, default_factory=dict)
    # The SQL of each query seen (`kept_plan`): the fixed SQL of app.query.plain, or the statements of
    # app.query.sql compiled to text once asked again: a pure function of the query, made once
    # rather than on every request. Queries equal as keys get the same SQL and parameters: values are
    # coerced by kind, and equal date-times are one instant.
    _plans: dict[CustomerQuery, PlainQuery | Statements | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._doc_text = _customer_doc_text(self.store.dialect)
        self._hot_sql = _HOT_SQL[self.store.dialect]
        # SQLite group-commits in its writer thread already (app.store.sqlite).
        self._group_commit = _GroupCommit(self.store) if self.store.dialect == "postgresql" else None
        if isinstance(self.store, SqliteStore):
            self.store.add_writer_schema(*_new_customer_schema(), *_changed_customer_schema())

    # -- reads ---------------------------------------------------------------------------------

    async def get(self, customer_id: str) -> CustomerRecord:
        row = await self.store.fetch_row(self._hot_sql, (customer_id,)) if storable(customer_id) else None
        if row is None:
            raise NotFound(f"No customer with id '{customer_id}'")
        return CustomerRecord(customer_id, row[1], row[0])

    async def get_many(self, customer_ids: Sequence[str]) -> dict[str, CustomerRecord]:
        """Customers by id, in one statement (DataLoader batches)."""

        wanted = [customer_id for customer_id in customer_ids if storable(customer_id)]

        def run(conn: Connection) -> dict[str, CustomerRecord]:
            rows = conn.execute(
                select(CUSTOMER.id, CUSTOMER.version, self._doc_text).where(CUSTOMER.id.in_(wanted))
            )
            return {row[0]: _customer_record(row) for row in rows}

        return await self.store.read(run)

    async def list(self, query: CustomerQuery, href_base: str | None = None) -> CustomerPage:
        """One page of the customers matching the query and their total: at most two statements. With
        `href_base`, the page may come as wire JSON (`CustomerPage.wire`)."""
        dialect = self.store.dialect
        plan = self._plans.get(query)
        if not isinstance(plan, PlainQuery):  # kept fixed SQL, the hot path, without `kept_plan`'s call
            plan = kept_plan(self._plans, query, partial(_page_statements, query, dialect), dialect)
        if isinstance(plan, PlainQuery):
            return await self._list_plain(query, plan, href_base)
        records, total = await run_plan(self.store, plan, query, _customer_record)
        return CustomerPage(records, total, query.offset, query.limit)

    async def _list_plain(
        self, query: CustomerQuery, plain: PlainQuery, href_base: str | None
    ) -> CustomerPage:
        if plain.counted_sql is not None:  # PostgreSQL: the page and its total in one round trip
            key = (plain.count_sql, plain.count_params)
            known = self._counts.get(key)
            params = (known[0] if known is not None else "", *plain.counted_params)
            rows = await self.store.fetch_all(plain.counted_sql, params)
            records = [_customer_record(row) for row in rows]
            if rows:
                counted, snapshot = rows[0][3], rows[0][4]
                if counted is None and known is not None:  # counted in this very snapshot before
                    total = known[1]
                else:
                    total = int(counted)
                    if len(self._counts) >= MAX_COUNTS:
                        self._counts.clear()
                    self._counts[key] = (snapshot, total)
            elif query.offset == 0 and query.limit > 0:
                total = 0
            else:  # past the end, or no row asked for: the count alone
                total = await self.store.fetch_count(plain.count_sql, plain.count_params)
            return CustomerPage(records, total, query.offset, query.limit)
        wire = None
        if href_base is not None and plain.wire_sql is not None:
            params = (customer_href(href_base, ""), *plain.rows_params)
            ((found, wire),) = await self.store.fetch_all(plain.wire_sql, params)
            records = []
        else:
            rows = await self.store.fetch_all(plain.rows_sql, plain.rows_params)
            records = [_customer_record(row) for row in rows]
            found = len(records)
        total = page_total(query, found)
        if total is None:
            total = await self.store.fetch_count(plain.count_sql, plain.count_params)
        return CustomerPage(records, total, query.offset, query.limit, wire, found)

    # -- writes --------------------------------------------------------------------------------

    async def create(self, body: Any, href_base: str) -> CustomerRecord:
        validate_customer(body)
        doc = with_defaults(body)
        record = CustomerRecord(new_id(), 1, dumps(doc))
        record.__dict__["document"] = doc
        now = _now()
        values = _new_row(record.id, doc, now)
        event = _event(CREATE_EVENT, record.resource(href_base), now)
        event_row = (event["eventId"], event["eventType"], record.id, dumps(event), now)
        links = account_ids(doc)
        if self._group_commit is not None:  # PostgreSQL
            await self._group_commit.write(_NewCustomer({**values, "doc": record.doc_json}, links, event_row))
        else:  # SQLite: its writer thread group-commits (app.store.sqlite)
            assert isinstance(self.store, SqliteStore)
            await self.store.write(_sqlite_create(values, record.doc_json, links, event_row))
        if self.on_commit is not None:
            self.on_commit()
        return record

    async def create_many(self, bodies: Sequence[Any]) -> list[str]:
        """Bulk loading (`tmf629 seed`): each body through the same validation and into the same row shape
        as `create`, with the same links to accounts, all in one transaction, but without events: a bulk load
        is not business activity to announce to subscribers. The ids, in order."""
        now = _now()
        rows = []
        links = []
        for body in bodies:
            validate_customer(body)
            row = _new_row(new_id(), with_defaults(body), now)
            rows.append(row)
            links += [{"customer_id": row["id"], "account_id": a} for a in account_ids(row["doc"])]

        def run(conn: Connection) -> None:
            conn.execute(_INSERT_CUSTOMER, rows)
            if links:
                conn.execute(_INSERT_LINKS, links)

        await self.store.write(run)
        return [row["id"] for row in rows]

    async def patch(
        self,
        customer_id: str,
        patch_format: PatchFormat,
        patch: Any,
        href_base: str,
        if_match: str | None = None,
    ) -> CustomerRecord:
        if isinstance(self.store, SqliteStore):  # read here, written by the writer process if unchanged
            current = _matching(await self.get(customer_id), if_match)
            change = _patched(current, patch_format, patch, href_base)
            if change is None:
                return current
            stamp = _SQLITE_DATETIME(change.at)
            new = change.record
            params = (
                customer_id,
                current.version,
                new.doc_json,
                new.version,
                stamp,
                *indexed_columns(new.document).values(),
                None if change.links is None else dumps(change.links),
                _event_rows(change.events),
                stamp,
            )
            if await self._unless_stale(_PATCH_SQL, params):
                return new

        def run(conn: Connection) -> CustomerRecord:
            current = self._locked(conn, customer_id, if_match)
            change = _patched(current, patch_format, patch, href_base)
            if change is None:
                return current
            new = change.record
            conn.execute(
                update(CUSTOMER_TABLE)
                .where(CUSTOMER.id == customer_id)
                .values(
                    doc=new.document,
                    version=new.version,
                    updated_at=change.at,
                    **indexed_columns(new.document),
                )
            )
            if change.links is not None:  # the links follow account[] (deleted with the customer by cascade)
                conn.execute(delete(LINK_TABLE).where(LINK_TABLE.c.customer_id == customer_id))
                _write_account_links(conn, customer_id, change.links)
            _write_events(conn, customer_id, change.events, change.at)
            return new

        return await self._write(run)

    async def delete(self, customer_id: str, href_base: str, if_match: str | None = None) -> None:
        if isinstance(self.store, SqliteStore):  # as patch
            current = _matching(await self.get(customer_id), if_match)
            at = _now()
            events = [_event(DELETE_EVENT, current.resource(href_base), at)]
            params = (customer_id, current.version, _event_rows(events), _SQLITE_DATETIME(at))
            if await self._unless_stale(_DELETE_SQL, params):
                return

        def run(conn: Connection) -> None:
            current = self._locked(conn, customer_id, if_match)
            at = _now()
            conn.execute(delete(CUSTOMER_TABLE).where(CUSTOMER.id == customer_id))
            _write_events(conn, customer_id, [_event(DELETE_EVENT, current.resource(href_base), at)], at)

        await self._write(run)

    async def _unless_stale(self, sql: str, params: tuple[Any, ...]) -> bool:
        """SQLite: a change to one customer as a statement for the writer process, conditional on the version
        the service read it at. False if that version was no longer the customer's (nothing written)."""
        try:
            await self.store.execute(sql, params)
        except exc.IntegrityError:  # _STALE (or any other constraint: the locked way meets it again)
            return False
        self._committed()
        return True

    async def _write(self, run: Callable[[Connection], T]) -> T:
        result = await self.store.write(run)
        self._committed()
        return result

    def _committed(self) -> None:
        if self.on_commit is not None:
            self.on_commit()

    def _locked(self, conn: Connection, customer_id: str, if_match: str | None) -> CustomerRecord:
        """The current customer, locked for the rest of the transaction; checks If-Match."""
        if not storable(customer_id):
            raise NotFound(f"No customer with id '{customer_id}'")
        row = conn.execute(
            select(CUSTOMER.version, self._doc_text).where(CUSTOMER.id == customer_id).with_for_update()
        ).first()
        if row is None:
            raise NotFound(f"No customer with id '{customer_id}'")
        return _matching(CustomerRecord(customer_id, row[0], row[1]), if_match)


def _matching(record: CustomerRecord, if_match: str | None) -> CustomerRecord:
    """The record, if it matches If-Match (when given)."""
    if if_match is not None and not etag_matches(if_match, record.etag):
        raise PreconditionFailed(
            f"If-Match {if_match} does not match the current ETag {record.etag} of customer '{record.id}'"
        )
    return record


@dataclass
class _Change:
    """What a patch changes: the new record, when, its events, and the customer's account links if they
    changed (None if not)."""

    record: CustomerRecord
    at: datetime
    events: list[dict[str, Any]]
    links: list[str] | None


def _patched(
    current: CustomerRecord, patch_format: PatchFormat, patch: Any, href_base: str
) -> _Change | None:
    """The change a patch makes to the current customer, validated; None if it changes nothing."""
    old = current.document
    new = apply_patch(old, patch_format, patch, current.id)
    validate_customer(new)
    new = with_defaults(new)
    if new == old:
        return None
    record = CustomerRecord(current.id, current.version + 1, dumps(new))
    record.__dict__["document"] = new
    at = _now()
    resource = record.resource(href_base)
    events = [_event(CHANGE_EVENT, resource, at, ",".join(changed_paths(old, new)))]
    state = CUSTOMER_TYPE.lifecycle
    if state and old.get(state) != new.get(state):
        events.append(_event(STATE_EVENT, resource, at))
    links = account_ids(new)
    return _Change(record, at, events, links if links != account_ids(old) else None)


def _new_row(customer_id: str, doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new customer's row: the document and the indexed columns derived from it."""
    return {
        "id": customer_id,
        "doc": doc,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **indexed_columns(doc),
    }


def _now() -> datetime:
    return datetime.now(UTC)


def _event(
    event_type: str, customer: dict[str, Any], at: datetime, field_path: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": new_id(),
        "eventTime": instant_key(at),
        "eventType": event_type,
    }
    if field_path is not None:
        body["fieldPath"] = field_path
    body["event"] = {"customer": customer}
    return body


def _write_events(conn: Connection, customer_id: str, events: list[dict[str, Any]], at: datetime) -> None:
    conn.execute(
        _INSERT_EVENT,
        [
            {
                "event_id": event["eventId"],
                "event_type": event["eventType"],
                "customer_id": customer_id,
                "body": dumps(event),
                "created_at": at,
            }
            for event in events
        ],
    )
