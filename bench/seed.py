"""Bulk seeding: customer rows derived as CustomerService.create derives them, inserted without HTTP.

A million customers through the API would take longer than the benchmark itself. Each row gets the
service's column derivation (with_defaults, indexed_columns; validate_customer on a sample), a uuid id,
version 1 and created/updated timestamps; no event rows, as these customers were not created through the
service. SQLite: SQLAlchemy Core executemany, BATCH rows per transaction. PostgreSQL: COPY, BATCH rows
per statement. A progress bar goes to stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from queue import Queue
from typing import Any

import asyncpg
from sqlalchemy import Connection, create_engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.domain.resource import indexed_columns, validate_customer, with_defaults
from app.store.base import async_url, json_text, sync_url
from app.store.tables import Customer, EventOutbox
from bench.data import customer_body

CUSTOMER_TABLE = Customer.__table__  # type: ignore[attr-defined]
OUTBOX_TABLE = EventOutbox.__table__  # type: ignore[attr-defined]
BATCH = 10_000
# validate_customer walks the whole document (~60% of the seeding time when run on every row); the bodies
# differ only in their values, so the first rows and one in VALIDATE_EVERY after them are validated.
VALIDATE_EVERY = 1_000
# Seeding-only pragmas for the bulk load; the server opens its own connections with its own pragmas.
SQLITE_LOAD_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA cache_size=-524288")


class Progress:
    """A one-line text progress bar on stderr (redrawn at most every 0.2 s)."""

    def __init__(self, label: str, total: int, done: int = 0, width: int = 30) -> None:
        self.label, self.total, self.done, self.width = label, total, done, width
        self.start_done = done
        self.started = time.monotonic()
        self.drawn = 0.0
        self.draw()

    def advance(self, count: int) -> None:
        self.done += count
        if time.monotonic() - self.drawn >= 0.2 or self.done >= self.total:
            self.draw()

    def draw(self) -> None:
        self.drawn = time.monotonic()
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * self.width)
        elapsed = max(self.drawn - self.started, 1e-9)
        rate = (self.done - self.start_done) / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        sys.stderr.write(
            f"\r  {self.label} [{'#' * filled}{'.' * (self.width - filled)}] {fraction * 100:5.1f}% "
            f"{self.done:>9,}/{self.total:,}  {rate:8,.0f} rows/s  ETA {eta:4.0f}s "
        )
        sys.stderr.flush()

    def finish(self) -> float:
        self.draw()
        sys.stderr.write("\n")
        sys.stderr.flush()
        return time.monotonic() - self.started


def customer_rows(start: int, stop: int) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = []
    for index in range(start, stop):
        body = customer_body(index)
        if index < VALIDATE_EVERY or index % VALIDATE_EVERY == 0:
            validate_customer(body)
        doc = with_defaults(body)
        rows.append(
            {
                "id": str(uuid.uuid4()),
                "doc": doc,
                "version": 1,
                "created_at": now,
                "updated_at": now,
                **indexed_columns(doc),
            }
        )
    return rows


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    conn.execute(insert(CUSTOMER_TABLE), rows)


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(CUSTOMER_TABLE)).scalar_one())


def _truncate(conn: Connection) -> list[str]:
    """Empty every table of the service (customers, outbox, subscriptions, deliveries): no subscriber
    left from earlier use gets the benchmark's events."""
    names = sorted(name for name in inspect(conn).get_table_names() if name != "alembic_version")
    assert CUSTOMER_TABLE.name in names and OUTBOX_TABLE.name in names, names
    conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    return names


