"""`CustomerWhere`: typed filters that compile to the query model REST uses (app.query.model).

Each operator given is one criterion, built by `app.query.criterion` (which types and checks the value
exactly as for REST); the operators of one filter and the members of one `where` are ANDed, `in` values
are ORed, `and`/`or` lists combine whole `where`s. On an array (`contactMedium`, `characteristic`...) each
criterion matches when ANY element matches, on its own - as `contactMedium.mediumType=email` in REST.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import strawberry
from strawberry import UNSET
from strawberry.types.unset import UnsetType

from app.domain.errors import InvalidQuery
from app.query.model import And, Filter, Or, check_filter, criterion
from schema.convert import tmf_name
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


@strawberry.input(description="Conditions on a boolean attribute")
class BooleanFilter:
    eq: bool | None = UNSET
    ne: bool | None = UNSET


@strawberry.input(description="Conditions on an any-JSON value: equal to the string, number or boolean given")
class JSONFilter:
    eq: JSON | None = UNSET
    ne: JSON | None = UNSET
    in_: list[JSON] | None = _in()


OPERATOR_FILTERS = (StringFilter, DateTimeFilter, IntFilter, BooleanFilter, JSONFilter)


@strawberry.input(description="Conditions on a period of time")
class TimePeriodWhere:
    start_date_time: DateTimeFilter | None = UNSET
    end_date_time: DateTimeFilter | None = UNSET


def _type_field() -> Any:
    return strawberry.field(name="type", default=UNSET, description="The TMF `@type`")


@strawberry.input(description="Conditions on a party reference")
class RelatedPartyWhere:
    id: StringFilter | None = UNSET
    href: StringFilter | None = UNSET
    name: StringFilter | None = UNSET
    role: StringFilter | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()
    referred_type: StringFilter | None = UNSET


@strawberry.input(description="Conditions on an account reference")
class AccountRefWhere:
    id: StringFilter | None = UNSET
    href: StringFilter | None = UNSET
    name: StringFilter | None = UNSET
    description: StringFilter | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()
    referred_type: StringFilter | None = UNSET


@strawberry.input(description="Conditions on an agreement or payment method reference")
class EntityRefWhere:
    id: StringFilter | None = UNSET
    href: StringFilter | None = UNSET
    name: StringFilter | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()
    referred_type: StringFilter | None = UNSET


@strawberry.input(description="Conditions on a characteristic")
class CharacteristicWhere:
    name: StringFilter | None = UNSET
    value_type: StringFilter | None = UNSET
    value: JSONFilter | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()


@strawberry.input(description="Conditions on the details of a contact medium")
class MediumCharacteristicWhere:
    city: StringFilter | None = UNSET
    contact_type: StringFilter | None = UNSET
    country: StringFilter | None = UNSET
    email_address: StringFilter | None = UNSET
    fax_number: StringFilter | None = UNSET
    phone_number: StringFilter | None = UNSET
    post_code: StringFilter | None = UNSET
    social_network_id: StringFilter | None = UNSET
    state_or_province: StringFilter | None = UNSET
    street1: StringFilter | None = UNSET
    street2: StringFilter | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()


@strawberry.input(description="Conditions on a contact medium")
class ContactMediumWhere:
    medium_type: StringFilter | None = UNSET
    preferred: BooleanFilter | None = UNSET
    characteristic: MediumCharacteristicWhere | None = UNSET
    valid_for: TimePeriodWhere | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()


@strawberry.input(description="Conditions on a credit profile")
class CreditProfileWhere:
    credit_profile_date: DateTimeFilter | None = UNSET
    credit_risk_rating: IntFilter | None = UNSET
    credit_score: IntFilter | None = UNSET
    valid_for: TimePeriodWhere | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()


@strawberry.input(description="Conditions on customers; all given members must hold (see `and`/`or`)")
class CustomerWhere:
    id: StringFilter | None = UNSET
    name: StringFilter | None = UNSET
    status: StringFilter | None = UNSET
    status_reason: StringFilter | None = UNSET
    account: AccountRefWhere | None = UNSET
    agreement: EntityRefWhere | None = UNSET
    characteristic: CharacteristicWhere | None = UNSET
    contact_medium: ContactMediumWhere | None = UNSET
    credit_profile: CreditProfileWhere | None = UNSET
    engaged_party: RelatedPartyWhere | None = UNSET
    payment_method: EntityRefWhere | None = UNSET
    related_party: RelatedPartyWhere | None = UNSET
    valid_for: TimePeriodWhere | None = UNSET
    base_type: StringFilter | None = UNSET
    schema_location: StringFilter | None = UNSET
    type_: StringFilter | None = _type_field()
    and_: list[CustomerWhere] | None = strawberry.field(
        name="and", default=UNSET, description="Every one of these holds"
    )
    or_: list[CustomerWhere] | None = strawberry.field(
        name="or", default=UNSET, description="At least one of these holds"
    )

    def to_filter(self) -> Filter | None:
        """The filter of the query model (None when there is no condition); raises InvalidQuery."""
        items = _criteria(self, (), "where")
        if not items:
            return None
        result = items[0] if len(items) == 1 else And(tuple(items))
        check_filter(result)
        return result


def _graphql_name(field: dataclasses.Field[Any]) -> str:
    return {"type_": "type", "in_": "in", "and_": "and", "or_": "or"}.get(field.name) or tmf_name(field.name)


def _criteria(where: Any, path: tuple[str, ...], param: str) -> list[Filter]:
    """The criteria of one `where` object (or operator filter) at `path`, in field order."""
    items: list[Filter] = []
    for field in dataclasses.fields(where):
        value = getattr(where, field.name)
        if isinstance(value, UnsetType):
            continue
        name = f"{param}.{_graphql_name(field)}"
        if value is None:
            raise InvalidQuery(f"'{name}' is null; leave it out to set no condition", field=name)
        if field.name in ("and_", "or_"):
            items.append(_combine(field.name, value, name))
        elif isinstance(where, OPERATOR_FILTERS):
            values = value if field.name == "in_" else [value]
            items.append(criterion(".".join(path), _OPS[field.name], values, param=name))
        else:
            items.extend(_criteria(value, (*path, tmf_name(field.name)), name))
    return items


def _combine(kind: str, wheres: list[CustomerWhere], name: str) -> Filter:
    groups: list[Filter] = []
    for index, where in enumerate(wheres):
        items = _criteria(where, (), f"{name}[{index}]")
        groups.append(items[0] if len(items) == 1 else And(tuple(items)))
    if kind == "and_":
        return And(tuple(groups))
    if not groups:
        raise InvalidQuery(f"'{name}' is empty: give at least one condition", field=name)
    return Or(tuple(groups))
