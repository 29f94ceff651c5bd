"""The GraphQL schema against the resource description (no HTTP): every v4 attribute is readable, writable and
filterable, and `where` compiles to the same query model REST builds."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.catalogue import Arr, Kind, Obj
from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER
from app.query.model import And, Criterion, Or, parse_rest_query, resolve
from schema import convert
from schema.connection import CustomerOrderField, customer_query, decode_cursor, encode_cursor
from schema.convert import plan
from schema.filters import (
    BooleanFilter,
    ContactMediumWhere,
    CustomerWhere,
    DateTimeFilter,
    IntFilter,
    JSONFilter,
    StringFilter,
    TimePeriodWhere,
)
from schema.inputs import CustomerCreateInput, CustomerPatchInput, RelatedPartyInput, TimePeriodInput
from schema.types import Customer

FILTER_OF_KIND = {
    Kind.STRING: StringFilter,
    Kind.DATETIME: DateTimeFilter,
    Kind.INTEGER: IntFilter,
    Kind.BOOLEAN: BooleanFilter,
    Kind.ANY: JSONFilter,
}


def object_of(node: Any) -> Obj | None:
    node = node.item if isinstance(node, Arr) else node
    return node if isinstance(node, Obj) else None


def assert_mirrors(
    cls: type,
    node: Obj,
    path: str,
    *,
    leave_out: frozenset[str] = frozenset(),
    extra: frozenset[str] = frozenset(),
) -> None:
    layout = plan(cls)
    assert layout.known == (set(node.members) - leave_out) | extra, path
    assert layout.extensible, f"{path} keeps the members v4 does not name"
    for member in layout.members:
        sub = object_of(node.members.get(member.tmf))
        if sub is not None:
            assert member.nested is not None, f"{path}.{member.tmf}"
            assert member.is_list == isinstance(node.members[member.tmf], Arr), f"{path}.{member.tmf}"
            assert_mirrors(member.nested, sub, f"{path}.{member.tmf}")


def test_every_v4_attribute_is_a_field_of_customer() -> None:
    assert_mirrors(Customer, CUSTOMER, "Customer", extra=frozenset({"etag"}))


def test_every_writable_attribute_is_an_input_field() -> None:
    for cls in (CustomerCreateInput, CustomerPatchInput):
        assert_mirrors(cls, CUSTOMER, cls.__name__, leave_out=frozenset({"id", "href"}))


def leaf_paths(node: Obj, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Kind]:
    paths: dict[tuple[str, ...], Kind] = {}
    for name, member in node.members.items():
        sub = object_of(member)
        if sub is not None:
            paths.update(leaf_paths(sub, (*prefix, name)))
        else:
            assert isinstance(member, Kind)
            paths[(*prefix, name)] = member
    return paths


def where_paths(cls: type, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], type]:
    paths: dict[tuple[str, ...], type] = {}
    for member in plan(cls).members:
        if member.python in getattr(cls, "related_fields", {}):
            continue  # a condition on the linked accounts (tests/test_graphql_account.py), not an attribute
        assert member.nested is not None
        if member.python in ("and_", "or_"):
            assert member.nested is CustomerWhere and member.is_list
        elif member.nested in FILTER_OF_KIND.values():
            paths[(*prefix, member.tmf)] = member.nested
        else:
            paths.update(where_paths(member.nested, (*prefix, member.tmf)))
    return paths


def test_every_stored_attribute_is_filterable_with_the_filter_of_its_kind() -> None:
    expected = {
        path: FILTER_OF_KIND[kind] for path, kind in leaf_paths(CUSTOMER).items() if path != ("href",)
    }
    assert where_paths(CustomerWhere) == expected


def test_order_fields_are_sortable_attributes() -> None:
    for field in CustomerOrderField:
        attribute = resolve(tuple(field.value.split(".")))
        assert attribute is not None and isinstance(attribute.node, Kind) and not attribute.through_array, (
            field
        )


def test_where_compiles_to_the_query_model_of_rest() -> None:
    where = CustomerWhere(
        status=StringFilter(in_=["Approved", "Pending"]),
        contact_medium=ContactMediumWhere(preferred=BooleanFilter(eq=True)),
        valid_for=TimePeriodWhere(start_date_time=DateTimeFilter(gte="2024-01-01T00:00:00Z")),
    )
    rest = parse_rest_query(
        [
            ("status", "Approved,Pending"),
            ("contactMedium.preferred", "true"),
            ("validFor.startDateTime.gte", "2024-01-01T00:00:00Z"),
        ],
        default_limit=100,
        max_limit=1000,
    )
    assert where.to_filter() == rest.filter


def test_and_or_nest() -> None:
    where = CustomerWhere(
        name=StringFilter(ne="x"),
        or_=[
            CustomerWhere(status=StringFilter(eq="a")),
            CustomerWhere(and_=[], type_=StringFilter(eq="Club")),
        ],
    )
    assert where.to_filter() == And(
        (
            Criterion(("name",), "ne", ("x",)),
            Or(
                (Criterion(("status",), "eq", ("a",)), And((Criterion(("@type",), "eq", ("Club",)), And(()))))
            ),
        )
    )
    assert CustomerWhere().to_filter() is None


def test_refusals_name_the_argument() -> None:
    cases = [
        (CustomerWhere(name=StringFilter(eq=None)), "where.name.eq"),
        (CustomerWhere(engaged_party=None), "where.engagedParty"),
        (CustomerWhere(or_=[CustomerWhere(id=StringFilter(in_=[]))]), "where.or[0].id.in"),
        (CustomerWhere(and_=[CustomerWhere(name=StringFilter(eq=str(i))) for i in range(21)]), "filter"),
    ]
    for where, field in cases:
        with pytest.raises(InvalidQuery) as raised:
            where.to_filter()
        assert raised.value.field == field


def test_cursors() -> None:
    assert decode_cursor(encode_cursor(41)) == 42
    for bad in ("", "!!", encode_cursor(1)[:-2] + "zz", "b2Zmc2V0Oi0x"):
        with pytest.raises(InvalidQuery):
            decode_cursor(bad)
    query = customer_query(None, None, None, encode_cursor(9), default_first=100, max_first=50)
    assert (query.offset, query.limit, query.filter, query.fields) == (10, 50, None, None)


def test_inputs_become_tmf_documents() -> None:
    party = RelatedPartyInput(id="1", referred_type="Organization", type_="PartyRef", extensions={"x": None})
    body = CustomerCreateInput(name="n", engaged_party=party, status=None, valid_for=TimePeriodInput())
    assert body.to_document() == {
        "name": "n",
        "engagedParty": {"id": "1", "@type": "PartyRef", "@referredType": "Organization", "x": None},
        "validFor": {},
    }
    patch = CustomerPatchInput(
        status=None, valid_for=TimePeriodInput(end_date_time=None), extensions={"y": None}
    )
    assert patch.to_merge_patch() == {"status": None, "validFor": {"endDateTime": None}, "y": None}


def test_a_type_s_plan_names_each_member_s_nested_type_and_whether_it_is_a_list() -> None:
    """schema.convert.plan, worked out afresh (plans are kept per class): an object member names its
    Strawberry type, an array of objects its items' type and that it is a list (through the optional
    around it), a scalar neither; resolvers and `extensions` are not members."""
    convert._PLANS.pop(Customer, None)
    layout = convert.plan(Customer)
    members = {member.tmf: member for member in layout.members}
    party, media, name = members["engagedParty"], members["contactMedium"], members["name"]
    assert (party.is_list, media.is_list, name.is_list) == (False, True, False)
    assert party.nested is not None and party.nested.__name__ == "RelatedParty"
    assert media.nested is not None and media.nested.__name__ == "ContactMedium"
    assert name.nested is None and members["characteristic"].is_list
    assert "extensions" not in members and "accounts" not in members and layout.extensible
    assert convert.plan(Customer) is layout