class Seeder:
    """Fills the customer table of one database up to a given size; remembers the first ids it made."""

    def __init__(self, database_url: str, keep_ids: int = 500) -> None:
        self.database_url = database_url
        self.is_sqlite = database_url.startswith("sqlite")
        self.keep_ids = keep_ids
        self.ids: list[str] = []

    def _batches(self, start: int, size: int) -> Iterator[list[dict[str, Any]]]:
        for first in range(start, size, BATCH):
            rows = customer_rows(first, min(first + BATCH, size))
            missing = self.keep_ids - len(self.ids)
            if missing > 0:
                self.ids.extend(row["id"] for row in rows[:missing])
            yield rows

    def _sqlite(self, work: Callable[[Connection], Any]) -> Any:
        engine = create_engine(sync_url(self.database_url), json_serializer=json_text)

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            for pragma in SQLITE_LOAD_PRAGMAS:
                dbapi_connection.execute(pragma)

        event.listen(engine, "connect", pragmas)
        try:
            with engine.connect() as conn:
                result = work(conn)
                conn.commit()
                return result
        finally:
            engine.dispose()

    async def _postgres(self, work: Callable[[Connection], Any]) -> Any:
        engine = create_async_engine(async_url(self.database_url), json_serializer=json_text)
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(work)
        finally:
            await engine.dispose()

    def _run(self, work: Callable[[Connection], Any]) -> Any:
        """Run `work` in one transaction, on a sync engine (SQLite) or an async one (PostgreSQL)."""
        if self.is_sqlite:
            return self._sqlite(work)
        return asyncio.run(self._postgres(work))

    def count(self) -> int:
        return int(self._run(_count))

    def truncate(self) -> list[str]:
        """PostgreSQL only: empty the customer and event tables (SQLite gets a fresh file instead)."""
        return list(self._run(_truncate))

    def settle(self) -> None:
        """After a bulk load: planner statistics refreshed (PostgreSQL, as an operator would) and the
        written pages flushed, so that neither runs during the measurement that follows."""
        if not self.is_sqlite:
            self._run(lambda conn: conn.execute(text("ANALYZE customer")))
            try:
                self._run(lambda conn: conn.execute(text("CHECKPOINT")))
            except DBAPIError:
                pass  # CHECKPOINT needs a superuser or pg_checkpoint; the flush is a nicety
        os.sync()

    def fill(self, size: int) -> float:
        """Insert customers until the table holds `size`, BATCH rows per transaction; returns seconds.

        The rows of the next batch are built on a thread while the database takes the current one.
        """
        start = self.count()
        if start >= size:
            return 0.0
        progress = Progress(f"seeding {size:>9,}", size, start)
        batches = _prefetched(self._batches(start, size))
        if self.is_sqlite:

            def load(conn: Connection) -> None:
                for rows in batches:
                    _insert(conn, rows)
                    conn.commit()
                    progress.advance(len(rows))

            self._sqlite(load)
        else:
            asyncio.run(self._copy(batches, progress))
        return progress.finish()

    async def _copy(self, batches: Iterator[list[dict[str, Any]]], progress: Progress) -> None:
        """PostgreSQL: COPY each batch (its own transaction); twice as fast as executemany here, whose
        multi-row INSERTs spend most of their time in SQLAlchemy and asyncpg encoding on one core."""
        dsn = make_url(self.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        connection = await asyncpg.connect(dsn)
        try:
            for rows in batches:
                records = [tuple(_copy_value(name, row[name]) for name in COPY_COLUMNS) for row in rows]
                await connection.copy_records_to_table("customer", records=records, columns=COPY_COLUMNS)
                progress.advance(len(rows))
        finally:
            await connection.close()


COPY_COLUMNS = [c.name for c in CUSTOMER_TABLE.columns if c.name != "seq"]


def _copy_value(name: str, value: Any) -> Any:
    if name == "doc":
        return json_text(value)  # the service's serializer, as its engine's json_serializer
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # asyncpg reads a naive value as UTC
    return value


def _prefetched(batches: Iterator[list[dict[str, Any]]], depth: int = 2) -> Iterator[list[dict[str, Any]]]:
    """The same batches, built ahead on a thread (at most `depth` waiting)."""
    queue: Queue[list[dict[str, Any]] | BaseException | None] = Queue(maxsize=depth)

    def produce() -> None:
        try:
            for batch in batches:
                queue.put(batch)
        except BaseException as error:  # handed to the consumer, raised there
            queue.put(error)
        else:
            queue.put(None)

    thread = threading.Thread(target=produce, name="bench-seed-rows", daemon=True)
    thread.start()
    while (item := queue.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()
