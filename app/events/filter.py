"""The `query` of a hub subscription: which events a subscriber receives.

A query is URL-query text: `eventType=CustomerCreateEvent,CustomerDeleteEvent&status=Approved`.

* `eventType` names event types (a comma list or repeated parameters mean OR); without it, every type.
* Every other parameter is a customer criterion in the collection's filter language
  (app.query.model), evaluated on the customer the event carries (`event.customer`: its state after the
  change, or before the deletion).
  The attribute may be written as in a collection query (`status`) or from the event root
  (`event.customer.status`).
* Paging, sorting and field selection make no sense here and are refused, as are unknown event types,
  attributes and operators: the query is validated when the subscription is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from app.domain.errors import InvalidQuery
from app.domain.events import EVENT_TYPES
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.query.evaluate import matches
from app.query.model import RESERVED, Filter, parse_rest_query

MAX_QUERY_LENGTH = 4096


@dataclass(frozen=True)
class EventCatalogue:
    """What the hub of one API delivers: its event types, the member of an event body that carries the
    resource (`event.customer`, `payload.billingAccount`), the resources by that name, and the model
    whose attributes a subscription's criteria name."""

    api: str
    event_types: tuple[str, ...]
    member: str
    resources: dict[str, ResourceType]
    criteria: ResourceType


CUSTOMER_EVENTS = EventCatalogue(
    "customerManagement", EVENT_TYPES, "event", {"customer": CUSTOMER_TYPE}, CUSTOMER_TYPE
)
ACCOUNT_EVENTS = EventCatalogue(
    ACCOUNT_MANAGEMENT.name,
    ACCOUNT_MANAGEMENT.event_types(),
    ACCOUNT_MANAGEMENT.event_member,
    {r.name: r.type for r in ACCOUNT_MANAGEMENT.resources},
    # The party account's members are the billing and settlement accounts' and a superset of the
    # financial account's: a criterion on a member an event's resource lacks matches nothing.
    ACCOUNT_MANAGEMENT.resource("partyAccount").type,
)
CATALOGUES = {catalogue.api: catalogue for catalogue in (CUSTOMER_EVENTS, ACCOUNT_EVENTS)}


@dataclass(frozen=True)
class SubscriptionFilter:
    event_types: frozenset[str] | None
    filter: Filter | None
    catalogue: EventCatalogue = CUSTOMER_EVENTS

    def accepts_type(self, event_type: str) -> bool:
        if self.event_types is None:
            return event_type in self.catalogue.event_types
        return event_type in self.event_types

    def accepts(self, event_type: str, event: Mapping[str, Any]) -> bool:
        """Whether the event (its full body) is for this subscriber."""
        if not self.accepts_type(event_type):
            return False
        if self.filter is None:
            return True
        carried = event.get(self.catalogue.member) or {}
        if not isinstance(carried, dict) or len(carried) != 1:
            return False
        ((name, resource),) = carried.items()
        resource_type = self.catalogue.resources.get(name)
        if resource_type is None or not isinstance(resource, dict):
            return False
        doc = {member: value for member, value in resource.items() if member not in ("id", "href")}
        return matches(doc, str(resource.get("id", "")), self.filter, resource_type)

    @property
    def needs_body(self) -> bool:
        return self.filter is not None


def parse_subscription_query(
    query: str | None, catalogue: EventCatalogue = CUSTOMER_EVENTS
) -> SubscriptionFilter:
    """The filter of a hub query on the hub of `catalogue`'s API; raises InvalidQuery (a 400) naming what
    is wrong."""
    if query is None or not query.strip():
        return SubscriptionFilter(None, None, catalogue)
    if len(query) > MAX_QUERY_LENGTH:
        raise InvalidQuery(f"query: longer than {MAX_QUERY_LENGTH} characters", field="query")
    event_types: list[str] = []
    criteria: list[tuple[str, str]] = []
    for raw_name, raw_value in parse_qsl(query.strip().removeprefix("?"), keep_blank_values=True):
        name, value = raw_name.strip(), raw_value.strip()
        if not name:
            raise InvalidQuery(
                f"query: a criterion has no attribute name ('{raw_name}={raw_value}')", field="query"
            )
        if name in ("eventType", "eventType.eq"):
            event_types.extend(_event_types(value, catalogue.event_types))
        elif name in RESERVED:
            raise InvalidQuery(f"query: '{name}' is not allowed in a subscription query", field="query")
        else:
            criteria.append((_unprefixed(name, catalogue), value))
    resource_filter = None
    if criteria:
        try:
            resource_filter = parse_rest_query(
                criteria, default_limit=1, max_limit=1, resource=catalogue.criteria
            ).filter
        except InvalidQuery as error:
            raise InvalidQuery(f"query: {error.message}", field="query") from error
    return SubscriptionFilter(frozenset(event_types) if event_types else None, resource_filter, catalogue)


def _unprefixed(name: str, catalogue: EventCatalogue) -> str:
    """A criterion written from the event root (`event.customer.status`) as a collection's (`status`)."""
    for resource in catalogue.resources:
        prefix = f"{catalogue.member}.{resource}."
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return name


def _event_types(value: str, known: tuple[str, ...]) -> list[str]:
    names = [item.strip() for item in value.split(",")]
    if not all(names):
        raise InvalidQuery("query: 'eventType' needs a comma-separated list of event types", field="query")
    for name in names:
        if name not in known:
            raise InvalidQuery(
                f"query: unknown eventType '{name}' (use one of {', '.join(known)})", field="query"
            )
    return names
