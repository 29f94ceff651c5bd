"""`create_store`: the backend for the configured database (the only module importing both backends)."""

from __future__ import annotations

from app.settings import Settings
from app.store.base import Store
from app.store.postgres import PostgresStore
from app.store.sqlite import SqliteStore


def create_store(settings: Settings) -> Store:
    if settings.is_sqlite:
        return SqliteStore(settings)
    return PostgresStore(settings)
