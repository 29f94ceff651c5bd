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
from app.query.evaluate import matches
from app.query.model import RESERVED, Filter, parse_rest_query

MAX_QUERY_LENGTH = 4096
_EVENT_PREFIX = "event.customer."


@dataclass(frozen=True)
class SubscriptionFilter:
    event_types: frozenset[str] | None
    filter: Filter | None

    def accepts_type(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types

    def accepts(self, event_type: str, event: Mapping[str, Any]) -> bool:
        """Whether the event (its full body) is for this subscriber."""
        if not self.accepts_type(event_type):
            return False
        if self.filter is None:
            return True
        customer = (event.get("event") or {}).get("customer") or {}
        if not isinstance(customer, dict):
            return False
        doc = {name: value for name, value in customer.items() if name not in ("id", "href")}
        return matches(doc, str(customer.get("id", "")), self.filter)

    @property
    def needs_body(self) -> bool:
        return self.filter is not None


EVERYTHING = SubscriptionFilter(None, None)


def parse_subscription_query(query: str | None) -> SubscriptionFilter:
    """The filter of a hub query; raises InvalidQuery (a 400) naming what is wrong."""
    if query is None or not query.strip():
        return EVERYTHING
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
            event_types.extend(_event_types(value))
        elif name in RESERVED:
            raise InvalidQuery(f"query: '{name}' is not allowed in a subscription query", field="query")
        else:
            criteria.append((name.removeprefix(_EVENT_PREFIX), value))
    customer_filter = None
    if criteria:
        try:
            customer_filter = parse_rest_query(criteria, default_limit=1, max_limit=1).filter
        except InvalidQuery as error:
            raise InvalidQuery(f"query: {error.message}", field="query") from error
    return SubscriptionFilter(frozenset(event_types) if event_types else None, customer_filter)


def _event_types(value: str) -> list[str]:
    names = [item.strip() for item in value.split(",")]
    if not all(names):
        raise InvalidQuery("query: 'eventType' needs a comma-separated list of event types", field="query")
    for name in names:
        if name not in EVENT_TYPES:
            raise InvalidQuery(
                f"query: unknown eventType '{name}' (use one of {', '.join(EVENT_TYPES)})", field="query"
            )
    return names
