"""Seeding through the service's own bulk path, the fast path of `tmf629 seed`.

Each batch goes through `CustomerService.create_many` (SEED_BATCH bodies a transaction, each validated
and turned into its row as `create` does, no event rows: these customers were not created through the
API), so the benchmark measures the rows the service writes, not a copy of them. A progress bar goes
to stderr.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, create_engine, delete, func, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.cli import SEED_BATCH
from app.services import CustomerService
from app.settings import Settings
from app.store.base import async_url, json_text, sync_url
from app.store.factory import create_store
from app.store.tables import Customer, EventOutbox
from bench.data import POSTED_NAME, customer_body

CUSTOMER_TABLE = Customer.__table__  # type: ignore[attr-defined]
OUTBOX_TABLE = EventOutbox.__table__  # type: ignore[attr-defined]


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


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(CUSTOMER_TABLE)).scalar_one())


def _autovacuum(conn: Connection) -> bool:
    return conn.execute(text("SHOW autovacuum")).scalar_one() == "on"


def _truncate(conn: Connection) -> list[str]:
    """Empty every table of the service (customers, outbox, subscriptions, deliveries): no subscriber
    left from earlier use gets the benchmark's events."""
    names = sorted(name for name in inspect(conn).get_table_names() if name != "alembic_version")
    assert CUSTOMER_TABLE.name in names and OUTBOX_TABLE.name in names, names
    conn.execute(text(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE"))
    return names


def _forget_writes(conn: Connection) -> int:
    """The customers the measured POSTs created, and every event row: gone, so that each measurement
    starts from the seeded table and no dispatcher fans out earlier runs' events during the next one."""
    gone = conn.execute(delete(CUSTOMER_TABLE).where(CUSTOMER_TABLE.c.name == POSTED_NAME)).rowcount
    conn.execute(delete(OUTBOX_TABLE))
    return int(gone or 0)


class Seeder:
    """Fills the customer table of one database up to a given size; remembers the first ids it made."""

    def __init__(self, database_url: str, keep_ids: int = 500) -> None:
        self.database_url = database_url
        self.is_sqlite = database_url.startswith("sqlite")
        self.keep_ids = keep_ids
        self.ids: list[str] = []
        self.sample: list[str] = []  # a few ids of every batch: reads spread over the whole table

    def _sqlite(self, work: Callable[[Connection], Any]) -> Any:
        engine = create_engine(sync_url(self.database_url), json_serializer=json_text)
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

    def autovacuum(self) -> bool | None:
        """PostgreSQL: whether the server vacuums tables on its own (`SHOW autovacuum`); None on SQLite."""
        if self.is_sqlite:
            return None
        return self._run(_autovacuum)

    def truncate(self) -> list[str]:
        """PostgreSQL only: empty the service's tables (SQLite gets a fresh file instead)."""
        return list(self._run(_truncate))

    def forget_writes(self) -> int:
        """Delete what the measured writes added (no server may be running); returns the customers gone."""
        gone = int(self._run(_forget_writes))
        if gone:
            self.settle()
        return gone

    def settle(self) -> None:
        """After a bulk load: on PostgreSQL, VACUUM ANALYZE, as an operator would and as autovacuum does
        after enough inserts (planner statistics, and the visibility map that lets a count be an index-only
        scan: measured 6.4 ms -> 0.9 ms for a page and its count at 100,000 customers); then the written
        pages flushed, so that none of it runs during the measurement that follows."""
        if not self.is_sqlite:
            self._autocommit("VACUUM ANALYZE customer")
            try:
                self._autocommit("CHECKPOINT")
            except DBAPIError:
                pass  # CHECKPOINT needs a superuser or pg_checkpoint; the flush is a nicety
        os.sync()

    def _autocommit(self, sql: str) -> None:
        async def run() -> None:
            engine = create_async_engine(async_url(self.database_url), isolation_level="AUTOCOMMIT")
            try:
                async with engine.connect() as conn:
                    await conn.execute(text(sql))
            finally:
                await engine.dispose()

        asyncio.run(run())

    def fill(self, size: int) -> float:
        """Create customers until the table holds `size`, through `CustomerService.create_many` in
        batches of SEED_BATCH (one transaction each); returns the seconds it took."""
        start = self.count()
        if start >= size:
            return 0.0
        progress = Progress(f"seeding {size:>9,}", size, start)
        asyncio.run(self._fill(start, size, progress))
        return progress.finish()

    async def _fill(self, start: int, size: int, progress: Progress) -> None:
        store = create_store(Settings(database_url=self.database_url))
        service = CustomerService(store)
        try:
            for first in range(start, size, SEED_BATCH):
                bodies = [customer_body(index) for index in range(first, min(first + SEED_BATCH, size))]
                ids = await service.create_many(bodies)
                missing = self.keep_ids - len(self.ids)
                if missing > 0:
                    self.ids.extend(ids[:missing])
                self.sample.extend(ids[:: max(1, len(ids) // 5)])
                progress.advance(len(ids))
        finally:
            await store.dispose()
