"""First run and tools: `serve` on an unmigrated database, `seed` in batches with a progress bar, and a
graceful stop that hands the dispatcher's claims back."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from app.store.base import Store
from app.store.migrate import revisions
from app.store.tables import Customer, EventDelivery
from tests.conftest import PG_URL
from tests.support.listener import fast_dispatch_env
from tests.support.process import ROOT, ServerProcess, free_port

CUSTOMER = Customer.__table__.c  # type: ignore[attr-defined]
DELIVERY = EventDelivery.__table__.c  # type: ignore[attr-defined]
PARTY = {"id": "1", "@referredType": "Organization"}


def serve_env(database_url: str) -> dict[str, str]:
    return {**os.environ, "TMF629_DATABASE_URL": database_url, "TMF629_PORT": str(free_port())}


def test_serve_migrates_a_new_sqlite_file_first(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'first.db'}"
    server = ServerProcess(url).start()
    try:
        created = httpx.post(
            f"{server.api}/customer", json={"name": "First", "engagedParty": PARTY}, timeout=10
        )
        assert created.status_code == 201, created.text
    finally:
        server.stop()
    current, head = revisions(Settings(database_url=url))
    assert current == head


@pytest.fixture
def empty_pg_database() -> Iterator[str]:
    """A database created empty on the shared server for this test, dropped afterwards."""
    if PG_URL is None:
        pytest.skip("TMF629_TEST_DATABASE_URL is not set")
    admin_url = make_url(PG_URL)
    name = f"{admin_url.database}_firstrun_{os.getpid()}"

    async def admin(statement: str) -> None:
        engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(statement))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_serve_refuses_an_unmigrated_postgresql_database_in_one_line(empty_pg_database: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=serve_env(empty_pg_database),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "not migrated" in lines[0] and "run `tmf629 migrate`" in lines[0]
    assert "Traceback" not in done.stderr
    current, _ = revisions(Settings(database_url=empty_pg_database))
    assert current is None  # serve did not migrate a PostgreSQL database behind the operator's back


def tool(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`tmf629 <args>` on `database_url`, run to its end."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={**os.environ, "TMF629_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_seed_migrates_a_new_sqlite_file_first(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seeded.db'}"
    done = tool(url, "seed", "--count", "7")
    assert done.returncode == 0, done.stderr
    assert "seed: migrated" in done.stderr and "seeded 7 customers" in done.stdout
    current, head = revisions(Settings(database_url=url))
    assert current == head


@pytest.mark.parametrize("command", [["seed", "--count", "3"], ["apikey", "list"]])
def test_tools_refuse_an_unmigrated_postgresql_database_in_one_line(
    empty_pg_database: str, command: list[str]
) -> None:
    done = tool(empty_pg_database, *command)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr
    assert f"tmf629 {command[0]}: " in done.stderr and "not migrated" in done.stderr
    assert "run `tmf629 migrate`" in done.stderr and "Traceback" not in done.stderr
    current, _ = revisions(Settings(database_url=empty_pg_database))
    assert current is None


def test_seed_stops_in_one_line_when_the_database_is_unreachable() -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing_listens"
    done = tool(url, "seed", "--count", "3")
    assert done.returncode == 1
    assert done.stderr.startswith("tmf629 seed: cannot read the database"), done.stderr
    assert "Traceback" not in done.stderr


async def test_seed_inserts_valid_customers_in_batches_with_a_progress_bar(
    settings: Settings, store: Store
) -> None:
    command = [sys.executable, "-m", "app.cli", "seed", "--count", "12000"]
    env = {**os.environ, "TMF629_DATABASE_URL": settings.database_url, "COLUMNS": "100"}
    # On a terminal (script(1) gives it one) the progress bar is drawn; the summary line comes last.
    done = await asyncio.to_thread(
        subprocess.run,
        ["script", "-qec", shlex.join(command), "/dev/null"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "seeding" in done.stdout and "12000/12000" in done.stdout, done.stdout[-500:]
    assert "seeded 12000 customers in" in done.stdout

    rows = await _customers(store)
    assert len(rows) == 12000 and len({row[0] for row in rows}) == 12000
    # The stored shape of a create: indexed columns derived from the document.
    for customer_id, name, status, party, doc in rows[:50]:
        assert (name, status, party) == (doc["name"], doc["status"], doc["engagedParty"]["id"]), customer_id


async def _customers(store: Store) -> list[Any]:
    return await store.read(
        lambda conn: conn.execute(
            select(CUSTOMER.id, CUSTOMER.name, CUSTOMER.status, CUSTOMER.engaged_party_id, CUSTOMER.doc)
        ).all()
    )


class _SlowListener(BaseHTTPRequestHandler):
    """Takes its time answering, so a delivery is in flight when the server is stopped."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(6)
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


async def test_a_graceful_stop_hands_the_dispatcher_claims_back(settings: Settings, store: Store) -> None:
    listener = ThreadingHTTPServer(("127.0.0.1", free_port()), _SlowListener)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    server = ServerProcess(
        settings.database_url,
        **fast_dispatch_env(dispatch_timeout_seconds=10, dispatch_lease_seconds=60),
    ).start()
    try:
        async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
            callback = f"http://127.0.0.1:{listener.server_address[1]}/listener"
            assert (await http.post("/hub", json={"callback": callback})).status_code == 201
            assert (
                await http.post("/customer", json={"name": "Held", "engagedParty": PARTY})
            ).status_code == 201

        async def claimed() -> list[Any]:
            return await store.read(
                lambda conn: conn.execute(select(DELIVERY.claimed_by, DELIVERY.state)).all()
            )

        deadline = time.monotonic() + 15
        while not any(row[0] for row in await claimed()):
            assert time.monotonic() < deadline, "the delivery was never claimed"
            await asyncio.sleep(0.05)
        started = time.monotonic()
        server.stop()  # SIGTERM
        # uvicorn finishes its shutdown, then ends by the signal it was sent (-15).
        assert server.process is not None and server.process.returncode in (0, -15)
        assert time.monotonic() - started < 10  # the in-flight send was given its grace, not its timeout
        rows = await claimed()
        assert rows and all(row[0] is None and row[1] == "pending" for row in rows), rows  # handed back
    finally:
        server.stop()
        listener.shutdown()
        listener.server_close()
