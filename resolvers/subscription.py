"""Subscription: `customerEvents(eventTypes)`, the live customer events over graphql-transport-ws.

The events are the hub's (app.events.hub), read from the in-process feed, which sees the writes of every
replica. Live and best-effort: a subscriber gets the events committed while it is subscribed; one that
falls too far behind gets an error and the stream ends (subscribe again). Completing the operation or
closing the websocket cancels the generator, which closes its feed stream.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.errors import Invalid
from app.domain.events import EVENT_TYPES
from app.events.feed import EventFeed, FeedOverflow
from app.security.principal import CUSTOMER
from resolvers.auth import requires
from resolvers.context import GraphQLContext
from resolvers.query import query_error
from schema.events import CustomerEvent


def wanted_event_types(event_types: list[str] | None) -> frozenset[str] | None:
    """The event types to listen to (left out: every customer event type, not the other APIs' events
    the feed also carries); an unknown one is refused, by name."""
    if event_types is None:
        return frozenset(EVENT_TYPES)
    if not event_types:
        raise query_error(
            Invalid("eventTypes is empty: leave it out to receive every type", field="eventTypes")
        )
    for name in event_types:
        if name not in EVENT_TYPES:
            raise query_error(
                Invalid(f"unknown event type '{name}' (use {', '.join(EVENT_TYPES)})", field="eventTypes")
            )
    return frozenset(event_types)


async def customer_events(
    feed: EventFeed, event_types: frozenset[str] | None
) -> AsyncGenerator[CustomerEvent, None]:
    async with feed.listen(event_types) as stream:
        try:
            async for event in stream:
                yield CustomerEvent.from_event(event)
        except FeedOverflow as error:
            raise GraphQLError(
                f"{error}: subscribe again to receive the events from now on", extensions={"code": "OVERFLOW"}
            ) from error


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Customer events as they are committed, from any replica",
        extensions=requires(CUSTOMER.read),
    )
    def customer_events(
        self,
        info: Info[GraphQLContext, None],
        event_types: Annotated[
            list[str] | None,
            strawberry.argument(
                description="Only these types (CustomerCreateEvent, CustomerAttributeValueChangeEvent,"
                " CustomerStateChangeEvent, CustomerDeleteEvent); all when absent"
            ),
        ] = None,
    ) -> AsyncIterator[CustomerEvent]:
        # Validated here, not in the generator, so a refused argument is an `error` message at subscribe.
        return customer_events(info.context.feed, wanted_event_types(event_types))
