"""The store: engines and the way statements reach the database, per Settings.

Every unit of work is a plain synchronous function over a SQLAlchemy `Connection`, so the same
code runs on both databases:

* PostgreSQL: an AsyncEngine over asyncpg; the function runs through `AsyncConnection.run_sync`.
* SQLite: aiosqlite would hop to a thread for every cursor call. Instead, writes run whole on one
  dedicated writer thread, group-committed (see `SqliteStore._drain`): writers are serialized
  there, so SQLite never answers "database is locked", and one commit serves every write queued
  meanwhile. List reads run on a small reader pool, and the primary-key lookup of the hot path
  runs inline on a read-only connection (WAL readers never wait for the writer).
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, QueuePool

from app.settings import Settings

T = TypeVar("T")
# A queued unit of work: the function, the future of its caller, and the caller's event loop.
_Unit = tuple[Callable[[Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode: a commit survives the process being killed (it is in the WAL file);
    # only a power loss can take the last transactions.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def sync_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return str(url.set(drivername="sqlite"))
    return str(url.set(drivername="postgresql+asyncpg"))


def async_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    return url.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _apply_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.cancelled():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class Store:
    """Runs units of work against the configured database."""

    dialect: str

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in one transaction, committed when it returns, rolled back when it raises."""
        raise NotImplementedError

    async def read(self, fn: Callable[[Connection], T]) -> T:
        raise NotImplementedError

    async def fetch_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """The first row of a fixed, parameterised SQL text (`?` placeholders): the hot path."""
        raise NotImplementedError

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """The rows of a fixed, parameterised SQL text (`?` placeholders), below the ORM."""
        raise NotImplementedError

    async def fetch_count(self, sql: str, params: tuple[Any, ...]) -> int:
        """The single integer a `SELECT count(*) ...` text answers."""
        return int((await self.fetch_all(sql, params))[0][0])

    async def ping(self) -> None:
        await self.read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def dispose(self) -> None:
        raise NotImplementedError


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
        event.listen(engine, "connect", _apply_pragmas)
        return engine

    def _hot_connection(self) -> sqlite3.Connection:
        if self._hot is None:
            conn = sqlite3.connect(self._path, check_same_thread=False, timeout=5, isolation_level=None)
            _apply_pragmas(conn, None)
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
        for (_fn, future, loop), (ok, value) in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, future, ok, value)

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

    async def dispose(self) -> None:
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)
        self._writer_engine.dispose()
        self._reader_engine.dispose()
        if self._hot is not None:
            self._hot.close()
            self._hot = None


class PostgresStore(Store):
    """Units of work through SQLAlchemy over asyncpg; the fixed SQL texts of the hot paths straight
    through an asyncpg pool of their own (prepared statements cached per connection, no SQLAlchemy
    connection wrapper per read)."""

    dialect = "postgresql"

    def __init__(self, settings: Settings, pool_size: int = 16) -> None:
        # Pools as large as the concurrency they serve: overflow connections would be opened and
        # closed per request under load.
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_url),
            pool_size=pool_size,
            max_overflow=8,
            json_serializer=json_text,
        )
        self._dsn = make_url(settings.database_url).set(drivername="postgresql")
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def write(self, fn: Callable[[Connection], T]) -> T:
        async with self.engine.begin() as conn:
            return await conn.run_sync(fn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        async with self.engine.connect() as conn:
            return await conn.run_sync(fn)

    async def _hot(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn.render_as_string(hide_password=False),
                        min_size=1,
                        max_size=self._pool_size,
                        reset=_keep_session,
                    )
        return self._pool

    async def fetch_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        record = await (await self._hot()).fetchrow(_numbered(sql), *params)
        return tuple(record) if record is not None else None

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        records = await (await self._hot()).fetch(_numbered(sql), *params)
        return [tuple(record) for record in records]

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.engine.dispose()


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """The hot pool only runs single SELECTs outside transactions: no session state to reset, so no
    reset round trip each time a connection goes back to the pool."""


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2, ...` (the fixed SQL texts hold no `?` in literals)."""
    parts = sql.split("?")
    return "".join(f"{part}${index}" for index, part in enumerate(parts[:-1], 1)) + parts[-1]


def create_store(settings: Settings) -> Store:
    if settings.is_sqlite:
        return SqliteStore(settings)
    return PostgresStore(settings)


def create_migration_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(async_url(settings.database_url), poolclass=NullPool)
