"""Customer events: the hub (subscriptions), the listener contract, and the machinery that runs them.

* Every customer write puts its events into `event_outbox` in the same transaction (app.services).
* `HubService` stores subscriptions (`event_subscription`); their `query` is validated up front
  (app.events.filter).
* `Dispatcher` (app.events.dispatch) POSTs each event to every matching subscriber: durable, at least
  once, in order per subscriber, with retries and dead letters; several replicas share the work.
* `EventFeed` (app.events.feed) hands live events to in-process consumers (GraphQL subscriptions).
* `Events` wires them for one app or one `tmf629 dispatch` process: `committed()` is the hook a
  write calls after its commit; `start()` / `stop()` follow the app's lifespan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, func, insert, select, text

from app.domain.errors import DomainError, Invalid, NotFound
from app.domain.events import EVENT_MODELS
from app.domain.ids import new_id, storable
from app.domain.validation import validate
from app.events.deadletter import DeadLetterService
from app.events.dispatch import Dispatcher
from app.events.feed import EventFeed, PgNotifications
from app.events.filter import CUSTOMER_EVENTS, EventCatalogue, parse_subscription_query
from app.events.queue import now_utc
from app.events.retention import Retention
from app.security.network import CallbackPolicy
from app.settings import Settings
from app.store.base import Store
from app.store.postgres import PostgresStore
from app.store.tables import EventOutbox, EventSubscription
from app.store.upkeep import Upkeep

SUBSCRIPTION_TABLE = EventSubscription.__table__  # type: ignore[attr-defined]
SUBSCRIPTION = SUBSCRIPTION_TABLE.c
OUTBOX = EventOutbox.__table__.c  # type: ignore[attr-defined]

MAX_CALLBACK_LENGTH = 2048


@dataclass(frozen=True)
class Subscription:
    id: str
    callback: str
    query: str | None

    def resource(self) -> dict[str, Any]:
        """The EventSubscription wire form; `query` only when one was given."""
        body: dict[str, Any] = {"id": self.id, "callback": self.callback}
        if self.query is not None:
            body["query"] = self.query
        return body


def validate_callback(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("callback is required: the http(s) URL events are POSTed to", field="callback")
    if len(value) > MAX_CALLBACK_LENGTH:
        raise Invalid(f"callback is longer than {MAX_CALLBACK_LENGTH} characters", field="callback")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise Invalid(f"callback is not a valid URL: {error}", field="callback") from error
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise Invalid(f"callback '{value}' is not a valid http(s) URL", field="callback")
    return value


class SubscriptionLimit(DomainError):
    """One more registration than `hub_max_subscriptions`: each one multiplies the work of every write."""

    status = 409
    code = "SUBSCRIPTION_LIMIT"
    reason = "Too many hub subscriptions"


class HubService:
    """registerListener / unregisterListener: subscriptions are rows, shared by every replica.

    A callback must reach a public address (app.security.network), checked here and again at every
    delivery; `hub_max_subscriptions` caps the registrations."""

    def __init__(self, store: Store, settings: Settings, catalogue: EventCatalogue = CUSTOMER_EVENTS) -> None:
        self.store = store
        # The API whose hub this is: its subscriptions receive that API's events only.
        self.catalogue = catalogue
        self.policy = CallbackPolicy(settings.hub_callback_allow)
        self.max_subscriptions = settings.hub_max_subscriptions

    async def subscribe(self, body: Any) -> Subscription:
        if not isinstance(body, dict):
            raise Invalid("The request body must be a JSON object (EventSubscriptionInput)", field="body")
        for owned in ("id", "href"):
            if owned in body:
                raise Invalid(f"'{owned}' is set by the server and cannot be given", field=owned)
        callback = validate_callback(body.get("callback"))
        query = body.get("query")
        if query is not None and not isinstance(query, str):
            raise Invalid("query must be a string, e.g. eventType=CustomerCreateEvent", field="query")
        parse_subscription_query(query, self.catalogue)
        await self.policy.check_callback(callback)
        subscription = Subscription(new_id(), callback, query)

        def run(conn: Connection) -> None:
            count = conn.execute(select(func.count()).select_from(SUBSCRIPTION_TABLE)).scalar_one()
            if count >= self.max_subscriptions:
                raise SubscriptionLimit(
                    f"The hub holds {count} subscriptions, its limit (TMF629_HUB_MAX_SUBSCRIPTIONS);"
                    " unregister one first"
                )
            if conn.dialect.name == "postgresql":
                # Wait for the writes in flight and hold new ones until this commits (a millisecond):
                # otherwise a write that took a lower seq than max(seq) but commits after this
                # subscription would never reach it. SHARE conflicts only with row changes.
                conn.execute(text("LOCK TABLE event_outbox IN SHARE MODE"))
            # Events already in the outbox are not for this subscriber: it gets those committed after it.
            after_seq = select(func.coalesce(func.max(OUTBOX.seq), 0)).scalar_subquery()
            conn.execute(
                insert(SUBSCRIPTION_TABLE).values(
                    id=subscription.id,
                    callback=callback,
                    query=query,
                    api=self.catalogue.api,
                    after_seq=after_seq,
                    created_at=now_utc(),
                )
            )

        await self.store.write(run)
        return subscription

    async def get(self, subscription_id: str) -> Subscription:
        if not storable(subscription_id):
            raise NotFound(f"No hub subscription with id '{subscription_id}'")
        row = await self.store.read(
            lambda conn: conn.execute(
                select(SUBSCRIPTION.id, SUBSCRIPTION.callback, SUBSCRIPTION.query).where(
                    SUBSCRIPTION.id == subscription_id, SUBSCRIPTION.api == self.catalogue.api
                )
            ).first()
        )
        if row is None:
            raise NotFound(f"No hub subscription with id '{subscription_id}'")
        return Subscription(row[0], row[1], row[2])

    async def unsubscribe(self, subscription_id: str) -> None:
        """Delete the subscription; its undelivered events go with it."""
        if not storable(subscription_id):
            raise NotFound(f"No hub subscription with id '{subscription_id}'")
        deleted = await self.store.write(
            lambda conn: (
                conn.execute(
                    delete(SUBSCRIPTION_TABLE).where(
                        SUBSCRIPTION.id == subscription_id, SUBSCRIPTION.api == self.catalogue.api
                    )
                ).rowcount
            )
        )
        if not deleted:
            raise NotFound(f"No hub subscription with id '{subscription_id}'")


def accept_listener_event(event_type: str, body: Any) -> dict[str, Any]:
    """The client side of the contract (`/listener/customer*Event`): an event of the listener's type,
    valid for its model (app.domain.events: every member typed, the customer a valid Customer)."""
    if not isinstance(body, dict):
        raise Invalid("The request body must be a JSON object (the event)", field="body")
    validate(EVENT_MODELS[event_type], body)
    sent = body.get("eventType")
    if sent is not None and sent != event_type:
        raise Invalid(f"eventType '{sent}' was sent to the listener of {event_type}", field="eventType")
    return body


class Events:
    """The event machinery of one process."""

    def __init__(self, store: Store, settings: Settings, *, dispatcher: bool | None = None) -> None:
        self.store = store
        self.hub = HubService(store, settings)
        self.feed = EventFeed(store, settings.dispatch_poll_seconds)
        enabled = settings.dispatcher_enabled if dispatcher is None else dispatcher
        self.dispatcher = Dispatcher(store, settings) if enabled else None
        # Pruning runs beside the dispatcher: one per process that dispatches.
        self.retention = Retention(store, settings.event_retention_seconds) if enabled else None
        # So does vacuuming, where the server does not vacuum (PostgreSQL).
        self.upkeep = Upkeep(store, settings.vacuum) if enabled and isinstance(store, PostgresStore) else None
        self.dead_letters = DeadLetterService(store, on_replay=self.committed)
        self._notifications = (
            PgNotifications(settings.database_url, self._notified) if store.dialect == "postgresql" else None
        )

    def committed(self) -> None:
        """Called by a write of this process after its commit: no work here, only wake-ups."""
        if self.dispatcher is not None:
            self.dispatcher.wake()
        self.feed.poke()

    def _notified(self, seqs: list[int]) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()
        self.feed.notified(seqs)

    async def start(self) -> None:
        if self._notifications is not None:
            await self._notifications.start()
        await self.feed.start()
        if self.dispatcher is not None:
            await self.dispatcher.start()
        if self.retention is not None:
            self.retention.start()
        if self.upkeep is not None:
            self.upkeep.start()

    async def stop(self) -> None:
        if self.upkeep is not None:
            await self.upkeep.stop()
        if self.retention is not None:
            await self.retention.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        await self.feed.stop()
        if self._notifications is not None:
            await self._notifications.stop()
