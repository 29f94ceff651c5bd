"""PostgresStore: units of work through SQLAlchemy over asyncpg, hot reads through an asyncpg pool."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg
from sqlalchemy import Connection
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.settings import Settings
from app.store.base import Store, async_url, json_text

T = TypeVar("T")


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
