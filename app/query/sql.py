"""The TMF630 query model (app.query.model) compiled to SQL, for SQLite and PostgreSQL.

Indexed columns serve the attributes the model marks `Indexed` (app.domain.customer); every other attribute is
read from the JSON document: `json_extract` / `json_each` on SQLite, `#>` / `#>>` / `jsonb_array_elements`
on PostgreSQL, where equality on anything but a date-time is a `doc @> {...}` containment that the GIN index
serves. Paths through arrays become `EXISTS (SELECT * FROM <elements> WHERE ...)`: any element matches.
On SQLite, equality on such a path on customers is first narrowed by the side table `customer_term` (migration
0006_customer_term: every scalar inside the customers' arrays, by member name, kept by triggers), so that the
EXISTS runs on the few customers holding the value rather than on every document.

No attribute name or value is pasted into SQL text: JSON paths and values are bound parameters.

Date-times inside the document keep the offset they were sent with, so both dialects rewrite them in SQL to
the `instant_key` form (UTC, microseconds, fixed width) before comparing: lexical order is then time order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from app.domain.catalogue import Kind
from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
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
from app.store.tables import Account, AccountParty, Customer, CustomerAccount

TABLE = Customer.__table__  # type: ignore[attr-defined]
ACCOUNT_TABLE = Account.__table__  # type: ignore[attr-defined]
PARTY_LINKS = AccountParty.__table__.c  # type: ignore[attr-defined]
CUSTOMER_LINKS = CustomerAccount.__table__.c  # type: ignore[attr-defined]
# Linked accounts are filtered on the party account's attributes (the superset of the four kinds').
ACCOUNT_FILTER_TYPE = ACCOUNT_MANAGEMENT.resource("partyAccount").type
# SQLite only, created and kept by migration 0006_customer_term (so in no metadata that creates tables): its
# primary key is (key, value, customer_seq); `value` has no type, a term keeps its JSON type.
TERMS = Table(
    "customer_term", MetaData(), Column("customer_seq", Integer), Column("key", Text), Column("value")
)
NOT_NULL = ("id", "name", "engaged_party_id")  # mandatory attributes: sorting them needs no NULLS LAST

Leaf = Callable[[ColumnElement[Any], tuple[str, ...]], ColumnElement[bool]]


def where_clause(
    filter: Filter, dialect: str, *, resource: ResourceType = CUSTOMER_TYPE, table: Table = TABLE
) -> ColumnElement[bool]:
    """The filter as a condition on `table`, whose rows hold `resource` documents (the customer's by
    default)."""
    _check_dialect(dialect)
    if isinstance(filter, Criterion):
        return _criterion(filter, dialect, resource, table)
    if isinstance(filter, Related):
        return _related(filter, dialect, table)
    parts = [where_clause(item, dialect, resource=resource, table=table) for item in filter.items]
    if isinstance(filter, And):
        return and_(*parts) if parts else true()
    return or_(*parts) if parts else false()


def order_by(
    sort: Sequence[SortKey], dialect: str, *, resource: ResourceType = CUSTOMER_TYPE, table: Table = TABLE
) -> list[ColumnElement[Any]]:
    _check_dialect(dialect)
    terms: list[ColumnElement[Any]] = []
    for key in sort:
        attribute = resolve(key.path, resource)
        if attribute is None or not isinstance(attribute.node, Kind) or attribute.through_array:
            raise InvalidQuery(f"Cannot sort on '{'.'.join(key.path)}'", field="sort")
        value = _sort_value(attribute, attribute.node, dialect, table)
        term = value.desc() if key.descending else value.asc()
        terms.append(term if attribute.column in NOT_NULL else term.nulls_last())
    terms.append(table.c.seq.asc())
    return terms


def _check_dialect(dialect: str) -> None:
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"Unsupported dialect {dialect!r}")


def _sort_value(attribute: Attribute, kind: Kind, dialect: str, table: Table) -> ColumnElement[Any]:
    if attribute.column is not None:
        return table.c[attribute.column]
    path = attribute.groups[0]
    if dialect == "sqlite":
        value = func.json_extract(table.c.doc, _sqlite_path(path))
        return _sqlite_instant(value) if kind is Kind.DATETIME else value
    doc = type_coerce(table.c.doc, JSONB)
    if kind in (Kind.STRING, Kind.DATETIME):
        text = doc[path].astext
        return _pg_instant(text) if kind is Kind.DATETIME else text
    return doc[path]


# -- criteria -------------------------------------------------------------------------------------


def _criterion(item: Criterion, dialect: str, resource: ResourceType, table: Table) -> ColumnElement[bool]:
    attribute, kind = checked(item, resource)
    if kind is Kind.ANY:
        options = [any_candidates(str(value)) for value in item.values]
        candidates = [c for group in options for c in group]
        if dialect == "postgresql" and item.op == "eq":
            return _pg_contains(attribute, candidates, table)
        any_leaf = partial(_any_leaf, op=item.op, options=options, dialect=dialect)
        exact = _within(table.c.doc, attribute.groups, any_leaf, dialect)
        return _narrowed(exact, item, attribute, kind, candidates, dialect, table)
    values = [operand(kind, value) for value in item.values]
    if attribute.column is not None:
        return _compare(table.c[attribute.column], item.op, values)
    if dialect == "postgresql" and item.op == "eq" and kind not in (Kind.DATETIME, Kind.NUMBER):
        return _pg_contains(attribute, values, table)
    leaf = partial(_leaf, kind=kind, op=item.op, values=values, dialect=dialect)
    exact = _within(table.c.doc, attribute.groups, leaf, dialect)
    return _narrowed(exact, item, attribute, kind, values, dialect, table)


def _narrowed(
    exact: ColumnElement[bool],
    item: Criterion,
    attribute: Attribute,
    kind: Kind,
    values: Sequence[Any],
    dialect: str,
    table: Table,
) -> ColumnElement[bool]:
    """SQLite equality through an array on customers: `exact` among the customers whose customer_term rows
    hold one of `values` under the leaf's member name (an index lookup rather than a scan). The terms hold
    every scalar inside an array as json_extract reads it (text, number, or 1/0 for a boolean), and SQLite
    compares them as `exact` does (no affinity: the text '5' is not the integer 5), so they are a superset
    of the matches; `exact` decides. Date-times are compared as instants, not as stored: they keep `exact`
    alone, as do the other operators, PostgreSQL (the GIN index serves it) and the account tables."""
    name = attribute.groups[-1][-1:]  # empty when the leaf is an array's element itself
    if dialect != "sqlite" or item.op != "eq" or not attribute.through_array or not name:
        return exact
    if kind is Kind.DATETIME or not table.is_derived_from(TABLE):  # TABLE or its alias (`_related`)
        return exact
    # One bound parameter per value, each typed by its own value (an `any` value is text and number).
    stored = [literal(int(value) if isinstance(value, bool) else value) for value in values]
    holders = select(TERMS.c.customer_seq).where(TERMS.c.key == name[0], TERMS.c.value.in_(stored))
    return and_(table.c.seq.in_(holders), exact)


def _related(item: Related, dialect: str, table: Table) -> ColumnElement[bool]:
    """EXISTS a linked row of the other side (`table` is this side's) that matches the inner filter. A
    customer and an account are linked when the customer lists the account, or the account lists the
    customer as a party of type Customer (app.links)."""
    if item.target == "accounts":
        other = ACCOUNT_TABLE.alias()
        customer_id, account_id = table.c.id, other.c.id
        conditions = [other.c.kind.in_(list(item.kinds))]
        if item.filter is not None:
            conditions.append(where_clause(item.filter, dialect, resource=ACCOUNT_FILTER_TYPE, table=other))
    elif item.target == "customers":
        other = TABLE.alias()
        customer_id, account_id = other.c.id, table.c.id
        conditions = []
        if item.filter is not None:
            conditions.append(where_clause(item.filter, dialect, table=other))
    else:
        raise InvalidQuery(f"Unknown link '{item.target}'", field=item.target)
    # Correlated to both sides explicitly: this side's table is two SELECT levels up.
    linked = or_(
        exists()
        .where(CUSTOMER_LINKS.customer_id == customer_id, CUSTOMER_LINKS.account_id == account_id)
        .correlate_except(CUSTOMER_LINKS.customer_id.table),
        exists()
        .where(
            PARTY_LINKS.account_id == account_id,
            PARTY_LINKS.party_id == customer_id,
            PARTY_LINKS.party_type == "Customer",
        )
        .correlate_except(PARTY_LINKS.account_id.table),
    )
    return exists().select_from(other).where(linked, *conditions)


def _compare(value: ColumnElement[Any], op: str, operands: Sequence[Any]) -> ColumnElement[bool]:
    if op == "eq":
        return value == operands[0] if len(operands) == 1 else value.in_(list(operands))
    compare: dict[str, Callable[[Any], ColumnElement[bool]]] = {
        "ne": value.__ne__,
        "gt": value.__gt__,
        "gte": value.__ge__,
        "lt": value.__lt__,
        "lte": value.__le__,
    }
    return or_(*(compare[op](operand) for operand in operands))


def _within(
    source: ColumnElement[Any], groups: tuple[tuple[str, ...], ...], leaf: Leaf, dialect: str
) -> ColumnElement[bool]:
    """`leaf` on the value at `groups[0]`, or, through an array, EXISTS an element where the rest holds."""
    if len(groups) == 1:
        return leaf(source, groups[0])
    if dialect == "sqlite":
        elements = func.json_each(source, _sqlite_path(groups[0])).table_valued("value")
    else:
        array = type_coerce(source, JSONB)[groups[0]]
        elements = func.jsonb_array_elements(array).table_valued(column("value", JSONB))
    inner = _within(elements.c.value, groups[1:], leaf, dialect)
    return exists().select_from(elements).where(inner)


def _leaf(
    source: ColumnElement[Any], path: tuple[str, ...], kind: Kind, op: str, values: list[Any], dialect: str
) -> ColumnElement[bool]:
    if dialect == "sqlite":
        value = func.json_extract(source, _sqlite_path(path))
        if kind is Kind.DATETIME:
            return _compare(_sqlite_instant(value), op, values)
        if kind is Kind.BOOLEAN:  # json_extract reads true/false as 1/0
            return _compare(value, op, [int(v) for v in values])
        return _compare(value, op, values)
    doc = type_coerce(source, JSONB)
    if kind is Kind.DATETIME:
        return _compare(_pg_instant(doc[path].astext), op, values)
    if kind is Kind.STRING:
        return _compare(doc[path].astext, op, values)
    # numbers and booleans as jsonb: typed, and never an error whatever is stored
    return _compare(doc[path], op, [type_coerce(value, JSONB) for value in values])


def _any_leaf(
    source: ColumnElement[Any], path: tuple[str, ...], op: str, options: list[tuple[Any, ...]], dialect: str
) -> ColumnElement[bool]:
    """`any` values: equal when the stored JSON value is one of the candidates, with the same JSON type."""
    candidates = [c for group in options for c in group]
    if dialect == "sqlite":
        value = func.json_extract(source, _sqlite_path(path))
        json_type = func.json_type(source, _sqlite_path(path))
        present = json_type.is_not(None) & (json_type != "null")

        def equal(candidate: Any) -> ColumnElement[bool]:
            if isinstance(candidate, bool):
                return json_type == ("true" if candidate else "false")
            if isinstance(candidate, int | float):
                return json_type.in_(["integer", "real"]) & (value == candidate)
            return (json_type == "text") & (value == candidate)

    else:
        stored = type_coerce(source, JSONB)[path]
        present = stored.is_not(None) & (func.jsonb_typeof(stored) != "null")

        def equal(candidate: Any) -> ColumnElement[bool]:
            return stored == type_coerce(candidate, JSONB)  # jsonb equality keeps JSON types apart

    if op == "eq":
        return or_(*(equal(c) for c in candidates))
    # ne, ORed over the given values: the element has a value differing from one of them.
    return present & or_(*(~or_(*(equal(c) for c in group)) for group in options))


def _pg_contains(attribute: Attribute, values: Sequence[Any], table: Table) -> ColumnElement[bool]:
    """Equality as `doc @> {...}`: exact for JSON scalars (no type coercion, arrays match any element)."""
    doc = type_coerce(table.c.doc, JSONB)
    return or_(*(doc.contains(_nested(attribute.groups, value)) for value in values))


def _nested(groups: tuple[tuple[str, ...], ...], value: Any) -> Any:
    inner = value if len(groups) == 1 else [_nested(groups[1:], value)]
    for name in reversed(groups[0]):
        inner = {name: inner}
    return inner


def _sqlite_path(path: tuple[str, ...]) -> str:
    """A JSON path with quoted labels (`$."items"`), for binding: names may hold `@`."""
    return "$" + "".join(f'."{name}"' for name in path)


# -- date-times as instants -----------------------------------------------------------------------
# A stored date-time is `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)` (validated by app.domain.resource). Its
# instant_key is the UTC date and time to the second, then the fraction cut or padded to six digits:
# the offset, whole minutes, never touches the fraction.


def _offset_parts(value: ColumnElement[Any], last: Callable[[int], ColumnElement[Any]]) -> tuple[Any, Any]:
    utc = func.upper(last(1)) == "Z"
    offset = last(6)
    sign = case((func.substr(offset, 1, 1) == "-", -1), else_=1)
    hours = cast(func.substr(offset, 2, 2), Integer)
    minutes = cast(func.substr(offset, 5, 2), Integer)
    offset_minutes = case((utc, 0), else_=sign * (hours * 60 + minutes))
    fraction = case(
        (
            func.substr(value, 20, 1) == ".",
            func.substr(value, 21, func.length(value) - 20 - case((utc, 1), else_=6)),
        ),
        else_="",
    )
    return offset_minutes, fraction


def _local(value: ColumnElement[Any]) -> ColumnElement[str]:
    return func.substr(value, 1, 10, type_=String).concat("T").concat(func.substr(value, 12, 8, type_=String))


def _sqlite_instant(value: ColumnElement[Any]) -> ColumnElement[str]:
    offset_minutes, fraction = _offset_parts(value, lambda n: func.substr(value, -n, type_=String))
    shift = cast(-offset_minutes, String).concat(" minutes")
    seconds = func.strftime("%Y-%m-%dT%H:%M:%S", _local(value), shift, type_=String)
    micro = func.substr(cast(fraction, String).concat("000000"), 1, 6, type_=String)
    return seconds.concat(".").concat(micro).concat("Z")


def _pg_instant(value: ColumnElement[Any]) -> ColumnElement[str]:
    offset_minutes, fraction = _offset_parts(value, lambda n: func.right(value, n, type_=String))
    utc = cast(_local(value), TIMESTAMP) - func.make_interval(0, 0, 0, 0, 0, offset_minutes)
    seconds = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS', type_=String)
    micro = func.left(cast(fraction, String).concat("000000"), 6, type_=String)
    return seconds.concat(".").concat(micro).concat("Z")
