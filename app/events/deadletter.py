"""Dead letters: the deliveries a subscriber refused `dispatch_max_attempts` times, kept until an operator
replays them (back to `pending`, attempts from zero, due now) or deletes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, delete, select, update

from app.domain.errors import NotFound
from app.domain.ids import storable
from app.events.queue import (
    DEAD,
    DELIVERY,
    DELIVERY_TABLE,
    OUTBOX,
    OUTBOX_TABLE,
    PENDING,
    SUBSCRIPTION,
    now_utc,
)
from app.store.base import Store

MAX_LISTED = 1000


def _instant(value: Any) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value is not None else None


class DeadLetterService:
    def __init__(self, store: Store, on_replay: Callable[[], None] | None = None) -> None:
        self.store = store
        self.on_replay = on_replay  # wakes the dispatcher of this process

    async def list(self, subscription_id: str) -> list[dict[str, Any]]:
        """The dead deliveries of a subscription, oldest event first (at most MAX_LISTED)."""

        def run(conn: Connection) -> list[dict[str, Any]]:
            _require_subscription(conn, subscription_id)
            rows = conn.execute(
                select(
                    DELIVERY.seq,
                    DELIVERY.attempts,
                    DELIVERY.last_error,
                    DELIVERY.created_at,
                    OUTBOX.event_id,
                    OUTBOX.event_type,
                    OUTBOX.body,
                )
                .join(OUTBOX_TABLE, OUTBOX.seq == DELIVERY.outbox_seq)
                .where(DELIVERY.subscription_id == subscription_id, DELIVERY.state == DEAD)
                .order_by(DELIVERY.outbox_seq)
                .limit(MAX_LISTED)
            )
            return [
                {
                    "id": str(row[0]),
                    "eventId": row[4],
                    "eventType": row[5],
                    "attempts": row[1],
                    "lastError": row[2],
                    "createdAt": _instant(row[3]),
                    "event": orjson.loads(row[6]),
                }
                for row in rows
            ]

        return await self.store.read(run)

    async def replay(self, subscription_id: str, delivery_id: str | None = None) -> int:
        """Make one dead delivery (or all of the subscription's) pending again; how many were."""
        seq = _delivery_seq(subscription_id, delivery_id) if delivery_id is not None else None

        def run(conn: Connection) -> int:
            _require_subscription(conn, subscription_id)
            statement = update(DELIVERY_TABLE).where(
                DELIVERY.subscription_id == subscription_id, DELIVERY.state == DEAD
            )
            if seq is not None:
                statement = statement.where(DELIVERY.seq == seq)
            replayed = conn.execute(
                statement.values(
                    state=PENDING, attempts=0, next_attempt_at=now_utc(), claimed_until=None, claimed_by=None
                )
            ).rowcount
            if seq is not None and not replayed:
                raise _no_dead_letter(subscription_id, delivery_id)
            return int(replayed)

        replayed = await self.store.write(run)
        if replayed and self.on_replay is not None:
            self.on_replay()
        return replayed

    async def delete(self, subscription_id: str, delivery_id: str) -> None:
        seq = _delivery_seq(subscription_id, delivery_id)

        def run(conn: Connection) -> None:
            _require_subscription(conn, subscription_id)
            deleted = conn.execute(
                delete(DELIVERY_TABLE).where(
                    DELIVERY.seq == seq, DELIVERY.subscription_id == subscription_id, DELIVERY.state == DEAD
                )
            ).rowcount
            if not deleted:
                raise _no_dead_letter(subscription_id, delivery_id)

        await self.store.write(run)


def _require_subscription(conn: Connection, subscription_id: str) -> None:
    if not storable(subscription_id) or (
        conn.execute(select(SUBSCRIPTION.id).where(SUBSCRIPTION.id == subscription_id)).first() is None
    ):
        raise NotFound(f"No hub subscription with id '{subscription_id}'")


def _delivery_seq(subscription_id: str, delivery_id: str) -> int:
    if not delivery_id.isascii() or not delivery_id.isdigit() or len(delivery_id) > 18:
        raise _no_dead_letter(subscription_id, delivery_id)
    return int(delivery_id)


def _no_dead_letter(subscription_id: str, delivery_id: str | None) -> NotFound:
    return NotFound(f"No dead letter '{delivery_id}' for hub subscription '{subscription_id}'")
