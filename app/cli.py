"""The `tmf629` console script: serve, migrate, seed, dispatch, apikey."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys

from app.settings import Settings

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _refusal(settings: Settings) -> str | None:
    """Why `serve` must not start with these settings (one line), or None."""
    exposed = settings.host not in LOOPBACK_HOSTS and not settings.host.startswith("127.")
    if exposed and not settings.auth_methods and not settings.allow_unauthenticated:
        return (
            f"refusing to serve on {settings.host} without authentication: set TMF629_AUTH=api-key or jwt"
            " (README, Security), or TMF629_ALLOW_UNAUTHENTICATED=true to accept anyone who reaches the port"
        )
    try:
        from app.security.authenticator import Authenticator
        from app.security.ratelimit import RateLimiter

        Authenticator(settings, None)  # type: ignore[arg-type]  # checks the settings, opens nothing
        if settings.rate_limit:
            RateLimiter(settings.rate_limit)
    except ValueError as error:
        return f"refusing to start: {error}"
    return None


def _serve(settings: Settings) -> None:
    import uvicorn

    refusal = _refusal(settings)
    if refusal:
        sys.exit(f"tmf629 serve: {refusal}")

    from app.observability import log_config
    from app.serving import UVICORN_OPTIONS

    _first_run(settings)
    _metrics_directory(settings)
    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        **UVICORN_OPTIONS,
        access_log=settings.access_log,
        log_level=settings.log_level,
        # X-Forwarded-* trusted as the settings say (as the hrefs are), not whenever the client is local.
        proxy_headers=settings.trust_forwarded_headers,
        log_config=log_config(settings),
        # SIGTERM: stop accepting, let requests in flight finish (this long at most), then the shutdown
        # hooks hand the dispatcher's claims back to the other replicas.
        timeout_graceful_shutdown=30,
    )


def _first_run(settings: Settings, command: str = "serve") -> None:
    """An unmigrated SQLite file is migrated here; an unmigrated PostgreSQL database stops the command with
    one line (migrating a shared server is an operator's decision). An unreachable one is waited for by
    `serve` (503s meanwhile); the other commands stop with one line."""
    from app.store.migrate import revisions, upgrade
    from app.store.outage import is_unreachable

    try:
        current, head = revisions(settings)
    except Exception as error:
        reason = f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
        if command != "serve" or not is_unreachable(error):
            sys.exit(f"tmf629 {command}: cannot read the database {_safe_url(settings)}: {reason}")
        print(f"tmf629 serve: the database is unreachable ({reason}); answering 503 for now", file=sys.stderr)
        return
    if current == head:
        return
    if settings.is_sqlite:
        upgrade(settings)
        print(f"tmf629 {command}: migrated {settings.database_url} to revision {head}", file=sys.stderr)
        return
    found = f"at revision {current}" if current else "not migrated"
    sys.exit(
        f"tmf629 {command}: the database {_safe_url(settings)} is {found} (this code needs {head}):"
        " run `tmf629 migrate` first"
    )


def _safe_url(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


def _metrics_directory(settings: Settings) -> None:
    """Several workers share their metrics through files (prometheus-client's multiprocess mode): a fresh
    directory per start, unless PROMETHEUS_MULTIPROC_DIR names one (its old files are removed)."""
    import os
    import tempfile
    from pathlib import Path

    if settings.workers <= 1:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        for stale in Path(directory).glob("*.db"):
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tmf629-metrics-")


def _migrate(settings: Settings) -> None:
    from app.store.migrate import upgrade

    upgrade(settings)
    print(f"database migrated: {settings.database_url}")


SEED_BATCH = 5000


async def _seed(settings: Settings, count: int) -> None:
    """`count` example customers, in batches of SEED_BATCH (one transaction each, validated like any
    create, no events), with a progress bar on a terminal."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from app.domain.customer import example_customer
    from app.services import CustomerService
    from app.store.factory import create_store

    store = create_store(settings)
    service = CustomerService(store)
    rng = random.Random(629)
    statuses = ["Approved", "Pending", "Validated"]
    started = time.monotonic()
    progress = Progress(
        TextColumn("seeding"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        disable=not sys.stderr.isatty(),
    )
    try:
        with progress:
            task = progress.add_task("customers", total=count)
            for first in range(0, count, SEED_BATCH):
                batch = [
                    example_customer(index, rng.choice(statuses), str(rng.randrange(1000)))
                    for index in range(first, min(count, first + SEED_BATCH))
                ]
                await service.create_many(batch)
                progress.advance(task, len(batch))
    finally:
        await store.dispose()
    print(f"seeded {count} customers in {time.monotonic() - started:.1f} s")


async def _dispatch(settings: Settings) -> None:
    """The event dispatcher alone (no HTTP), until SIGINT or SIGTERM."""
    import logging.config
    import signal

    from app.events.hub import Events
    from app.observability import log_config
    from app.store.factory import create_store

    logging.config.dictConfig(log_config(settings))  # the same lines (and JSON) as serve
    store = create_store(settings)
    events = Events(store, settings, dispatcher=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await events.start()
    print(f"dispatching events of {settings.database_url}", flush=True)
    await stopping.wait()
    await events.stop()
    await store.dispose()


async def _apikey(settings: Settings, args: argparse.Namespace) -> int:
    """`apikey create|list|revoke`: the key itself is printed once, alone on the last line."""
    from app.domain.errors import DomainError
    from app.security.apikeys import ApiKeys, parse_scopes
    from app.store.factory import create_store

    store = create_store(settings)
    keys = ApiKeys(store)
    try:
        if args.action == "create":
            info, key = await keys.create(args.name, parse_scopes(args.scopes))
            print(f"created API key '{info.name}' with scopes {' '.join(info.scopes) or '(none)'}")
            print("store it now: it is shown only this once; clients send it as X-API-Key")
            print(key)
        elif args.action == "list":
            for info in await keys.list():
                created = info.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                print(f"{info.name}\t{info.prefix}...\t{' '.join(info.scopes)}\t{created}")
        elif not await keys.revoke(args.name):
            print(f"tmf629 apikey revoke: no API key named '{args.name}'", file=sys.stderr)
            return 1
        else:
            print(f"revoked API key '{args.name}'")
        return 0
    except DomainError as error:
        print(f"tmf629 apikey {args.action}: {error.message}", file=sys.stderr)
        return 1
    finally:
        await store.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tmf629", description="TMF629 Customer Management service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve REST and GraphQL (settings from TMF629_* variables)")
    commands.add_parser("migrate", help="apply the database migrations")
    seed = commands.add_parser("seed", help="create sample customers")
    seed.add_argument("--count", type=int, default=20)
    commands.add_parser("dispatch", help="run only the event dispatcher (hub deliveries), no HTTP")
    apikey = commands.add_parser("apikey", help="create, list or revoke API keys (clients send X-API-Key)")
    actions = apikey.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key; it is printed once, on the last line")
    create.add_argument("--name", required=True)
    create.add_argument("--scopes", required=True, help="comma-separated, e.g. customer:read,customer:write")
    actions.add_parser("list", help="list the keys (names, prefixes and scopes, never the keys)")
    revoke = actions.add_parser("revoke", help="delete a key: requests carrying it get 401 at once")
    revoke.add_argument("name")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "dispatch":
        asyncio.run(_dispatch(settings))
    elif args.command == "seed":
        _first_run(settings, "seed")
        asyncio.run(_seed(settings, args.count))
    elif args.command == "apikey":
        _first_run(settings, "apikey")
        sys.exit(asyncio.run(_apikey(settings, args)))


if __name__ == "__main__":
    sys.exit(main())
