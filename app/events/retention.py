"""Event retention: the outbox and the deliveries do not grow without bound.

Every `TMF629_EVENT_RETENTION` / 10 (at most a minute), the dispatcher process deletes:

* deliveries `delivered` longer ago than the retention;
* outbox rows older than the retention that no delivery still refers to (pending and dead deliveries
  keep their event: a dead letter stays until it is replayed or deleted), that are fanned out, and that
  are not the newest row (SQLite would hand a deleted newest seq out again, and subscriptions compare
  seqs).

Each batch is one short transaction of at most `BATCH` rows, found through an index on the time it
prunes by (migration 0004_operations); on PostgreSQL rows are taken `FOR UPDATE SKIP LOCKED`, so pruning
never waits for, nor blocks, a writer or another replica's pruning.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select

from app.events.queue import DELIVERED, DELIVERY, DELIVERY_TABLE, OUTBOX, OUTBOX_TABLE, now_utc
from app.store.base import Store
from app.store.periodic import Periodic

logger = logging.getLogger("tmf629.events")

BATCH = 500
MAX_INTERVAL_SECONDS = 60.0


def _locked(statement: Any, dialect: str) -> Any:
    return statement.with_for_update(skip_locked=True) if dialect == "postgresql" else statement


def prune_deliveries(dialect: str, cutoff: datetime, conn: Connection) -> int:
    """Delete one batch of deliveries delivered before `cutoff` (naive UTC); how many were deleted."""
    ids = list(
        conn.execute(
            _locked(
                select(DELIVERY.seq)
                .where(DELIVERY.state == DELIVERED, DELIVERY.delivered_at < cutoff)
                .order_by(DELIVERY.delivered_at)  # ix_event_delivery_delivered
                .limit(BATCH),
                dialect,
            )
        ).scalars()
    )
    if ids:
        conn.execute(delete(DELIVERY_TABLE).where(DELIVERY.seq.in_(ids)))
    return len(ids)


def prune_outbox(dialect: str, cutoff: datetime, conn: Connection) -> int:
    """Delete one batch of outbox rows older than `cutoff` (aware UTC) that nothing needs any more."""
    newest = select(func.max(OUTBOX.seq)).scalar_subquery()
    ids = list(
        conn.execute(
            _locked(
                select(OUTBOX.seq)
                .where(
                    OUTBOX.fanned_out.is_(True),
                    OUTBOX.created_at < cutoff,
                    OUTBOX.seq < newest,
                    ~exists().where(DELIVERY.outbox_seq == OUTBOX.seq),
                )
                .order_by(OUTBOX.created_at)  # ix_event_outbox_created_at
                .limit(BATCH),
                dialect,
            )
        ).scalars()
    )
    if ids:
        conn.execute(delete(OUTBOX_TABLE).where(OUTBOX.seq.in_(ids)))
    return len(ids)


class Retention(Periodic):
    """The periodic pruning task of one dispatcher process."""

    name = "event retention"

    def __init__(self, store: Store, retention_seconds: float) -> None:
        super().__init__()
        self.store = store
        self.retention = timedelta(seconds=retention_seconds)
        self.interval = min(MAX_INTERVAL_SECONDS, max(1.0, retention_seconds / 10))

    async def prune(self) -> tuple[int, int]:
        """Prune now, batch after batch until nothing is left: (deliveries, outbox rows) deleted."""
        cutoff = now_utc() - self.retention
        deliveries = await self._batches(functools.partial(prune_deliveries, self.store.dialect, cutoff))
        aware_cutoff = cutoff.replace(tzinfo=UTC)
        events = await self._batches(functools.partial(prune_outbox, self.store.dialect, aware_cutoff))
        return deliveries, events

    async def _batches(self, batch: Callable[[Connection], int]) -> int:
        total = 0
        while True:
            deleted = await self.store.write(batch)
            total += deleted
            if deleted < BATCH:
                return total
            await asyncio.sleep(0)  # let the writers queued meanwhile go first

    async def tick(self) -> None:
        deliveries, events = await self.prune()
        if deliveries or events:
            logger.info("event retention pruned %d deliveries and %d outbox rows", deliveries, events)
