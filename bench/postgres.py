"""The benchmark's PostgreSQL database: reached, started or created, or a reason to skip it.

`make bench` runs every scenario on PostgreSQL too, in the database named by TMF629_BENCH_POSTGRES_URL (by
default `tmf629_bench` on the local server, as the tests use it). Only that database is ever created or
emptied: the server's other databases are never touched.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/tmf629_bench"
CONNECT_TIMEOUT = 5


def bench_postgres_url() -> str:
    return os.environ.get("TMF629_BENCH_POSTGRES_URL") or DEFAULT_URL


def asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def prepare(url: str) -> str | None:
    """Make sure the database of `url` exists on a running server: None when it does, else why not.

    A server that refuses connections is started as .ci/run starts it (the local cluster); a missing
    database is created through the server's `postgres` maintenance database."""
    database = make_url(url).database
    if not database:
        return f"{_safe(url)} names no database"
    problem = asyncio.run(_reach(url))
    if problem == "down" and _start_local_cluster():
        problem = asyncio.run(_reach(url))
    if problem == "missing":
        try:
            asyncio.run(_create(url, database))
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            return f"cannot create the database {database!r}: {error}"
        print(f"PostgreSQL: created the database {database!r}", flush=True)
        problem = asyncio.run(_reach(url))
    if problem == "down":
        return f"the server of {_safe(url)} cannot be reached"
    return problem


async def _reach(url: str) -> str | None:
    try:
        connection = await asyncpg.connect(asyncpg_dsn(url), timeout=CONNECT_TIMEOUT)
    except asyncpg.InvalidCatalogNameError:
        return "missing"
    except (OSError, TimeoutError, asyncpg.CannotConnectNowError):
        return "down"
    except asyncpg.PostgresError as error:
        return f"{_safe(url)}: {error}"
    await connection.close()
    return None


async def _create(url: str, database: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url, "postgres"), timeout=CONNECT_TIMEOUT)
    try:
        quoted = '"' + database.replace('"', '""') + '"'
        await connection.execute(f"CREATE DATABASE {quoted}")
    finally:
        await connection.close()


def _start_local_cluster() -> bool:
    """`pg_ctlcluster <version> main start`, as .ci/run does; False when there is no local cluster."""
    if not shutil.which("pg_ctlcluster") or not Path("/etc/postgresql").is_dir():
        return False
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    if not versions:
        return False
    print(f"PostgreSQL is not answering: starting the local cluster {versions[-1]}/main", flush=True)
    done = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"  pg_ctlcluster failed: {(done.stderr or done.stdout).strip()}", flush=True)
    return done.returncode == 0


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
