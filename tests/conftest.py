"""Fixtures: a real database per test (a fresh SQLite file; PostgreSQL too when
TMF629_TEST_DATABASE_URL is set), and an app served over HTTP by a real server."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from app.store.base import Store
from app.store.factory import create_store
from app.store.migrate import upgrade
from tests.support.listener import FAST_DISPATCH, Listener


@pytest.fixture(autouse=True)
def _mutant_deadline() -> Iterator[None]:
    """Under mutmut, a test still running after a minute fails (and its teardown every 10 s after): a mutant
    that leaves a write waiting for an answer that never comes hangs without using CPU, which mutmut's own
    limit (CPU seconds) never stops."""
    if not os.environ.get("MUTANT_UNDER_TEST"):
        yield
        return

    def expired(_signal: int, _frame: Any) -> None:
        signal.alarm(10)  # again, so a teardown left waiting for the same answer fails too
        raise TimeoutError("the test ran for more than 60 s under mutmut")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


PG_URL = os.environ.get("TMF629_TEST_DATABASE_URL") or None
BACKENDS = ["sqlite", "postgresql"]
# The tests' listeners run on this machine: let the hub call loopback addresses (README "Security").
LOCAL = "127.0.0.0/8"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the migrated file."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    """A database of this run's own, created beside TMF629_TEST_DATABASE_URL's and migrated.

    Its own database lets several test runs share one PostgreSQL server; it is dropped at the end.
    """
    assert PG_URL is not None
    admin_url = make_url(PG_URL)
    name = f"{admin_url.database}_run_{os.getpid()}"

    async def admin(*statements: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for statement in statements:
                await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    upgrade(Settings(database_url=url))
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield Settings(
            database_url=f"sqlite+aiosqlite:///{path}", dispatcher_enabled=False, hub_callback_allow=LOCAL
        )
        return
    if PG_URL is None:
        pytest.skip("TMF629_TEST_DATABASE_URL is not set")
    url = request.getfixturevalue("pg_migrated")
    yield Settings(database_url=url, dispatcher_enabled=False, hub_callback_allow=LOCAL)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[Store]:
    store = create_store(settings)
    if store.dialect == "postgresql":
        await truncate_all(store)
    yield store
    await store.dispose()


async def truncate_all(store: Store) -> None:
    def run(conn):  # type: ignore[no-untyped-def]
        listing = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        tables = [t for t in conn.execute(text(listing)).scalars() if t != "alembic_version"]
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))

    await store.write(run)


class LiveServer:
    """A real uvicorn server on a free port, in a thread of its own with its own event loop."""

    def __init__(self, settings: Settings) -> None:
        import socket

        import uvicorn

        from app.main import create_app
        from app.serving import UVICORN_OPTIONS

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.settings = settings
        self.app = create_app(settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            **UVICORN_OPTIONS,
        )
        self.server = uvicorn.Server(config)
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/tmf-api/customerManagement/v4"

    def start(self) -> None:
        import threading
        import time

        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture
async def server(settings: Settings, store: Store) -> AsyncIterator[LiveServer]:
    """A live server over the fresh database of `settings` (emptied through `store`)."""
    live = LiveServer(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def client(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.api, timeout=30) as http:
        yield http


@pytest.fixture
async def make_server(settings: Settings, store: Store) -> AsyncIterator[Callable[..., LiveServer]]:
    """Live servers over the test database with some settings changed."""
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        live = LiveServer(settings.model_copy(update=overrides))
        live.start()
        started.append(live)
        return live

    yield make
    for live in started:
        live.stop()


# A listener and a server whose dispatcher runs at once (modules may define their own).
@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener().start()
    yield listener
    listener.stop()


@pytest.fixture
async def hub(settings: Settings, store: Store) -> AsyncIterator[LiveServer]:
    live = LiveServer(settings.model_copy(update=FAST_DISPATCH))
    live.start()
    yield live
    live.stop()
