"""Customer events as GraphQL output types: what the `customerEvents` subscription yields.

An event carries the customer as it was written (id, href and the document), not its version, so the
event's customer is a `CustomerSnapshot`: every field of `Customer` except `etag`, derived from `Customer`
so the two never drift apart. Query `customer(id)` for the current ETag before a mutation.
"""

from __future__ import annotations

import copy
from typing import Any, Self

import strawberry
from strawberry.tools import create_type

from schema.convert import from_document
from schema.scalars import DateTime
from schema.types import Customer

CustomerSnapshot = create_type(
    "CustomerSnapshot",
    [
        copy.copy(field)
        for field in Customer.__strawberry_definition__.fields  # type: ignore[attr-defined]
        if field.python_name != "etag"
    ],
    description="The customer as an event carries it: every Customer field but `etag` (an event has no"
    " version; query `customer(id)` for the current ETag)",
)
CustomerSnapshot.__tmf_members__ = Customer.__tmf_members__


@strawberry.type(description="A customer event: a create, an attribute change, a status change or a delete")
class CustomerEvent:
    event_id: strawberry.ID
    event_type: str = strawberry.field(
        description="CustomerCreateEvent, CustomerAttributeValueChangeEvent, CustomerStateChangeEvent"
        " or CustomerDeleteEvent"
    )
    event_time: DateTime
    field_path: str | None = strawberry.field(
        default=None,
        description="The changed attribute paths, comma-separated (CustomerAttributeValueChangeEvent)",
    )
    customer: CustomerSnapshot = strawberry.field(  # type: ignore[valid-type]
        description="The customer after the change (before it, for a delete)"
    )

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Self:
        """From an event body of the feed: {eventId, eventTime, eventType, [fieldPath], event: {customer}}."""
        return cls(
            event_id=strawberry.ID(event["eventId"]),
            event_type=event["eventType"],
            event_time=DateTime(event["eventTime"]),
            field_path=event.get("fieldPath"),
            customer=from_document(CustomerSnapshot, event["event"]["customer"]),
        )
