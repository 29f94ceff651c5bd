"""Alembic, driven from code: `tmf629 migrate` and the test fixtures both land here."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.settings import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    return config


def upgrade(settings: Settings, revision: str = "head") -> None:
    command.upgrade(alembic_config(settings), revision)


def revisions(settings: Settings) -> tuple[str | None, str]:
    """(the database's current revision, or None when it was never migrated; the code's head)."""
    import asyncio

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from app.store.base import create_migration_engine

    head = ScriptDirectory.from_config(alembic_config(settings)).get_current_head()

    async def current() -> str | None:
        engine = create_migration_engine(settings)
        try:
            async with engine.connect() as conn:
                revision: str | None = await conn.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
                return revision
        finally:
            await engine.dispose()

    return asyncio.run(current()), str(head)
