"""The TMF630 query model: filters, field selection, sort and paging of the customer collection.

One model, three consumers:

* `parse_rest_query` builds it from REST parameters; GraphQL builds it with `criterion`, `And`, `Or`.
* `app.query_sql.where_clause` / `order_by` compile it to SQL for SQLite and PostgreSQL.
* `app.query_eval.matches` / `sort_rows` evaluate it in plain Python (event subscriptions, and the
  tests' oracle); `app.query_eval.project` applies `fields`.

Semantics (the SQL and the Python evaluator agree on all of them):

* A criterion is `path op value1,value2,...`; its values are ORed. Criteria of different parameters are ANDed.
* A dotted path reaching through an array matches when ANY element matches (each criterion on its own).
* A missing attribute matches no criterion, `ne` included: `ne` on an array path means "some element has the
  attribute and it differs". Several `ne` values are ORed like any other values.
* Values are compared by the attribute's kind: date-times as instants (whatever their offset, to the
  microsecond, extra digits truncated), integers as numbers, booleans as booleans, strings as text (ordering
  ops compare code points: SQLite's binary collation; on PostgreSQL the database collation, C or C.UTF-8 in
  deployment). Booleans take only eq/ne. `characteristic.value` (any JSON) takes only eq/ne and matches when
  the stored value is the given text as a string, or the JSON scalar that text parses to (5 matches 5, "5").
* `.regex` is recognised but refused with a 400: SQLite has no regular expressions without a user function,
  and a safe subset is not worth a second matching engine.
* Sort: missing values sort last in both directions; ties keep creation order (`seq`). Paths through arrays
  cannot be sort keys (which element would decide?).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.catalogue import Arr, Kind, Node, Obj
from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER_TYPE, ResourceType, instant_key, parse_datetime

MAX_CRITERIA = 20
MAX_OR_VALUES = 50
MAX_DEPTH = 8
RESERVED = ("fields", "offset", "limit", "sort")
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "regex")
ORDERING = ("gt", "gte", "lt", "lte")
INT64 = 2**63 - 1

# Attributes kept in their own indexed columns, by path (derived from the model's Indexed markers).
COLUMNS: dict[tuple[str, ...], str] = CUSTOMER_TYPE.columns


@dataclass(frozen=True)
class Criterion:
    path: tuple[str, ...]
    op: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class And:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Filter, ...]


@dataclass(frozen=True)
class Related:
    """Some linked resource of the other side matches `filter` (GraphQL's `CustomerWhere.accounts` and
    `AccountWhere.customers`): `target` is `accounts` (of these `kinds`) or `customers`."""

    target: str
    filter: Filter | None
    kinds: tuple[str, ...] = ()


Filter = Criterion | And | Or | Related


@dataclass(frozen=True)
class SortKey:
    path: tuple[str, ...]
    descending: bool = False


@dataclass(frozen=True)
class CustomerQuery:
    filter: Filter | None
    fields: tuple[tuple[str, ...], ...] | None
    sort: tuple[SortKey, ...]
    offset: int
    limit: int


# -- attributes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A resolved path; `groups` cuts it after each array: ("items",), ("detail", "city")."""

    path: tuple[str, ...]
    node: Node
    groups: tuple[tuple[str, ...], ...]
    column: str | None = None  # the indexed column that also holds the value

    @property
    def through_array(self) -> bool:
        return len(self.groups) > 1


def resolve(path: tuple[str, ...], resource: ResourceType = CUSTOMER_TYPE) -> Attribute | None:
    """The attribute at `path` in the resource's description, or None when there is none."""
    node: Node = resource.catalogue
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    for name in path:
        if not isinstance(node, Obj) or name not in node.members:
            return None
        node = node.members[name]
        current.append(name)
        if isinstance(node, Arr):
            groups.append(tuple(current))
            current = []
            node = node.item
    groups.append(tuple(current))
    return Attribute(path, node, tuple(groups), resource.columns.get(path)) if path else None


def _attribute(
    path: str | tuple[str, ...],
    field: str,
    *,
    scalar: bool,
    purpose: str,
    resource: ResourceType = CUSTOMER_TYPE,
) -> Attribute:
    parts = tuple(path.split(".")) if isinstance(path, str) else path
    dotted = ".".join(parts)
    attribute = resolve(parts, resource) if all(parts) else None
    if attribute is None:
        raise InvalidQuery(f"'{dotted}' is not an attribute of {resource.name}", field=field)
    if parts == ("href",) and purpose != "select":
        raise InvalidQuery(f"Cannot {purpose} on 'href': it is computed, not stored", field=field)
    if scalar and not isinstance(attribute.node, Kind):
        raise InvalidQuery(
            f"Cannot {purpose} on '{dotted}': it is not a single-valued attribute", field=field
        )
    return attribute


