"""The `tmf629` console script: serve, migrate, seed, dispatch."""

from __future__ import annotations

import argparse
import asyncio
import random
import sys

from app.settings import Settings


def _serve(settings: Settings) -> None:
    import uvicorn

    uvicorn.run(
        "app.main:serve_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        access_log=settings.access_log,
        log_level=settings.log_level,
        server_header=False,
    )


def _migrate(settings: Settings) -> None:
    from app.store.migrate import upgrade

    upgrade(settings)
    print(f"database migrated: {settings.database_url}")


async def _seed(settings: Settings, count: int) -> None:
    from app.domain.customer import example_customer
    from app.services import CustomerService
    from app.store.factory import create_store

    store = create_store(settings)
    service = CustomerService(store)
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    rng = random.Random(629)
    for index in range(count):
        await service.create(
            example_customer(
                index, rng.choice(["Approved", "Pending", "Validated"]), str(rng.randrange(1000))
            ),
            base + "/tmf-api/customerManagement/v4",
        )
    await store.dispose()
    print(f"seeded {count} customers")


async def _dispatch(settings: Settings) -> None:
    """The event dispatcher alone (no HTTP), until SIGINT or SIGTERM."""
    import signal

    from app.events.hub import Events
    from app.store.factory import create_store

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="tmf629", description="TMF629 Customer Management service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve REST and GraphQL (settings from TMF629_* variables)")
    commands.add_parser("migrate", help="apply the database migrations")
    seed = commands.add_parser("seed", help="create sample customers")
    seed.add_argument("--count", type=int, default=20)
    commands.add_parser("dispatch", help="run only the event dispatcher (hub deliveries), no HTTP")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        _serve(settings)
    elif args.command == "migrate":
        _migrate(settings)
    elif args.command == "dispatch":
        asyncio.run(_dispatch(settings))
    elif args.command == "seed":
        asyncio.run(_seed(settings, args.count))


if __name__ == "__main__":
    sys.exit(main())
