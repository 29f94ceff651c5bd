"""`CustomerWhere`: typed filters that compile to the query model REST uses (app.query.model).

Each operator given is one criterion, built by `app.query.criterion` (which types and checks the value
exactly as for REST); the operators of one filter and the members of one `where` are ANDed, `in` values
are ORed, `and`/`or` lists combine whole `where`s. On an array each
criterion matches when ANY element matches, on its own - as a dotted path into an array does in REST.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, ClassVar

import strawberry
from strawberry import UNSET
from strawberry.types.unset import UnsetType

from app.domain.catalogue import Kind
from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.query.model import And, Filter, Or, Related, check_filter, criterion
from schema.derive import REGISTRY, graphql_name, where_type
from schema.scalars import JSON, DateTime

_OPS = {"eq": "eq", "ne": "ne", "in_": "eq", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}


def _in() -> Any:
    return strawberry.field(name="in", default=UNSET, description="Equal to any of these")


@strawberry.input(description="Conditions on a text attribute (ordering compares code points)")
class StringFilter:
    eq: str | None = UNSET
    ne: str | None = UNSET
    in_: list[str] | None = _in()
    gt: str | None = UNSET
    gte: str | None = UNSET
    lt: str | None = UNSET
    lte: str | None = UNSET


@strawberry.input(description="Conditions on a date-time attribute, compared as instants")
class DateTimeFilter:
    eq: DateTime | None = UNSET
    ne: DateTime | None = UNSET
    in_: list[DateTime] | None = _in()
    gt: DateTime | None = UNSET
    gte: DateTime | None = UNSET
    lt: DateTime | None = UNSET
    lte: DateTime | None = UNSET


@strawberry.input(description="Conditions on an integer attribute")
class IntFilter:
    eq: int | None = UNSET
    ne: int | None = UNSET
    in_: list[int] | None = _in()
    gt: int | None = UNSET
    gte: int | None = UNSET
    lt: int | None = UNSET
    lte: int | None = UNSET


@strawberry.input(description="Conditions on a number attribute (an amount)")
class FloatFilter:
    eq: float | None = UNSET
    ne: float | None = UNSET
    in_: list[float] | None = _in()
    gt: float | None = UNSET
    gte: float | None = UNSET
    lt: float | None = UNSET
    lte: float | None = UNSET


@strawberry.input(description="Conditions on a boolean attribute")
class BooleanFilter:
    eq: bool | None = UNSET
    ne: bool | None = UNSET


@strawberry.input(description="Conditions on an any-JSON value: equal to the string, number or boolean given")
class JSONFilter:
    eq: JSON | None = UNSET
    ne: JSON | None = UNSET
    in_: list[JSON] | None = _in()


OPERATOR_FILTERS = (StringFilter, DateTimeFilter, IntFilter, FloatFilter, BooleanFilter, JSONFilter)


class _ToFilter:
    # The resource whose attributes the criteria name (a derived `where` of another resource sets it).
    filtered_resource: ClassVar[ResourceType] = CUSTOMER_TYPE

    def to_filter(self) -> Filter | None:
        """The filter of the query model (None when there is no condition); raises InvalidQuery."""
        items = _criteria(self, (), "where", self.filtered_resource)
        if not items:
            return None
        result = items[0] if len(items) == 1 else And(tuple(items))
        check_filter(result)
        return result


FILTER_OF_KIND: dict[Kind, type] = {
    Kind.STRING: StringFilter,
    Kind.DATETIME: DateTimeFilter,
    Kind.INTEGER: IntFilter,
    Kind.NUMBER: FloatFilter,
    Kind.BOOLEAN: BooleanFilter,
    Kind.ANY: JSONFilter,
}


@strawberry.input
class _LinkedAccounts:
    # Members that are conditions on the linked resources of the other side, by the link they follow.
    related_fields: ClassVar[dict[str, str]] = {"accounts": "accounts"}

    accounts: Annotated["AccountWhere", strawberry.lazy("schema.accounts")] | None = strawberry.field(  # noqa: F821, UP037
        default=UNSET,
        description='Some linked TMF666 account matches (e.g. `paymentStatus: {eq: "inArrears"}`)',
    )


CustomerWhere: Any = where_type(
    CUSTOMER_TYPE.model,
    FILTER_OF_KIND,
    name="CustomerWhere",
    combinable=True,
    bases=(_ToFilter, _LinkedAccounts),
)


def __getattr__(name: str) -> Any:
    """The derived filters of the sub-resources by name (`ContactMediumWhere`...)."""
    try:
        return REGISTRY.classes[name]
    except KeyError:
        raise AttributeError(name) from None


def _graphql_name(where: Any, field: dataclasses.Field[Any]) -> str:
    special = {"in_": "in", "and_": "and", "or_": "or"}.get(field.name)
    return special or graphql_name(getattr(type(where), "__tmf_members__", {}).get(field.name, field.name))


def _criteria(
    where: Any, path: tuple[str, ...], param: str, resource: ResourceType = CUSTOMER_TYPE
) -> list[Filter]:
    """The criteria of one `where` object (or operator filter) at `path`, in field order."""
    items: list[Filter] = []
    for field in dataclasses.fields(where):
        value = getattr(where, field.name)
        if isinstance(value, UnsetType):
            continue
        if field.name in getattr(where, "not_criteria", ()):
            # Such a member (an account's `kind`) chooses what is searched: it has no meaning inside and/or.
            if param != "where":
                name = f"{param}.{_graphql_name(where, field)}"
                raise InvalidQuery(f"'{name}' applies only at the top level of a where", field=name)
            continue
        name = f"{param}.{_graphql_name(where, field)}"
        if value is None:
            raise InvalidQuery(f"'{name}' is null; leave it out to set no condition", field=name)
        if field.name in ("and_", "or_"):
            items.append(_combine(field.name, value, name, resource))
        elif field.name in getattr(where, "related_fields", {}):
            kinds = value.kinds() if hasattr(value, "kinds") else ()
            items.append(Related(where.related_fields[field.name], value.to_filter(), kinds))
        elif isinstance(where, OPERATOR_FILTERS):
            values = value if field.name == "in_" else [value]
            items.append(criterion(".".join(path), _OPS[field.name], values, param=name, resource=resource))
        else:
            items.extend(_criteria(value, (*path, type(where).__tmf_members__[field.name]), name, resource))
    return items


def _combine(kind: str, wheres: list[Any], name: str, resource: ResourceType = CUSTOMER_TYPE) -> Filter:
    groups: list[Filter] = []
    for index, where in enumerate(wheres):
        items = _criteria(where, (), f"{name}[{index}]", resource)
        groups.append(items[0] if len(items) == 1 else And(tuple(items)))
    if kind == "and_":
        return And(tuple(groups))
    if not groups:
        raise InvalidQuery(f"'{name}' is empty: give at least one condition", field=name)
    return Or(tuple(groups))