# -- criteria -------------------------------------------------------------------------------------


def criterion(
    path: str,
    op: str,
    values: Sequence[Any],
    *,
    param: str | None = None,
    resource: ResourceType = CUSTOMER_TYPE,
) -> Criterion:
    """A validated criterion with typed values; raises InvalidQuery naming `param` (or `path`)."""
    field = param if param is not None else path
    attribute = _attribute(path, field, scalar=True, purpose="filter", resource=resource)
    kind = attribute.node
    assert isinstance(kind, Kind)
    if op not in OPS:
        raise InvalidQuery(f"Unknown operator '{op}' (use one of {', '.join(OPS[:-1])})", field=field)
    if op == "regex":
        raise InvalidQuery("The regex operator is not supported", field=field)
    if op in ORDERING and kind in (Kind.BOOLEAN, Kind.ANY):
        raise InvalidQuery(f"'{path}' can only be compared with eq or ne", field=field)
    if isinstance(values, str | bytes):
        values = (values,)
    if not values:
        raise InvalidQuery(f"'{field}' needs a value", field=field)
    if len(values) > MAX_OR_VALUES:
        raise InvalidQuery(f"'{field}' has more than {MAX_OR_VALUES} values", field=field)
    return Criterion(attribute.path, op, tuple(_coerce(kind, value, field) for value in values))


_INTEGER = re.compile(r"^[+-]?\d{1,19}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,300}(\.\d{0,300})?|\.\d{1,300})([eE][+-]?\d{1,3})?$")
_SPACED_OFFSET = re.compile(r"(?<=\d) (\d{2}:\d{2})$")


def _coerce(kind: Kind, value: Any, field: str) -> Any:
    def bad(expected: str) -> InvalidQuery:
        return InvalidQuery(f"'{field}': {value!r} is not {expected}", field=field)

    if isinstance(value, str) and value == "":
        raise InvalidQuery(f"'{field}' has an empty value", field=field)
    if isinstance(value, str) and "\x00" in value:
        raise InvalidQuery(f"'{field}' contains the NUL character (\\u0000)", field=field)
    if kind is Kind.STRING:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if kind is Kind.INTEGER:
        if isinstance(value, str) and _INTEGER.match(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) > INT64:
            raise bad("an integer")
        return value
    if kind is Kind.NUMBER:
        if isinstance(value, str):
            try:
                value = float(value) if _NUMBER.match(value) else value
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise bad("a number")
        return value
    if kind is Kind.BOOLEAN:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise bad("a boolean (true or false)")
        return value
    if kind is Kind.DATETIME:
        if isinstance(value, str):  # an unencoded "+" in a URL arrives as a space
            value = _SPACED_OFFSET.sub(r"+\1", value)
        parsed = parse_datetime(value) if isinstance(value, str) else value
        if not isinstance(parsed, datetime) or parsed.tzinfo is None:
            raise bad("an RFC 3339 date-time with an offset, e.g. 2024-01-31T12:00:00Z")
        return parsed
    # Kind.ANY keeps text: the JSON text of a typed value.
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int) or (isinstance(value, float) and math.isfinite(value)):
        return json.dumps(value)
    raise bad("a string, number or boolean")


def operand(kind: Kind, value: Any) -> Any:
    """A criterion value in the form it is compared in: date-times as `instant_key` text."""
    if kind is Kind.DATETIME:
        parsed = parse_datetime(value) if isinstance(value, str) else value
        return instant_key(parsed) if isinstance(parsed, datetime) else None
    return value


def any_candidates(text: str) -> tuple[Any, ...]:
    """What an `any` value given as text equals: the string itself, and the JSON scalar it parses to."""

    def refuse(_: str) -> Any:
        raise ValueError

    try:
        parsed = json.loads(text, parse_constant=refuse)
    except ValueError:
        return (text,)
    if isinstance(parsed, bool) or (isinstance(parsed, int) and abs(parsed) <= INT64):
        return (text, parsed)
    if isinstance(parsed, float) and math.isfinite(parsed):
        return (text, parsed)
    return (text,)


def checked(item: Criterion, resource: ResourceType = CUSTOMER_TYPE) -> tuple[Attribute, Kind]:
    """The attribute and kind of a criterion, which may have been built without `criterion`."""
    attribute = resolve(item.path, resource)
    kind = attribute.node if attribute is not None else None
    if (
        attribute is None
        or not isinstance(kind, Kind)
        or item.op not in OPS[:-1]
        or (item.op in ORDERING and kind in (Kind.BOOLEAN, Kind.ANY))
        or not item.values
    ):
        dotted = ".".join(item.path)
        raise InvalidQuery(f"Cannot filter on '{dotted}' with '{item.op}'", field=dotted)
    return attribute, kind


