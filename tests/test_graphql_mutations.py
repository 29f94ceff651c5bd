"""GraphQL mutations over HTTP: create, merge-patch and delete, and their typed errors."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.test_graphql import CREATE, CUSTOMER_FIELDS, MOON_INPUT, create, gql

PATCH = f"""
mutation Patch($id: ID!, $input: CustomerPatchInput!, $ifMatch: String) {{
  patchCustomer(id: $id, input: $input, ifMatch: $ifMatch) {{
    __typename
    ... on Customer {{ {CUSTOMER_FIELDS} }}
    ... on Error {{ message }}
    ... on ValidationError {{ field }}
  }}
}}"""

DELETE = """
mutation Delete($id: ID!, $ifMatch: String) {
  deleteCustomer(id: $id, ifMatch: $ifMatch) {
    __typename ... on DeletedCustomer { id } ... on Error { message }
  }
}"""

ONE = "query One($id: ID!) { customer(id: $id) { name status etag } }"

FULL_INPUT: dict[str, Any] = {
    "name": "Sun Telecom",
    "status": "Approved",
    "statusReason": "Checked",
    "account": [
        {"id": "A1", "name": "Main account", "description": "billing", "referredType": "BillingAccount"}
    ],
    "agreement": [{"id": "AG1", "name": "Framework"}],
    "characteristic": [
        {"name": "segment", "value": "gold", "valueType": "string"},
        {"name": "seats", "value": 12},
    ],
    "contactMedium": [
        {
            "mediumType": "email",
            "preferred": True,
            "characteristic": {"emailAddress": "ops@sun.example", "contactType": "work"},
            "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        }
    ],
    "creditProfile": [
        {
            "creditProfileDate": "2024-02-01T10:00:00+02:00",
            "creditRiskRating": 3,
            "creditScore": 710,
            "validFor": {"startDateTime": "2024-02-01T00:00:00Z", "endDateTime": "2025-02-01T00:00:00Z"},
        }
    ],
    "engagedParty": {"id": "ORG-1", "name": "Sun", "referredType": "Organization"},
    "paymentMethod": [{"id": "PM1", "name": "card", "referredType": "BankCard"}],
    "relatedParty": [{"id": "IND-9", "role": "accountManager", "referredType": "Individual"}],
    "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": "2030-01-01T00:00:00+01:00"},
    "baseType": "PartyRole",
    "schemaLocation": "https://schemas.example/customer.json",
    "extensions": {"x-tier": {"level": 2}},
}


def without_nulls(value: Any) -> Any:
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    return value


async def test_create_returns_every_member_as_sent(server: LiveServer) -> None:
    created = await create(server, FULL_INPUT)
    assert created["href"] == f"{server.api}/customer/{created['id']}"
    assert created["etag"] == '"1"' and created["type"] == "Customer"
    members = without_nulls(
        {k: v for k, v in created.items() if k not in ("id", "href", "etag", "type", "__typename")}
    )
    assert members == FULL_INPUT


async def test_create_refusals_are_validation_errors_naming_the_attribute(server: LiveServer) -> None:
    cases = [
        ({**MOON_INPUT, "name": "  "}, "name"),
        ({**MOON_INPUT, "engagedParty": {"id": "1"}}, "engagedParty.referredType"),
        ({**MOON_INPUT, "account": [{"id": "A"}]}, "account[0].name"),
        (
            {**MOON_INPUT, "contactMedium": [{"characteristic": {"city": "Paris"}}]},
            "contactMedium[0].mediumType",
        ),
        ({**MOON_INPUT, "characteristic": [{"name": "n", "value": None}]}, "characteristic[0].value"),
        ({**MOON_INPUT, "extensions": {"name": "again"}}, "extensions.name"),
        ({**MOON_INPUT, "extensions": {"id": "mine"}}, "id"),
        ({**MOON_INPUT, "extensions": ["not", "an", "object"]}, "extensions"),
        # Nested inputs name their own path: an object's, an array item's.
        (
            {**MOON_INPUT, "engagedParty": {**MOON_INPUT["engagedParty"], "extensions": {"name": "x"}}},
            "engagedParty.extensions.name",
        ),
        (
            {**MOON_INPUT, "contactMedium": [{"mediumType": "email", "extensions": {"preferred": True}}]},
            "contactMedium[0].extensions.preferred",
        ),
        (
            {**MOON_INPUT, "contactMedium": [{"mediumType": "a"}, {"mediumType": "b", "extensions": [1]}]},
            "contactMedium[1].extensions",
        ),
    ]
    for customer, field in cases:
        result = (await gql(server, CREATE, {"input": customer}))["createCustomer"]
        assert result["__typename"] == "ValidationError", (customer, result)
        assert result["field"] == field and result["message"], (customer, result)
    assert (await gql(server, "{ customers { totalCount } }"))["customers"]["totalCount"] == 0


async def test_schema_level_refusals_are_graphql_errors(server: LiveServer) -> None:
    missing = await gql(server, CREATE, {"input": {"name": "x"}}, errors=True)
    assert "engagedParty" in missing["errors"][0]["message"]
    bad_date = {**MOON_INPUT, "validFor": {"startDateTime": "2024-01-01"}}
    body = await gql(server, CREATE, {"input": bad_date}, errors=True)
    assert "RFC 3339" in body["errors"][0]["message"]


async def test_patch_merges_and_null_removes(server: LiveServer) -> None:
    created = await create(server, FULL_INPUT)
    patch = {
        "status": "Suspended",
        "statusReason": None,
        "validFor": {"endDateTime": None},
        "engagedParty": {"name": "Sun Group"},
        "characteristic": [{"name": "segment", "value": {"tier": "silver"}}],
        "extensions": {"x-tier": None, "x-note": "vip"},
    }
    result = (await gql(server, PATCH, {"id": created["id"], "input": patch}))["patchCustomer"]
    assert result["__typename"] == "Customer", result
    assert result["etag"] == '"2"'
    assert result["status"] == "Suspended" and result["statusReason"] is None
    assert result["validFor"] == {
        "startDateTime": "2024-01-01T00:00:00Z",
        "endDateTime": None,
        "extensions": None,
    }
    assert result["engagedParty"]["name"] == "Sun Group" and result["engagedParty"]["id"] == "ORG-1"
    assert result["characteristic"] == [
        {"name": "segment", "value": {"tier": "silver"}, "valueType": None}
        | {"baseType": None, "schemaLocation": None, "type": None, "extensions": None}
    ]
    assert result["extensions"] == {"x-note": "vip"}
    assert result["account"] == created["account"], "absent fields are left as they are"
    unchanged = (await gql(server, PATCH, {"id": created["id"], "input": {}}))["patchCustomer"]
    assert unchanged["etag"] == '"2"'


async def test_patch_errors(server: LiveServer) -> None:
    created = await create(server)
    customer_id = created["id"]
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({"id": customer_id, "input": {"name": ""}}, "ValidationError", "name"),
        ({"id": customer_id, "input": {"engagedParty": None}}, "ValidationError", "engagedParty"),
        ({"id": customer_id, "input": {"extensions": {"href": "x"}}}, "ValidationError", "href"),
        ({"id": customer_id, "input": {"name": "x"}, "ifMatch": '"7"'}, "PreconditionFailedError", None),
        ({"id": "no-such-customer", "input": {"name": "x"}}, "NotFoundError", None),
    ]
    for variables, typename, field in cases:
        result = (await gql(server, PATCH, variables))["patchCustomer"]
        assert result["__typename"] == typename, (variables, result)
        assert result["message"]
        assert result.get("field") == field
    after = (await gql(server, ONE, {"id": customer_id}))["customer"]
    assert after == {"name": "Moon Football Club", "status": None, "etag": '"1"'}, (
        "refused patches change nothing"
    )
    ok = await gql(server, PATCH, {"id": customer_id, "input": {"status": "Active"}, "ifMatch": '"1"'})
    assert ok["patchCustomer"]["etag"] == '"2"'


async def test_delete(server: LiveServer) -> None:
    created = await create(server)
    customer_id = created["id"]
    stale = (await gql(server, DELETE, {"id": customer_id, "ifMatch": '"9"'}))["deleteCustomer"]
    assert stale["__typename"] == "PreconditionFailedError"
    deleted = (await gql(server, DELETE, {"id": customer_id, "ifMatch": created["etag"]}))["deleteCustomer"]
    assert deleted == {"__typename": "DeletedCustomer", "id": customer_id}
    assert (await gql(server, ONE, {"id": customer_id}))["customer"] is None
    again = (await gql(server, DELETE, {"id": customer_id}))["deleteCustomer"]
    assert again["__typename"] == "NotFoundError" and customer_id in again["message"]


async def test_mutations_are_not_run_over_get(server: LiveServer) -> None:
    created = await create(server)
    query = f'mutation {{ deleteCustomer(id: "{created["id"]}") {{ __typename }} }}'
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{server.url}/graphql", params={"query": query})
    assert response.status_code == 400 and "GET" in response.text
    assert (await gql(server, ONE, {"id": created["id"]}))["customer"] is not None
