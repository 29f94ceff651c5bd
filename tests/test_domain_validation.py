"""The Customer's rules, on the model (no database, no HTTP): each refusal names the attribute path and says
what is wrong in the project's words; what the contract allows passes untouched."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.domain.catalogue import Arr, Kind, Obj, catalogue, kind_of
from app.domain.customer import Customer, CustomerCreate, CustomerUpdate, RelatedParty, example_customer
from app.domain.errors import Invalid
from app.domain.model import (
    create_variant,
    instant_key,
    lifecycle_attribute,
    parse_datetime,
    server_owned,
    update_variant,
)
from app.domain.resource import CUSTOMER_TYPE, indexed_columns, unstorable, validate_customer, with_defaults
from app.domain.validation import dotted, validate

PARTY = {"id": "500", "@referredType": "Organization"}
CREDIT = {"creditProfileDate": "2024-01-01T00:00:00Z", "validFor": {}}
BLANK = "is mandatory and must not be blank"
VALID: dict[str, Any] = {
    "name": "Moon",
    "status": "Approved",
    "statusReason": "checked",
    "engagedParty": {**PARTY, "name": "Moon FC", "role": "owner", "href": "h", "@type": "PartyRef"},
    "account": [{"id": "A1", "name": "Main", "description": "d", "@referredType": "BillingAccount"}],
    "agreement": [{"id": "G1", "name": "n"}],
    "paymentMethod": [{"id": "P1"}],
    "characteristic": [{"name": "seats", "value": 12, "valueType": "integer"}, {"name": "x", "value": False}],
    "contactMedium": [
        {
            "mediumType": "email",
            "preferred": True,
            "characteristic": {"emailAddress": "a@b.org", "street1": "1 Moon Road"},
            "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        }
    ],
    "creditProfile": [
        {
            "creditProfileDate": "2024-05-01T10:00:00+02:00",
            "creditRiskRating": 3,
            "creditScore": 720,
            "validFor": {"endDateTime": "2025-05-01T10:00:00.123456789Z"},
        }
    ],
    "relatedParty": [{"id": "9", "@referredType": "Individual", "role": "contact"}],
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2030-01-01T00:00:00-05:00"},
    "@baseType": "PartyRole",
    "@schemaLocation": "https://schemas.example/customer.json",
    "@type": "Customer",
    "x-extension": {"anything": [None, 1, "two"]},
}


def refusal(doc: Any) -> Invalid:
    with pytest.raises(Invalid) as raised:
        validate_customer(doc)
    return raised.value


def test_every_attribute_of_the_contract_passes_and_is_left_as_sent() -> None:
    doc = copy.deepcopy(VALID)
    validate_customer(doc)
    assert doc == VALID
    validate_customer(example_customer(1, "Approved", "7"))


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": None}, "name", "'name' is mandatory and must not be blank"),
        ({"name": " \t"}, "name", "'name' is mandatory and must not be blank"),
        ({"name": 5}, "name", "'name' must be a string"),
        ({"engagedParty": None}, "engagedParty", "'engagedParty' is mandatory and must not be blank"),
        ({"engagedParty": "500"}, "engagedParty", "'engagedParty' must be an object"),
        ({"engagedParty": {"id": "1"}}, "engagedParty.@referredType", "is mandatory and must not be blank"),
        ({"engagedParty": {**PARTY, "id": ""}}, "engagedParty.id", "is mandatory and must not be blank"),
        ({"status": None}, "status", "'status' must not be null"),
        ({"status": ["a"]}, "status", "'status' must be a string"),
        ({"account": {"name": "x"}}, "account", "'account' must be an array"),
        (
            {"account": [{"id": "1"}]},
            "account[0].name",
            f"'account[0].name' {BLANK}",
        ),
        ({"account": ["A1"]}, "account[0]", "'account[0]' must be an object"),
        ({"agreement": [{"name": "n"}]}, "agreement[0].id", "is mandatory"),
        ({"paymentMethod": [{"id": " "}]}, "paymentMethod[0].id", "is mandatory"),
        (
            {"characteristic": [{"name": "a"}]},
            "characteristic[0].value",
            "is mandatory and must not be blank",
        ),
        ({"characteristic": [{"name": "a", "value": None}]}, "characteristic[0].value", "is mandatory"),
        ({"characteristic": [{"value": 1}]}, "characteristic[0].name", "is mandatory"),
        (
            {"contactMedium": [{"mediumType": "email"}]},
            "contactMedium[0].characteristic",
            "'contactMedium[0].characteristic' is mandatory and must not be blank",
        ),
        (
            {"contactMedium": [{"mediumType": "e", "characteristic": {}, "preferred": "yes"}]},
            "contactMedium[0].preferred",
            "'contactMedium[0].preferred' must be a boolean",
        ),
        (
            {"contactMedium": [{"mediumType": "e", "characteristic": {}, "preferred": 1}]},
            "contactMedium[0].preferred",
            "must be a boolean",
        ),
        (
            {"creditProfile": [{**CREDIT, "creditScore": 1.5}]},
            "creditProfile[0].creditScore",
            "'creditProfile[0].creditScore' must be an integer",
        ),
        (
            {"creditProfile": [{**CREDIT, "creditScore": True}]},
            "creditProfile[0].creditScore",
            "must be an integer",
        ),
        (
            {"creditProfile": [{**CREDIT, "creditScore": "7"}]},
            "creditProfile[0].creditScore",
            "must be an integer",
        ),
        (
            {"creditProfile": [{"validFor": {}}]},
            "creditProfile[0].creditProfileDate",
            "is mandatory",
        ),
        (
            {"validFor": {"startDateTime": "2024-01-01"}},
            "validFor.startDateTime",
            "'validFor.startDateTime' must be an RFC 3339 date-time, e.g. 2024-01-31T12:00:00Z",
        ),
        ({"validFor": {"endDateTime": "2024-13-01T00:00:00Z"}}, "validFor.endDateTime", "RFC 3339"),
        ({"@schemaLocation": "schema.json"}, "@schemaLocation", "must be an absolute URI"),
        ({"@type": None}, "@type", "'@type' must not be null"),
    ],
)
def test_each_rule_names_the_attribute(change: dict[str, Any], field: str, message: str) -> None:
    error = refusal({**VALID, **change})
    assert error.field == field
    assert error.message.startswith(message) or message in error.message, error.message
    assert error.status == 400


def test_the_first_problem_is_named_and_the_others_counted() -> None:
    one = refusal({**VALID, "status": None})
    assert one.message == "'status' must not be null"
    two = refusal({**VALID, "status": None, "statusReason": 1})
    assert two.message == "'status' must not be null (and 1 more problem)" and two.field == "status"
    three = refusal({**VALID, "status": None, "statusReason": 1, "name": ""})
    assert three.message.endswith("(and 2 more problems)") and three.field == "name"


def test_server_owned_members_and_non_objects_are_refused() -> None:
    for member in ("id", "href"):
        error = refusal({**VALID, member: "x"})
        assert (error.field, error.message) == (
            member,
            f"'{member}' is set by the server and cannot be given",
        )
    for body in ([VALID], "customer", None, 5):
        error = refusal(body)
        assert (error.field, error.message) == ("", "The body must be a JSON object")


def test_unstorable_values_are_refused_naming_where() -> None:
    error = refusal({**VALID, "characteristic": [{"name": "a", "value": {"k": ["ok", "b\x00"]}}]})
    assert error.field == "characteristic[0].value.k[1]"
    assert error.message == (
        "'characteristic[0].value.k[1]' contains the NUL character (\\u0000), which cannot be stored"
    )
    error = refusal({**VALID, "x\x00y": 1})
    assert error.field == "x\x00y" and error.message.endswith(
        "contains the NUL character (\\u0000), which cannot be stored"
    )
    error = refusal({**VALID, "characteristic": [{"name": "a", "value": 2**63}]})
    assert error.field == "characteristic[0].value"
    assert error.message == "'characteristic[0].value' is an integer beyond 64 bits, which cannot be stored"
    validate_customer(
        {**VALID, "characteristic": [{"name": "a", "value": 2**63 - 1}, {"name": "b", "value": -(2**63)}]}
    )
    assert unstorable({"a": [1, {"b": True}], "c": "fine"}) is None
    assert unstorable([0, -(2**63) - 1]) == ("[1]", "is an integer beyond 64 bits")


def test_defaults_and_indexed_columns() -> None:
    assert with_defaults({"name": "n"}) == {"name": "n", "@type": "Customer"}
    assert with_defaults({"name": "n", "@type": ""})["@type"] == "Customer"
    kept = {"name": "n", "@type": "VIP"}
    assert with_defaults(kept) is kept
    columns = indexed_columns(VALID)
    assert columns == {
        "name": "Moon",
        "status": "Approved",
        "engaged_party_id": "500",
        "valid_for_start": "2024-01-01T00:00:00.000000Z",
        "valid_for_end": "2030-01-01T05:00:00.000000Z",
    }
    sparse = indexed_columns({"name": "n", "engagedParty": PARTY})
    assert sparse == {
        "name": "n",
        "status": None,
        "engaged_party_id": "500",
        "valid_for_start": None,
        "valid_for_end": None,
    }


def test_the_variants_and_markers() -> None:
    assert CUSTOMER_TYPE.create is not Customer and CustomerCreate.__name__ == "Customer_Create"
    assert CustomerUpdate.__name__ == "Customer_Update"
    create_required = {n for n, f in CustomerCreate.model_fields.items() if f.is_required()}
    assert create_required == {"name", "engagedParty"}
    assert {n for n, f in Customer.model_fields.items() if f.is_required()} == {"engagedParty"}
    assert not any(f.is_required() for f in CustomerUpdate.model_fields.values())
    assert "id" not in CustomerCreate.model_fields and "href" not in CustomerUpdate.model_fields
    assert server_owned(Customer) == ("id", "href") and server_owned(RelatedParty) == ()
    assert lifecycle_attribute(Customer) == "status" and lifecycle_attribute(RelatedParty) is None
    # a variant of a variant keeps the rules of its source
    again = create_variant(CustomerCreate)
    assert {n for n, f in again.model_fields.items() if f.is_required()} == {"name", "engagedParty"}
    loose = update_variant(RelatedParty)
    validate(loose, {"role": "r"})
    with pytest.raises(Invalid):
        validate(RelatedParty, {"role": "r"})
    validate(CustomerUpdate, {"status": "Approved"})


def test_the_catalogue_reflects_the_model() -> None:
    node = CUSTOMER_TYPE.catalogue
    assert node.model is Customer
    assert node.members["name"] is Kind.STRING and node.members["@type"] is Kind.STRING
    medium = node.members["contactMedium"]
    assert isinstance(medium, Arr) and isinstance(medium.item.members["characteristic"], Obj)
    assert medium.item.members["preferred"] is Kind.BOOLEAN
    credit = node.members["creditProfile"]
    assert isinstance(credit, Arr) and credit.item.members["creditScore"] is Kind.INTEGER
    assert credit.item.members["creditProfileDate"] is Kind.DATETIME
    characteristic = node.members["characteristic"]
    assert isinstance(characteristic, Arr) and characteristic.item.members["value"] is Kind.ANY
    assert isinstance(node.members["engagedParty"], Obj) and isinstance(node.members["validFor"], Obj)
    assert catalogue(RelatedParty).members["@referredType"] is Kind.STRING
    with pytest.raises(TypeError):
        kind_of(complex, [])
    assert CUSTOMER_TYPE.columns[("engagedParty", "id")] == "engaged_party_id"
    assert CUSTOMER_TYPE.columns[("id",)] == "id"


def test_paths_and_date_times() -> None:
    assert dotted(("contactMedium", 0, "characteristic")) == "contactMedium[0].characteristic"
    assert dotted((3, "a")) == "[3].a" and dotted(()) == "" and dotted(("a", "b", 1, 2)) == "a.b[1][2]"
    assert parse_datetime("2024-01-31T12:00:00Z") == datetime(2024, 1, 31, 12, tzinfo=UTC)
    assert parse_datetime("2024-01-31t12:00:00z") == datetime(2024, 1, 31, 12, tzinfo=UTC)
    plus_two = timezone(timedelta(hours=2))
    assert parse_datetime("2024-01-31T12:00:00.5+02:00") == datetime(2024, 1, 31, 12, 0, 0, 500000, plus_two)
    assert parse_datetime("2024-01-31T12:00:00.1234567891Z") is None  # more than nine digits
    assert parse_datetime("2024-01-31T12:00:00.123456789Z") == datetime(2024, 1, 31, 12, 0, 0, 123456, UTC)
    for bad in (
        "2024-01-31",
        "2024-01-31T12:00:00",
        "2024-02-30T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "x",
    ):
        assert parse_datetime(bad) is None, bad
    assert parse_datetime("9999-12-31T23:59:59Z") is not None
    assert instant_key(datetime(2024, 1, 31, 14, tzinfo=plus_two)) == "2024-01-31T12:00:00.000000Z"
