"""The query model evaluated in plain Python: `matches` and `sort_rows` (hub subscriptions, and the
oracle of the randomized tests) agree with the SQL of `app.query.sql`; `project` applies `fields`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.catalogue import Kind
from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.query.model import (
    And,
    Attribute,
    Criterion,
    Filter,
    Related,
    SortKey,
    any_candidates,
    checked,
    operand,
    resolve,
)


def leaves(doc: dict[str, Any], customer_id: str, attribute: Attribute) -> list[Any]:
    """The values at the attribute's path (one per array element that has it), typed as compared."""
    if attribute.path == ("id",):
        return [customer_id]
    kind = attribute.node
    assert isinstance(kind, Kind)
    found: list[Any] = []

    def walk(value: Any, groups: tuple[tuple[str, ...], ...]) -> None:
        for name in groups[0]:
            if not isinstance(value, dict):
                return
            value = value.get(name)
        if len(groups) == 1:
            typed = _typed(kind, value)
            if typed is not None:
                found.append(typed)
        elif isinstance(value, list):
            for item in value:
                walk(item, groups[1:])

    walk(doc, attribute.groups)
    return found


def _typed(kind: Kind, value: Any) -> Any:
    """A stored value as compared, or None when it is missing or not of the attribute's kind."""
    if kind is Kind.STRING:
        return value if isinstance(value, str) else None
    if kind is Kind.INTEGER:
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind is Kind.NUMBER:
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if kind is Kind.BOOLEAN:
        return value if isinstance(value, bool) else None
    if kind is Kind.DATETIME:
        return operand(kind, value) if isinstance(value, str) else None
    return value


def _json_equal(stored: Any, candidate: Any) -> bool:
    if isinstance(candidate, bool) or isinstance(stored, bool):
        return stored is candidate
    if isinstance(candidate, int | float):
        return isinstance(stored, int | float) and stored == candidate
    return isinstance(stored, str) and stored == candidate


def _compare(op: str, stored: Any, value: Any) -> bool:
    if op == "eq":
        return bool(stored == value)
    if op == "ne":
        return bool(stored != value)
    if op == "gt":
        return bool(stored > value)
    if op == "gte":
        return bool(stored >= value)
    if op == "lt":
        return bool(stored < value)
    return bool(stored <= value)


def _criterion_matches(
    doc: dict[str, Any], customer_id: str, item: Criterion, resource: ResourceType
) -> bool:
    attribute, kind = checked(item, resource)
    found = leaves(doc, customer_id, attribute)
    if kind is Kind.ANY:
        candidates = [any_candidates(str(value)) for value in item.values]
        equal = [[any(_json_equal(x, c) for c in options) for options in candidates] for x in found]
        return any(any(row) for row in equal) if item.op == "eq" else any(not all(row) for row in equal)
    values = [operand(kind, value) for value in item.values]
    return any(_compare(item.op, x, v) for x in found for v in values if v is not None)


def matches(
    doc: dict[str, Any], customer_id: str, filter: Filter, resource: ResourceType = CUSTOMER_TYPE
) -> bool:
    """Whether the resource (its stored document, its id apart; a customer by default) satisfies the
    filter."""
    if isinstance(filter, Criterion):
        return _criterion_matches(doc, customer_id, filter, resource)
    if isinstance(filter, Related):  # links live in the database, not in one document
        raise InvalidQuery(f"A condition on linked {filter.target} needs the database", field=filter.target)
    if isinstance(filter, And):
        return all(matches(doc, customer_id, item, resource) for item in filter.items)
    return any(matches(doc, customer_id, item, resource) for item in filter.items)


def sort_rows(rows: list[tuple[int, str, dict[str, Any]]], sort: Sequence[SortKey]) -> list[Any]:
    """(seq, id, doc) rows in the order `order_by` gives them."""
    ordered = sorted(rows, key=lambda row: row[0])
    for key in reversed(sort):
        attribute = resolve(key.path)
        assert attribute is not None
        keyed = [(row, leaves(row[2], row[1], attribute)) for row in ordered]
        present = sorted(
            (pair for pair in keyed if pair[1]), key=lambda pair: pair[1][0], reverse=key.descending
        )
        ordered = [row for row, _ in present] + [row for row, found in keyed if not found]
    return ordered


# -- projection -----------------------------------------------------------------------------------

ALWAYS = ("id", "href", "@type")


def project(resource: dict[str, Any], fields: tuple[tuple[str, ...], ...] | None) -> dict[str, Any]:
    """Only the selected attributes (and id, href, @type); dotted paths reach into objects and array items.

    Array items stay in place even when nothing of them is selected (`{}`); objects left empty are dropped.
    """
    if fields is None:
        return resource
    tree: dict[str, Any] = {name: None for name in ALWAYS}  # None selects the whole value
    for path in fields:
        node = tree
        for index, name in enumerate(path):
            last = index == len(path) - 1
            if name in node and node[name] is None:
                break
            if last:
                node[name] = None
            else:
                node = node.setdefault(name, {})
    return _project(resource, tree)


def _project(value: dict[str, Any], tree: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, member in value.items():
        if name not in tree:
            continue
        sub = tree[name]
        if sub is None:
            result[name] = member
        elif isinstance(member, list):
            result[name] = [_project(item, sub) if isinstance(item, dict) else item for item in member]
        elif isinstance(member, dict):
            projected = _project(member, sub)
            if projected:
                result[name] = projected
    return result
