"""The `query` of a hub subscription: which events a subscriber receives.

A query is URL-query text: `eventType=CustomerCreateEvent,CustomerDeleteEvent&status=Approved`.

* `eventType` names event types (a comma list or repeated parameters mean OR); without it, every type.
* Every other parameter is a customer criterion in the collection's filter language
  (app.query.model), evaluated on the customer the event carries (`event.customer`: its state after the
  change, or before the deletion).
  The attribute may be written as in a collection query (`status`) or from the event root
  (`event.customer.status`).
* On a hub whose events carry one of several resources (TMF666: `payload.billingAccount`,
  `payload.partyAccount`, ...), a criterion written from the event root names its resource: the
  subscription then receives that resource's events only, and its criteria are checked against that
  resource's model. Criteria naming two resources, or naming one whose events the `eventType` list
  leaves out, can match no event and are refused.
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
    carried_by: dict[str, str]  # event type -> the resource its events carry

    def events_of(self, resource: str) -> tuple[str, ...]:
        return tuple(name for name in self.event_types if self.carried_by[name] == resource)


CUSTOMER_EVENTS = EventCatalogue(
    "customerManagement",
    EVENT_TYPES,
    "event",
    {"customer": CUSTOMER_TYPE},
    CUSTOMER_TYPE,
    dict.fromkeys(EVENT_TYPES, "customer"),
)
ACCOUNT_EVENTS = EventCatalogue(
    ACCOUNT_MANAGEMENT.name,
    ACCOUNT_MANAGEMENT.event_types(),
    ACCOUNT_MANAGEMENT.event_member,
    {r.name: r.type for r in ACCOUNT_MANAGEMENT.resources},
    # The party account's members are the billing and settlement accounts' and a superset of the
    # financial account's: a criterion on a member an event's resource lacks matches nothing.
    ACCOUNT_MANAGEMENT.resource("partyAccount").type,
    {name: r.name for r in ACCOUNT_MANAGEMENT.resources for name in r.event_types()},
)
CATALOGUES = {catalogue.api: catalogue for catalogue in (CUSTOMER_EVENTS, ACCOUNT_EVENTS)}


@dataclass(frozen=True)
class SubscriptionFilter:
    event_types: frozenset[str] | None
    filter: Filter | None
    catalogue: EventCatalogue = CUSTOMER_EVENTS
    resource: str | None = None  # named by the criteria (`payload.billingAccount.state`): its events only

    def accepts_type(self, event_type: str) -> bool:
        if self.resource is not None and self.catalogue.carried_by.get(event_type) != self.resource:
            return False
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
        if self.resource is not None and name != self.resource:
            return False
        # `id` is matched from its own argument, and `href` cannot be a criterion (it is computed): the
        # carried resource is the document as it is.
        return matches(resource, str(resource.get("id", "")), self.filter, resource_type)

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
    named: dict[str, str] = {}  # resource -> the first criterion that names it
    for raw_name, raw_value in parse_qsl(query.strip().removeprefix("?"), keep_blank_values=True):
        name, value = raw_name.strip(), raw_value.strip()
        if not name:
            raise InvalidQuery(
                f"query: a criterion has no attribute name ('{raw_name}={raw_value}')", field="query"
            )
        if name in ("eventType", "eventType.eq"):
            event_types.extend(_event_types(value, catalogue.event_types))
            continue
        resource, path = _rooted(name, catalogue)
        if not path:
            raise InvalidQuery(f"query: a criterion has no attribute name ('{name}={value}')", field="query")
        if path in RESERVED:
            raise InvalidQuery(f"query: '{name}' is not allowed in a subscription query", field="query")
        if resource is not None:
            named.setdefault(resource, name)
        criteria.append((path, value))
    resource = _one_resource(named, event_types, catalogue)
    resource_filter = None
    if criteria:
        model = catalogue.criteria if resource is None else catalogue.resources[resource]
        try:
            resource_filter = parse_rest_query(criteria, default_limit=1, max_limit=1, resource=model).filter
        except InvalidQuery as error:
            raise InvalidQuery(f"query: {error.message}", field="query") from error
    return SubscriptionFilter(
        frozenset(event_types) if event_types else None, resource_filter, catalogue, resource
    )


def _rooted(name: str, catalogue: EventCatalogue) -> tuple[str | None, str]:
    """A criterion written from the event root (`payload.billingAccount.state`) as the resource it names
    and a collection's attribute (`state`); any other as no resource and itself."""
    for resource in catalogue.resources:
        prefix = f"{catalogue.member}.{resource}."
        if name.startswith(prefix):
            return resource, name.removeprefix(prefix)
    return None, name


def _one_resource(named: dict[str, str], event_types: list[str], catalogue: EventCatalogue) -> str | None:
    """The resource the criteria name, if any; refused when no event could carry it."""
    if not named:
        return None
    if len(named) > 1:
        shown = ", ".join(f"{resource} ('{criterion}')" for resource, criterion in named.items())
        raise InvalidQuery(
            f"query: the criteria name more than one resource: {shown}; an event carries one, so none "
            "could match",
            field="query",
        )
    ((resource, criterion),) = named.items()
    own = catalogue.events_of(resource)
    if not own:
        raise InvalidQuery(
            f"query: '{criterion}' names {resource}, and no event of this hub carries one", field="query"
        )
    if event_types and not set(event_types) & set(own):
        raise InvalidQuery(
            f"query: '{criterion}' names {resource}, whose events ({', '.join(own)}) the eventType list "
            "leaves out",
            field="query",
        )
    return resource


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
