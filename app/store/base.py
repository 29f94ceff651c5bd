"""The store: how statements reach the database, per Settings (`create_store`).

Every unit of work is a plain synchronous function over a SQLAlchemy `Connection`, so the same
code runs on both databases; the hot paths use fixed SQL texts below the ORM (`fetch_row`,
`fetch_all`, `fetch_count`).

* PostgreSQL (app.store.postgres): an AsyncEngine over asyncpg; units of work run through
  `AsyncConnection.run_sync`; hot reads go through an asyncpg pool of their own.
* SQLite (app.store.sqlite): aiosqlite would hop to a thread for every cursor call. Instead, writes are
  group-committed, one commit serving every write queued meanwhile: creates and single statements by a
  writer process (its own interpreter: SQLite's work there never waits for the event loop's GIL), other
  units of work whole on one writer thread. Hot reads
  run inline on a read-only WAL connection (WAL readers never wait for the writer), within a step
  budget past which the reader pool takes over; other reads run on the reader pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.settings import Settings

T = TypeVar("T")

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


def apply_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


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

    async def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """Run one fixed, parameterised statement (`?` placeholders) alone, as its own transaction,
        committed when it returns: a write in one round trip."""
        await self.write(lambda conn: conn.exec_driver_sql(sql, params))

    async def fetch_count(self, sql: str, params: tuple[Any, ...]) -> int:
        """The single integer a `SELECT count(*) ...` text answers."""
        return int((await self.fetch_all(sql, params))[0][0])

    async def ping(self) -> None:
        await self.read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def dispose(self) -> None:
        raise NotImplementedError

    def sql_engines(self) -> list[Engine]:
        """The synchronous SQLAlchemy engines statements run on (for tracing instrumentation)."""
        raise NotImplementedError

    # Set when tracing instruments sql_engines() (rest.tracing): writes that otherwise hand their fixed
    # texts straight to the driver then go through SQLAlchemy's execution, which the spans hook into.
    traced = False


def create_migration_engine(settings: Settings) -> AsyncEngine:
    return create_async_engine(async_url(settings.database_url), poolclass=NullPool)