def check_filter(filter: Filter) -> None:
    """Refuse filters too large to run: more than MAX_CRITERIA criteria or nested deeper than MAX_DEPTH."""
    count = 0

    def walk(node: Filter, depth: int) -> None:
        nonlocal count
        if depth > MAX_DEPTH:
            raise InvalidQuery(f"The filter is nested deeper than {MAX_DEPTH} levels", field="filter")
        if isinstance(node, Criterion):
            count += 1
            if len(node.values) > MAX_OR_VALUES:
                raise InvalidQuery(
                    f"A criterion has more than {MAX_OR_VALUES} values", field=".".join(node.path)
                )
        elif isinstance(node, Related):
            count += 1
            if node.filter is not None:
                walk(node.filter, depth + 1)
        else:
            for item in node.items:
                walk(item, depth + 1)

    walk(filter, 1)
    if count > MAX_CRITERIA:
        raise InvalidQuery(f"The filter has more than {MAX_CRITERIA} criteria", field="filter")


# -- REST parameters ------------------------------------------------------------------------------


def parse_rest_query(
    params: Sequence[tuple[str, str]],
    *,
    default_limit: int,
    max_limit: int,
    resource: ResourceType = CUSTOMER_TYPE,
) -> CustomerQuery:
    """The query of REST parameters, in the order received (a parameter may repeat)."""
    groups: dict[tuple[str, str], tuple[str, list[str]]] = {}
    fields: list[tuple[str, ...]] | None = None
    single: dict[str, str] = {}
    for name, value in params:
        if name == "fields":
            fields = (fields or []) + [_select(path, resource) for path in _items(value, "fields")]
        elif name in RESERVED:
            if name in single:
                raise InvalidQuery(f"'{name}' is given more than once", field=name)
            single[name] = value
        else:
            path, op = _split_operator(name)
            values = _items(value, name, strip=False)
            entry = groups.setdefault((path, op), (name, []))
            entry[1].extend(values)
    if len(groups) > MAX_CRITERIA:
        raise InvalidQuery(
            f"At most {MAX_CRITERIA} filter criteria are allowed", field=list(groups.values())[-1][0]
        )
    criteria = [
        criterion(path, op, values, param=name, resource=resource)
        for (path, op), (name, values) in groups.items()
    ]
    limit = _integer(single.get("limit"), "limit", default_limit, minimum=1, maximum=max_limit)
    return CustomerQuery(
        filter=None if not criteria else criteria[0] if len(criteria) == 1 else And(tuple(criteria)),
        fields=None if fields is None else tuple(dict.fromkeys(fields)),
        sort=tuple(_sort_key(item, resource) for item in _items(single["sort"], "sort"))
        if "sort" in single
        else (),
        offset=_integer(single.get("offset"), "offset", 0, minimum=0),
        limit=limit,
    )


def _split_operator(name: str) -> tuple[str, str]:
    head, dot, last = name.rpartition(".")
    if dot and head and last in OPS:
        return head, last
    return name, "eq"


def _items(value: str, field: str, *, strip: bool = True) -> list[str]:
    items = [item.strip() if strip else item for item in value.split(",")]
    if not any(items):
        raise InvalidQuery(f"'{field}' needs a value", field=field)
    if not all(items):
        raise InvalidQuery(f"'{field}' has an empty item in its list", field=field)
    return items


def _integer(text: str | None, field: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    """A paging number: above `maximum` it is capped to it (limit); above INT64 without one, refused."""
    if text is None:
        return default
    if not re.fullmatch(r"[+-]?\d{1,40}", text.strip()) or int(text) < minimum:
        raise InvalidQuery(f"'{field}' must be an integer of at least {minimum}", field=field)
    if maximum is not None:
        return min(int(text), maximum)
    if int(text) > INT64:
        raise InvalidQuery(f"'{field}' must be at most {INT64}", field=field)
    return int(text)


def _select(path: str, resource: ResourceType) -> tuple[str, ...]:
    return _attribute(path, "fields", scalar=False, purpose="select", resource=resource).path


def _sort_key(item: str, resource: ResourceType) -> SortKey:
    descending = item.startswith("-")
    attribute = _attribute(
        item.removeprefix("-").strip(), "sort", scalar=True, purpose="sort", resource=resource
    )
    if attribute.through_array:
        raise InvalidQuery(f"Cannot sort on '{item}': it is inside an array", field="sort")
    return SortKey(attribute.path, descending)
