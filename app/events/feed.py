"""Live events, in process: `EventFeed.listen(event_types)` for consumers such as GraphQL subscriptions.

The feed sees every committed event of the database, whichever replica wrote it:

* PostgreSQL: a trigger on `event_outbox` NOTIFies each committed row's seq on the `tmf629_event`
  channel; `PgNotifications` LISTENs on one dedicated connection per process and hands the seqs to the
  feed (and wakes the dispatcher). The feed reads those rows and publishes them in commit order.
* SQLite (one writer): a write of this process pokes the feed after its commit; the feed reads the
  outbox rows past its cursor (seqs are assigned in commit order). It also polls while it has
  listeners, for writes of other processes.

The feed is live and best-effort (at most once, to the listeners present when the event is committed):
a listener that falls more than `max_queue` events behind is ended with `FeedOverflow`. Durable,
at-least-once delivery is the hub's job (app.events.dispatch).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import Connection, func, select
from sqlalchemy.engine import make_url

from app.store.base import Store
from app.store.outage import is_unreachable
from app.store.periodic import cancel
from app.store.tables import EventOutbox

logger = logging.getLogger("tmf629.events")

OUTBOX = EventOutbox.__table__.c  # type: ignore[attr-defined]
CHANNEL = "tmf629_event"
READ_BATCH = 500
RECENT_SEQS = 10_000
IDLE_FOLLOW_SECONDS = 0.05


class FeedOverflow(Exception):
    """The listener did not keep up: events were dropped, and its stream ends."""


class EventStream(AsyncIterator[dict[str, Any]]):
    """The events of one listener, from the moment it was created. Close it (or leave `async with`)."""

    def __init__(self, feed: EventFeed, event_types: frozenset[str] | None, max_queue: int) -> None:
        self._feed = feed
        self.event_types = event_types
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._max_queue = max_queue
        self._overflowed = False
        self._closed = False

    def offer(self, event: dict[str, Any]) -> None:
        if self._closed or (self.event_types is not None and event.get("eventType") not in self.event_types):
            return
        if self._queue.qsize() >= self._max_queue:
            self._overflowed = True
            self._close()
            return
        self._queue.put_nowait(event)

    async def __anext__(self) -> dict[str, Any]:
        if self._closed and self._queue.empty():
            raise self._ending()
        event = await self._queue.get()
        if event is None:
            raise self._ending()
        return event

    def _ending(self) -> Exception:
        return (
            FeedOverflow("the listener fell behind; events were dropped")
            if self._overflowed
            else StopAsyncIteration()
        )

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._feed.remove(self)
            self._queue.put_nowait(None)

    async def aclose(self) -> None:
        self._close()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._close()


class EventFeed:
    def __init__(self, store: Store, poll_seconds: float = 0.5) -> None:
        self._store = store
        self._poll = poll_seconds
        self._push = store.dialect == "postgresql"
        self._streams: set[EventStream] = set()
        self._registrations = 0
        self._wake = asyncio.Event()
        self._notified: list[int] = []
        self._cursor: int | None = None
        # PostgreSQL: the highest seq NOTIFY announced, where a catch-up starts when LISTEN comes back,
        # and the seqs published lately, so a row both caught up and announced goes out once.
        self._heard = 0
        self._catch_up_from: int | None = None
        self._published: dict[int, None] = {}
        self._task: asyncio.Task[None] | None = None

    # -- consumers -------------------------------------------------------------------------------

    def listen(self, event_types: Iterable[str] | None = None, *, max_queue: int = 1000) -> EventStream:
        """Events committed from now on, as their full bodies ({eventId, eventTime, eventType, event}).

        Call it on the running event loop; the stream is registered before this returns. The dicts are
        shared between listeners: do not mutate them."""
        stream = EventStream(self, frozenset(event_types) if event_types is not None else None, max_queue)
        self._streams.add(stream)
        self._registrations += 1
        self._wake.set()
        return stream

    @property
    def listener_count(self) -> int:
        """Streams open now (GraphQL subscriptions): the `tmf629_graphql_subscriptions` gauge."""
        return len(self._streams)

    def remove(self, stream: EventStream) -> None:
        self._streams.discard(stream)

    # -- sources ---------------------------------------------------------------------------------

    def poke(self) -> None:
        """A write of this process committed events (SQLite); PostgreSQL hears of it by NOTIFY."""
        if not self._push:
            self._wake.set()

    def notified(self, seqs: list[int]) -> None:
        """Seqs of committed outbox rows, announced by NOTIFY (PostgreSQL). An empty list: LISTEN
        (re)connected, so the rows committed while it was away, announced to no one, are read too."""
        if seqs:
            self._heard = max(self._heard, *seqs)
        elif self._heard and self._streams and self._catch_up_from is None:
            self._catch_up_from = self._heard
        if self._streams:
            self._notified.extend(seqs)
            self._wake.set()

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        if not self._push:
            self._cursor = await self._store.read(_max_seq)
        self._task = asyncio.create_task(self._run(), name="event-feed")

    async def stop(self) -> None:
        for stream in list(self._streams):
            stream._close()
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            timeout = self._poll if self._streams and not self._push else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                await (self._read_notified() if self._push else self._read_past_cursor())
            except Exception as error:  # the database is unreachable: try again on the next wake-up
                if not is_unreachable(error):  # an outage is logged once by the store
                    logger.exception("the event feed could not read the outbox")
                self._wake.set()  # what was notified meanwhile is still to be read
                await asyncio.sleep(self._poll)
            if not self._streams and not self._push:
                # Nobody listens: follow the outbox lazily rather than once per commit under load.
                # A listener arriving meanwhile is served from the cursor left here.
                await asyncio.sleep(IDLE_FOLLOW_SECONDS)

    async def _read_notified(self) -> None:
        while self._catch_up_from is not None:
            if not self._streams:  # nobody to catch up for: a later listener wants only later events
                self._catch_up_from = None
                break
            rows = await self._store.read(functools.partial(_rows_after, self._catch_up_from))
            self._catch_up_from = rows[-1][0] if len(rows) == READ_BATCH else None
            self._publish_once(rows)
        while self._notified:
            seqs = self._notified[:READ_BATCH]
            rows = await self._store.read(functools.partial(_rows_of, seqs))
            del self._notified[: len(seqs)]  # only once read: a failed read keeps them for the retry
            self._publish_once(rows)

    def _publish_once(self, rows: list[tuple[int, str]]) -> None:
        fresh = [body for seq, body in rows if seq not in self._published]
        self._published.update(dict.fromkeys(seq for seq, _ in rows))
        while len(self._published) > RECENT_SEQS:
            del self._published[next(iter(self._published))]
        self._publish(fresh)

    async def _read_past_cursor(self) -> None:
        while True:
            registrations, cursor = self._registrations, self._cursor or 0
            if not self._streams:
                # Nobody listens: only move the cursor, unless someone started listening meanwhile.
                latest = await self._store.read(_max_seq)
                if self._registrations == registrations and not self._streams:
                    self._cursor = max(cursor, latest)
                    return
            rows = await self._store.read(functools.partial(_rows_after, cursor))
            if rows:
                self._cursor = rows[-1][0]
                self._publish(row[1] for row in rows)
            if len(rows) < READ_BATCH:
                return

    def _publish(self, bodies: Iterable[str]) -> None:
        for body in bodies:
            event = orjson.loads(body)
            for stream in list(self._streams):
                stream.offer(event)


def _max_seq(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(OUTBOX.seq), 0))).scalar_one())


def _rows_of(seqs: list[int], conn: Connection) -> list[tuple[int, str]]:
    statement = select(OUTBOX.seq, OUTBOX.body).where(OUTBOX.seq.in_(seqs)).order_by(OUTBOX.seq)
    return [(row[0], row[1]) for row in conn.execute(statement)]


def _rows_after(cursor: int, conn: Connection) -> list[tuple[int, str]]:
    statement = (
        select(OUTBOX.seq, OUTBOX.body).where(OUTBOX.seq > cursor).order_by(OUTBOX.seq).limit(READ_BATCH)
    )
    return [(row[0], row[1]) for row in conn.execute(statement)]


def _set_event(event: asyncio.Event, *_: Any) -> None:
    event.set()


class PgNotifications:
    """One asyncpg connection LISTENing on the outbox channel, reconnecting when it drops."""

    def __init__(
        self, database_url: str, on_seqs: Callable[[list[int]], None], retry_seconds: float = 1.0
    ) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._on_seqs = on_seqs
        self._retry = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self, wait_seconds: float = 5.0) -> None:
        self._task = asyncio.create_task(self._run(), name="pg-notifications")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.listening.wait(), wait_seconds)

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            seqs = [int(payload)]
        except ValueError:
            return
        self._on_seqs(seqs)

    async def _run(self) -> None:
        import asyncpg

        failing = False
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                connection.add_termination_listener(functools.partial(_set_event, lost))
                await connection.add_listener(CHANNEL, self._received)
                self.listening.set()
                if failing:
                    failing = False
                    logger.warning("LISTEN %s works again", CHANNEL)
                # Writes committed while the connection was down are found by the dispatcher's polling.
                self._on_seqs([])
                await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # one line per outage, not one per retry
                if not failing:
                    failing = True
                    logger.warning("LISTEN %s failed (%s); retrying", CHANNEL, error)
            finally:
                self.listening.clear()
                if connection is not None and not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry)
