"""SqliteStore: group-committed writes on one writer thread, inline reads with a step budget, and
counts remembered under `PRAGMA data_version` (see app.store.base for the why)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool

from app.settings import Settings
from app.store.base import Store, apply_pragmas, json_text, sync_url

T = TypeVar("T")
# A queued unit of work: the function, the future of its caller, and the caller's event loop.
_Unit = tuple[Callable[[Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(outcomes: list[tuple[asyncio.Future[Any], bool, Any]]) -> None:
    for future, ok, value in outcomes:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def _temp_store_in_memory(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA temp_store=MEMORY")


class SqliteStore(Store):
    dialect = "sqlite"
    MAX_BATCH = 256
    # Inline statements may run INLINE_BUDGET x INLINE_STEP virtual-machine steps (about a millisecond)
    # before SQLite interrupts them; an interrupted read is run again on the reader pool.
    INLINE_STEP = 1000
    INLINE_BUDGET = 100
    MAX_COUNTS = 4096

    def __init__(self, settings: Settings) -> None:
        url = sync_url(settings.database_url)
        self._path = make_url(url).database or ""
        self._writer_engine = self._engine(url, pool_size=1)
        # The writer's statement journals (a write touching several indexes, the array-term triggers)
        # stay in memory: on disk each write opened and deleted a temporary file.
        event.listen(self._writer_engine, "connect", _temp_store_in_memory)
        self._reader_engine = self._engine(url, pool_size=2)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._readers = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sqlite-reader")
        self._hot: sqlite3.Connection | None = None
        self._budget = 0
        self._counts: dict[tuple[str, tuple[Any, ...]], int] = {}
        self._counts_version: int | None = None
        self.batches_committed = 0  # transactions the writer committed (each for one or more writes)
        self.inline_interrupted = 0  # inline reads that ran out of budget and went to the reader pool
        self._pending: deque[_Unit] = deque()
        self._draining = False

    @staticmethod
    def _engine(url: str, pool_size: int) -> Engine:
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"check_same_thread": False, "timeout": 5},
            json_serializer=json_text,
        )
        event.listen(engine, "connect", apply_pragmas)
        return engine

    def _hot_connection(self) -> sqlite3.Connection:
        if self._hot is None:
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=5, isolation_level=None)
            apply_pragmas(conn, None)
            conn.execute("PRAGMA query_only=ON")
            conn.set_progress_handler(self._spend, self.INLINE_STEP)
            self._hot = conn
        return self._hot

    def _spend(self) -> int:
        """SQLite's progress handler on the inline connection: interrupt once the budget is spent."""
        self._budget -= 1
        return 1 if self._budget < 0 else 0

    async def write(self, fn: Callable[[Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((fn, future, loop))
        if not self._draining:
            self._draining = True
            self._writer.submit(self._drain)
        return await future

    def _drain(self) -> None:
        """Group commit, on the writer thread: every unit of work queued so far runs in one
        transaction, each inside its own savepoint, so a failing unit rolls back alone. Callers
        hear back only after the COMMIT. One commit (and one thread hand-off) serves many writes."""
        while True:
            batch = []
            while self._pending and len(batch) < self.MAX_BATCH:
                batch.append(self._pending.popleft())
            if not batch:
                self._draining = False
                if not self._pending:  # a write queued after the check: drain it too
                    return
                self._draining = True
                continue
            self._commit_batch(batch)

    def _commit_batch(self, batch: list[_Unit]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._writer_engine.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                raw = conn.connection.driver_connection
                assert raw is not None
                try:
                    if len(batch) == 1:  # alone, the transaction is its savepoint: no statement journal
                        outcomes.append((True, batch[0][0](conn)))
                    else:
                        for fn, _future, _loop in batch:
                            raw.execute("SAVEPOINT unit")
                            try:
                                outcomes.append((True, fn(conn)))
                            except Exception as error:
                                raw.execute("ROLLBACK TO unit")
                                outcomes.append((False, error))
                            raw.execute("RELEASE unit")
                except BaseException:
                    conn.rollback()
                    raise
                conn.commit()
                self.batches_committed += 1
        except Exception as error:  # the transaction itself failed: every unit in it failed
            outcomes = [(False, error)] * len(batch)
        # One wake-up per event loop for the whole batch, not one per unit of work.
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], bool, Any]]] = {}
        for (_fn, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, ok, value))
        for loop, settled in by_loop.items():
            loop.call_soon_threadsafe(_settle, settled)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self._reader_engine.connect() as conn:
                return fn(conn)

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    async def fetch_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        # A primary-key lookup: inline, and one step of the statement (fetchall would take a second).
        self._budget = self.INLINE_BUDGET
        row: tuple[Any, ...] | None = self._hot_connection().execute(sql, params).fetchone()
        return row

    async def fetch_count(self, sql: str, params: tuple[Any, ...]) -> int:
        """Counts are remembered until the database changes. `PRAGMA data_version` on the inline
        connection moves with every commit of any other connection, this process's writer and other
        processes alike, so a remembered count is always the current one. Counting the matches of a
        filter costs in proportion to their number; a page of them does not."""
        version = self._hot_connection().execute("PRAGMA data_version").fetchone()[0]
        if version != self._counts_version or len(self._counts) >= self.MAX_COUNTS:
            self._counts.clear()
            self._counts_version = version
        key = (sql, params)
        count = self._counts.get(key)
        if count is None:
            count = await super().fetch_count(sql, params)
            self._counts[key] = count
        return count

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        # Inline on the event loop: an indexed read on a WAL reader costs microseconds, far less than a
        # hop to a thread and back. The progress budget keeps a read that turns out long from stalling
        # the loop: SQLite interrupts it, and the reader pool runs it instead.
        self._budget = self.INLINE_BUDGET
        try:
            rows: list[tuple[Any, ...]] = self._hot_connection().execute(sql, params).fetchall()
            return rows
        except sqlite3.OperationalError as error:
            if "interrupt" not in str(error):
                raise
            self.inline_interrupted += 1

        def run() -> list[tuple[Any, ...]]:
            raw = self._reader_engine.raw_connection()
            try:
                result: list[tuple[Any, ...]] = raw.cursor().execute(sql, params).fetchall()
                return result
            finally:
                raw.close()

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    def sql_engines(self) -> list[Engine]:
        return [self._writer_engine, self._reader_engine]

    def pool_in_use(self) -> int:
        """Writes queued for the writer thread (SQLite's only contended resource)."""
        return len(self._pending)

    async def dispose(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._writer_engine.dispose()
        self._reader_engine.dispose()
        if self._hot is not None:
            self._hot.close()
            self._hot = None
