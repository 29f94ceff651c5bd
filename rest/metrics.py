"""GET /metrics: Prometheus text (app.observability), plus the database-wide event figures."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from app.events.feed import EventFeed
from app.events.stats import event_figures
from app.observability import (
    DB_POOL_IN_USE,
    LIVE_SUBSCRIPTIONS,
    METRICS_CONTENT_TYPE,
    exposition,
    multiprocess,
)
from app.store.base import Store

REFRESH_SECONDS = 2.0


def refresh_process_gauges(store: Store, feed: EventFeed) -> None:
    """This process's own gauges: connections in use, live GraphQL subscriptions."""
    pool_in_use = getattr(store, "pool_in_use", None)
    DB_POOL_IN_USE.set(pool_in_use() if pool_in_use is not None else 0)
    LIVE_SUBSCRIPTIONS.set(feed.listener_count)


@get("/metrics", operation_id="metrics", tags=["operations"], include_in_schema=False)
async def metrics(store: NamedDependency[Store], event_feed: NamedDependency[EventFeed]) -> Response[bytes]:
    refresh_process_gauges(store, event_feed)
    figures: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # the database is away: the process metrics still answer
        figures = await store.read(event_figures)
    return Response(exposition(figures), media_type=METRICS_CONTENT_TYPE)


def gauge_refresher(store: Store, feed: EventFeed) -> tuple[Any, Any]:
    """(on_startup, on_shutdown) hooks that keep this worker's gauges fresh when several workers share
    the metrics (a scrape reaches one of them; the others' values come from their files)."""
    task: asyncio.Task[None] | None = None

    async def run() -> None:
        while True:
            refresh_process_gauges(store, feed)
            await asyncio.sleep(REFRESH_SECONDS)

    async def start() -> None:
        nonlocal task
        if multiprocess():
            task = asyncio.create_task(run(), name="metrics-gauges")

    async def stop() -> None:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return start, stop
