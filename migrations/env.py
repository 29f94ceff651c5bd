"""Alembic environment: runs migrations over the async engine of the configured database."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from app.settings import Settings
from app.store.base import create_migration_engine


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    settings: Settings = context.config.attributes.get("settings") or Settings()
    engine = create_migration_engine(settings)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `tmf629 migrate`")

try:
    asyncio.get_running_loop()
except RuntimeError:
    asyncio.run(_main())
else:  # called from a running loop (tests): run on a private loop in a worker thread
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _main()).result()
