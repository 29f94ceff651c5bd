"""Parity: one domain, two doors. What one door writes the other reads unchanged, and the same criteria select
the same customers, in the same order, with the same counts."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer
from tests.test_graphql import CUSTOMER_FIELDS, create, customers_query, gql, to_tmf
from tests.test_rest_customer import FULL

FULL_REST: dict[str, Any] = FULL

ONE = f"query One($id: ID!) {{ customer(id: $id) {{ {CUSTOMER_FIELDS} }} }}"


def party(party_id: str, referred: str = "Organization") -> dict[str, str]:
    return {"id": party_id, "@referredType": referred}


# Customers varied enough for every criterion below to split them.
DATASET: list[dict[str, Any]] = [
    FULL_REST,
    {"name": "Moon Club", "status": "Pending", "engagedParty": party("500"), "@type": "Club"},
    {
        "name": "Mars Ltd",
        "status": "Approved",
        "engagedParty": party("IND-3", "Individual"),
        "characteristic": [{"name": "seats", "value": "12"}, {"name": "vip", "value": True}],
        "contactMedium": [
            {"mediumType": "phone", "preferred": False, "characteristic": {"phoneNumber": "+33 1"}},
            {"mediumType": "email", "characteristic": {"emailAddress": "mars@x.org"}},
        ],
        "creditProfile": [
            {"creditProfileDate": "2024-03-01T00:00:00Z", "creditScore": 650, "validFor": {}},
        ],
        "validFor": {"startDateTime": "2024-06-30T23:30:00-01:00"},
        "relatedParty": [{"id": "IND-9", "role": "owner", "@referredType": "Individual"}],
    },
    {
        "name": "Venus",
        "engagedParty": party("ORG-2"),
        "validFor": {"startDateTime": "2023-12-31T23:00:00Z", "endDateTime": "2024-12-31T00:00:00Z"},
    },
    {"name": "Alpha", "status": "Suspended", "statusReason": "debt", "engagedParty": party("ORG-1")},
]

# (REST query parameters, GraphQL where, GraphQL orderBy): the same question through each door.
CASES: list[tuple[list[tuple[str, str]], dict[str, Any] | None, list[dict[str, str]] | None]] = [
    ([], None, None),
    ([("name", "Sun Telecom")], {"name": {"eq": "Sun Telecom"}}, None),
    ([("status", "Approved,Pending")], {"status": {"in": ["Approved", "Pending"]}}, None),
    ([("status.ne", "Approved")], {"status": {"ne": "Approved"}}, None),
    ([("name.gte", "M"), ("name.lt", "V")], {"name": {"gte": "M", "lt": "V"}}, None),
    ([("@type", "Club")], {"type": {"eq": "Club"}}, None),
    (
        [("engagedParty.@referredType", "Individual")],
        {"engagedParty": {"referredType": {"eq": "Individual"}}},
        None,
    ),
    ([("engagedParty.id", "ORG-1")], {"engagedParty": {"id": {"eq": "ORG-1"}}}, None),
    (
        [("contactMedium.characteristic.emailAddress", "mars@x.org")],
        {"contactMedium": {"characteristic": {"emailAddress": {"eq": "mars@x.org"}}}},
        None,
    ),
    ([("contactMedium.mediumType", "email")], {"contactMedium": {"mediumType": {"eq": "email"}}}, None),
    ([("contactMedium.preferred", "false")], {"contactMedium": {"preferred": {"eq": False}}}, None),
    ([("characteristic.value", "12")], {"characteristic": {"value": {"eq": 12}}}, None),
    ([("characteristic.value", "true")], {"characteristic": {"value": {"eq": True}}}, None),
    ([("characteristic.value.ne", "gold")], {"characteristic": {"value": {"ne": "gold"}}}, None),
    ([("creditProfile.creditScore.gt", "650")], {"creditProfile": {"creditScore": {"gt": 650}}}, None),
    (
        [("creditProfile.creditProfileDate.lte", "2024-02-01T09:00:00+01:00")],
        {"creditProfile": {"creditProfileDate": {"lte": "2024-02-01T09:00:00+01:00"}}},
        None,
    ),
    (
        [
            ("validFor.startDateTime.gte", "2024-01-01T00:00:00Z"),
            ("validFor.startDateTime.lt", "2024-07-01T00:30:00Z"),
        ],
        {"validFor": {"startDateTime": {"gte": "2024-01-01T00:00:00Z", "lt": "2024-07-01T00:30:00Z"}}},
        None,
    ),
    (
        [("validFor.endDateTime.ne", "2024-12-31T01:00:00+01:00")],
        {"validFor": {"endDateTime": {"ne": "2024-12-31T01:00:00+01:00"}}},
        None,
    ),
    (
        [("relatedParty.id", "IND-9"), ("relatedParty.role", "owner")],
        {"relatedParty": {"id": {"eq": "IND-9"}, "role": {"eq": "owner"}}},
        None,
    ),
    ([("account.name", "Main account")], {"account": {"name": {"eq": "Main account"}}}, None),
    ([("statusReason", "debt")], {"statusReason": {"eq": "debt"}}, None),
    ([("sort", "-name")], None, [{"field": "NAME", "direction": "DESC"}]),
    (
        [("sort", "validFor.startDateTime,name")],
        None,
        [{"field": "VALID_FOR_START_DATE_TIME"}, {"field": "NAME"}],
    ),
    (
        [("status", "Approved"), ("sort", "-engagedParty.id")],
        {"status": {"eq": "Approved"}},
        [{"field": "ENGAGED_PARTY_ID", "direction": "DESC"}],
    ),
]


async def rest_ids(http: httpx.AsyncClient, params: list[tuple[str, str]]) -> tuple[list[str], int]:
    response = await http.get("/customer", params=[*params, ("limit", "1000")])
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()], int(response.headers["x-total-count"])


async def graphql_ids(
    server: LiveServer, where: Any, order_by: Any, first: int = 1000
) -> tuple[list[str], int]:
    page = (await gql(server, customers_query(), {"where": where, "orderBy": order_by, "first": first}))[
        "customers"
    ]
    return [node["id"] for node in page["nodes"]], page["totalCount"]


async def test_rest_writes_graphql_reads(server: LiveServer, client: httpx.AsyncClient) -> None:
    created = await client.post("/customer", json=FULL_REST)
    rest = created.json()
    graphql = (await gql(server, ONE, {"id": rest["id"]}))["customer"]
    assert to_tmf(graphql) == rest
    assert graphql["etag"] == created.headers["etag"] == '"1"'
    patched = await client.patch(
        f"/customer/{rest['id']}", json={"status": "Suspended", "statusReason": None}
    )
    graphql = (await gql(server, ONE, {"id": rest["id"]}))["customer"]
    assert to_tmf(graphql) == patched.json() and graphql["etag"] == patched.headers["etag"] == '"2"'
    assert (await client.delete(f"/customer/{rest['id']}")).status_code == 204
    assert (await gql(server, ONE, {"id": rest["id"]}))["customer"] is None


async def test_graphql_writes_rest_reads(server: LiveServer, client: httpx.AsyncClient) -> None:
    from tests.test_graphql_mutations import DELETE, FULL_INPUT, PATCH

    created = await create(server, FULL_INPUT)
    response = await client.get(f"/customer/{created['id']}")
    assert (
        response.json()
        == to_tmf(created)
        == {"id": created["id"], "href": created["href"], "@type": "Customer", **FULL_REST}
    )
    assert response.headers["etag"] == created["etag"]
    patch = {
        "id": created["id"],
        "input": {"status": None, "extensions": {"x-tier": None}},
        "ifMatch": created["etag"],
    }
    patched = (await gql(server, PATCH, patch))["patchCustomer"]
    response = await client.get(f"/customer/{created['id']}")
    assert response.json() == to_tmf(patched) and response.headers["etag"] == patched["etag"]
    assert "status" not in response.json() and "x-tier" not in response.json()
    deleted = (await gql(server, DELETE, {"id": created["id"]}))["deleteCustomer"]
    assert deleted["__typename"] == "DeletedCustomer"
    assert (await client.get(f"/customer/{created['id']}")).status_code == 404


async def test_same_criteria_same_customers_same_counts(
    server: LiveServer, client: httpx.AsyncClient
) -> None:
    for body in DATASET:
        assert (await client.post("/customer", json=body)).status_code == 201
    for params, where, order_by in CASES:
        rest = await rest_ids(client, params)
        assert rest == await graphql_ids(server, where, order_by), params
        assert 0 < rest[1] and (rest[1] < len(DATASET) or where is None), (
            params,
            "the case must split the data",
        )


async def test_or_is_the_union_of_its_rest_queries(server: LiveServer, client: httpx.AsyncClient) -> None:
    for body in DATASET:
        assert (await client.post("/customer", json=body)).status_code == 201
    first, _ = await rest_ids(client, [("status", "Pending")])
    second, _ = await rest_ids(client, [("contactMedium.mediumType", "phone")])
    everyone, _ = await rest_ids(client, [])
    where = {"or": [{"status": {"eq": "Pending"}}, {"contactMedium": {"mediumType": {"eq": "phone"}}}]}
    ids, total = await graphql_ids(server, where, None)
    assert ids == [i for i in everyone if i in set(first) | set(second)] and total == len(ids) == 2


async def test_pages_match_offset_and_limit(server: LiveServer, client: httpx.AsyncClient) -> None:
    for index in range(7):
        assert (await client.post("/customer", json={**DATASET[1], "name": f"P{index}"})).status_code == 201
    after = None
    for offset in range(0, 7, 3):
        response = await client.get("/customer", params={"offset": offset, "limit": 3, "sort": "-name"})
        variables = {"first": 3, "after": after, "orderBy": [{"field": "NAME", "direction": "DESC"}]}
        page = (await gql(server, customers_query(), variables))["customers"]
        assert [node["id"] for node in page["nodes"]] == [item["id"] for item in response.json()]
        assert page["totalCount"] == int(response.headers["x-total-count"]) == 7
        assert page["pageInfo"]["hasNextPage"] == ('rel="next"' in response.headers.get("link", ""))
        after = page["pageInfo"]["endCursor"]
