"""The dispatcher: delivers the outbox to hub subscribers, at least once, in order per subscriber.

Every write inserts its events into `event_outbox` in its own transaction and does nothing more. The
dispatcher runs beside the app (or alone, `tmf629 dispatch`), on every replica, in rounds:

1. fan out new events into per-subscriber deliveries, then claim the due head of each subscriber's
   queue (app.events.queue: the transactions, and why several replicas never send an event twice);
2. for each claim, a task POSTs the event body to the callback (`dispatch_timeout_seconds`). Success
   marks it delivered and claims the subscriber's next delivery in the same transaction, so a backlog
   drains at once. Failure schedules a retry with capped exponential backoff and jitter; after
   `dispatch_max_attempts` the delivery is dead (`last_error` kept) and the line moves on.

A round runs when woken (a commit of this process, a PostgreSQL NOTIFY from any replica) and at least
every `dispatch_poll_seconds`, which is also when due retries are picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import socket
import time
import uuid
from datetime import timedelta

import httpx

from app.events.queue import FANOUT_BATCH, Claim, DeliveryQueue, pending_work, skip_fan_out_sql
from app.security.network import CallbackPolicy, guarded_transport
from app.settings import Settings
from app.store.base import Store
from app.store.outage import is_unreachable

logger = logging.getLogger("tmf629.events")


def backoff_seconds(attempts: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The wait after the `attempts`-th failure: base * 2^(attempts-1), capped, with equal jitter."""
    delay = min(cap, base * 2 ** min(max(attempts - 1, 0), 32))
    return delay / 2 + (rng or random).random() * delay / 2


class Dispatcher:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        worker_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        # A lease outlives any send (the timeout), so a live replica never loses a claim it is using.
        lease = max(settings.dispatch_lease_seconds, settings.dispatch_timeout_seconds + 1)
        self.queue = DeliveryQueue(
            store.dialect, self.worker_id, timedelta(seconds=lease), settings.dispatch_max_attempts
        )
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._chains: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._stopping = False
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self.settings.dispatch_timeout_seconds),
            follow_redirects=False,
            # Every connection is checked against the callback policy on the address it connects to.
            transport=self._transport or guarded_transport(CallbackPolicy(self.settings.hub_callback_allow)),
        )
        self._loop = asyncio.create_task(self._run(), name="event-dispatcher")

    async def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop claiming, let sends in flight finish (briefly), and hand back what this replica holds."""
        self._stopping = True
        if self._loop is not None:
            self._loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None
        if self._chains:
            _, late = await asyncio.wait(set(self._chains), timeout=grace_seconds)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await self.store.write(self.queue.release)
        except Exception:
            logger.warning("could not release the claims of %s; they expire with their lease", self.worker_id)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # Under a stream of commits, a round starts at most this often: the events committed meanwhile are
    # fanned out together, in one transaction, instead of a round per commit competing with the writers
    # for the database (with the dispatcher off, POST /customer on PostgreSQL went about 40% faster at 32
    # connections in a smoke run on a busy machine: that is what a round per commit can cost).
    ROUND_SECONDS = 0.05

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            started = time.monotonic()
            try:
                await self.run_once()
                if failures:
                    logger.warning("the event dispatcher works again after %d failed rounds", failures)
                failures = 0
            except Exception as error:  # the database is down, say: log once, retry with backoff
                failures += 1
                if failures == 1 and not is_unreachable(error):  # an outage is logged by the store
                    logger.exception("the event dispatcher failed a round; retrying")
            pause = self.settings.dispatch_poll_seconds
            if failures:
                cap = max(pause, self.settings.dispatch_backoff_max_seconds)
                pause = max(pause, backoff_seconds(failures, pause, cap))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), pause)
            rest = self.ROUND_SECONDS - (time.monotonic() - started)
            if rest > 0:
                await asyncio.sleep(rest)

    async def run_once(self) -> None:
        """One round: fan out new events, then start sending to every subscriber with a due head."""
        pending = await self.store.read(pending_work)
        fanning_out = pending.unfanned is not None and pending.subscribed
        if fanning_out:
            while await self.store.write(self.queue.fan_out) == FANOUT_BATCH:
                pass
        elif pending.unfanned is not None:
            await self.store.execute(skip_fan_out_sql(self.store.dialect), (pending.unfanned,))
        free = self.settings.dispatch_concurrency - len(self._chains)
        if (fanning_out or pending.due) and free > 0 and not self._stopping:
            for claim in await self.store.write(functools.partial(self.queue.claim, limit=free)):
                task = asyncio.create_task(self._deliver(claim), name=f"deliver-{claim.subscription_id}")
                self._chains.add(task)
                task.add_done_callback(self._chains.discard)

    async def _deliver(self, claim: Claim) -> None:
        """Send the claimed delivery, then the subscriber's next ones while they are due."""
        current: Claim | None = claim
        try:
            while current is not None:
                error = await self._send(current)
                retry_in = backoff_seconds(
                    current.attempts + 1,
                    self.settings.dispatch_backoff_base_seconds,
                    self.settings.dispatch_backoff_max_seconds,
                )
                complete = functools.partial(
                    self.queue.complete, current, error, retry_in, not self._stopping
                )
                current = await self.store.write(complete)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database failed: the lease expires, the delivery is claimed again
            if not is_unreachable(error):
                logger.exception("could not record the delivery of an event to %s", claim.callback)

    async def _send(self, claim: Claim) -> str | None:
        """POST the event; None when the subscriber accepted it (2xx), else what went wrong."""
        assert self._client is not None
        try:
            response = await self._client.post(
                claim.callback, content=claim.body.encode(), headers={"Content-Type": "application/json"}
            )
        except Exception as error:  # connection refused, timeout, invalid URL, ...
            return f"{type(error).__name__}: {error}".rstrip(": ")[:1000]
        if response.is_success:
            return None
        return f"HTTP {response.status_code}"
