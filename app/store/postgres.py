"""PostgresStore: units of work through SQLAlchemy over asyncpg, hot reads through an asyncpg pool."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Connection, Engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings
from app.store.base import Store, async_url, json_text
from app.store.outage import Outage, is_unreachable

T = TypeVar("T")


class PostgresStore(Store):
    """Units of work through SQLAlchemy over asyncpg; the fixed SQL texts of the hot paths straight
    through an asyncpg pool of their own (prepared statements cached per connection, no SQLAlchemy
    connection wrapper per read)."""

    dialect = "postgresql"
    # Seconds to wait for a connection: an unreachable server answers 503 after this, not never.
    CONNECT_TIMEOUT = 5

    def __init__(self, settings: Settings, pool_size: int = 16) -> None:
        # Pools as large as the concurrency they serve: overflow connections would be opened and
        # closed per request under load.
        self.engine: AsyncEngine = create_async_engine(
            async_url(settings.database_url),
            pool_size=pool_size,
            max_overflow=8,
            json_serializer=json_text,
            pool_timeout=self.CONNECT_TIMEOUT,
            connect_args={"timeout": self.CONNECT_TIMEOUT},
        )
        event.listen(self.engine.sync_engine.pool, "checkout", _replace_closed)
        self.outage = Outage("postgresql")
        self._dsn = make_url(settings.database_url).set(drivername="postgresql")
        self._pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def write(self, fn: Callable[[Connection], T]) -> T:
        try:
            async with self.engine.connect() as conn:
                try:
                    async with conn.begin():
                        result = await conn.run_sync(fn)
                except BaseException as error:
                    await _invalidate_if_broken(conn, error)
                    raise
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()
        return result

    async def read(self, fn: Callable[[Connection], T]) -> T:
        try:
            async with self.engine.connect() as conn:
                try:
                    result = await conn.run_sync(fn)
                except BaseException as error:
                    await _invalidate_if_broken(conn, error)
                    raise
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()
        return result

    async def _hot(self) -> asyncpg.Pool:
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    self._pool = await asyncpg.create_pool(
                        self._dsn.render_as_string(hide_password=False),
                        min_size=0,  # no floor to restore (and log) while the server is away
                        max_size=self._pool_size,
                        reset=_keep_session,
                        timeout=self.CONNECT_TIMEOUT,
                    )
        return self._pool

    async def fetch_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        try:
            record = await (await self._hot()).fetchrow(_numbered(sql), *params)
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()
        return tuple(record) if record is not None else None

    async def fetch_all(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            records = await (await self._hot()).fetch(_numbered(sql), *params)
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()
        return [tuple(record) for record in records]

    async def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """Through the hot pool, outside any explicit transaction: PostgreSQL runs the statement as its own
        transaction and answers only once it has committed (durably, with the default synchronous_commit).
        One round trip, where a unit of work through SQLAlchemy costs BEGIN, each statement and COMMIT."""
        try:
            await (await self._hot()).execute(_numbered(sql), *params)
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[asyncpg.Connection]:
        """One connection of the hot pool for a sequence of statements outside any transaction (VACUUM
        runs in none; app.store.upkeep). A connection left by an error or a cancellation, perhaps
        mid-statement or holding session state, is closed rather than handed back."""
        try:
            async with (await self._hot()).acquire() as conn:
                try:
                    yield conn
                except BaseException:
                    conn.terminate()
                    raise
        except Exception as error:
            self.outage.check(error)
            raise

    async def ping(self) -> None:
        """One round trip through the hot pool, bounded by asyncpg's own timeout: a timed-out ping
        leaves no half-run statement on a pooled connection (an outer `wait_for` could)."""
        try:
            await (await self._hot()).fetchval("SELECT 1", timeout=self.CONNECT_TIMEOUT)
        except Exception as error:
            self.outage.check(error)
            raise
        if self.outage.down:
            self.outage.recovered()

    def sql_engines(self) -> list[Engine]:
        return [self.engine.sync_engine]

    def pool_in_use(self) -> int:
        """Connections checked out of both pools now (the `tmf629_db_pool_in_use` gauge)."""
        in_use = self.engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined]
        if self._pool is not None:
            in_use += self._pool.get_size() - self._pool.get_idle_size()
        return int(in_use)

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.engine.dispose()


def _replace_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection whose server went away (asyncpg noticed the socket close) is replaced at
    checkout, with no round trip: after a restart the first statements run on fresh connections."""
    if dbapi_connection._connection.is_closed():
        raise sa_exc.DisconnectionError("the pooled connection was closed by the server")


async def _invalidate_if_broken(conn: Any, error: BaseException) -> None:
    """Never hand a connection left mid-statement (cancelled, or cut off) back to the pool: the next
    user would get asyncpg's "another operation is in progress"."""
    if isinstance(error, asyncio.CancelledError) or is_unreachable(error):
        with contextlib.suppress(Exception):
            await conn.invalidate()


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """The hot pool only runs single statements outside explicit transactions: no session state to reset,
    so no reset round trip each time a connection goes back to the pool."""


@functools.lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """`?` placeholders as asyncpg's `$1, $2, ...` (the fixed SQL texts hold no `?` in literals)."""
    parts = sql.split("?")
    return "".join(f"{part}${index}" for index, part in enumerate(parts[:-1], 1)) + parts[-1]
