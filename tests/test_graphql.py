"""GraphQL over HTTP against a live server: the customer queries (and helpers for the other GraphQL tests)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import LiveServer

TIME_PERIOD = "{ startDateTime endDateTime extensions }"
TMF = "baseType schemaLocation type"
REF = f"id href name {TMF} referredType extensions"
CUSTOMER_FIELDS = f"""
  id href etag name status statusReason {TMF} extensions
  account {{ {REF} description }}
  agreement {{ {REF} }}
  characteristic {{ name valueType value {TMF} extensions }}
  contactMedium {{
    mediumType preferred {TMF} extensions validFor {TIME_PERIOD}
    characteristic {{
      city contactType country emailAddress faxNumber phoneNumber postCode socialNetworkId
      stateOrProvince street1 street2 {TMF} extensions
    }}
  }}
  creditProfile {{ creditProfileDate creditRiskRating creditScore validFor {TIME_PERIOD} {TMF} extensions }}
  engagedParty {{ {REF} role }}
  paymentMethod {{ {REF} }}
  relatedParty {{ {REF} role }}
  validFor {TIME_PERIOD}
"""

CREATE = f"""
mutation Create($input: CustomerCreateInput!) {{
  createCustomer(input: $input) {{
    __typename
    ... on Customer {{ {CUSTOMER_FIELDS} }}
    ... on ValidationError {{ message field }}
  }}
}}"""

MOON_INPUT = {"name": "Moon Football Club", "engagedParty": {"id": "500", "referredType": "Organization"}}

_AT = {
    "type": "@type",
    "baseType": "@baseType",
    "schemaLocation": "@schemaLocation",
    "referredType": "@referredType",
}


async def gql(
    server: LiveServer, query: str, variables: dict[str, Any] | None = None, *, errors: bool = False
) -> dict[str, Any]:
    """POST a GraphQL request; without `errors`, assert there were none and return `data`."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{server.url}/graphql", json={"query": query, "variables": variables or {}}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if errors:
        assert body.get("errors"), body
        return body
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


async def create(server: LiveServer, customer: dict[str, Any] = MOON_INPUT) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(server, CREATE, {"input": customer}))["createCustomer"]
    assert result["__typename"] == "Customer", result
    return result


def to_tmf(value: Any) -> Any:
    """A GraphQL Customer (or part) in TMF wire shape: `@` names, extensions inlined, no nulls, no etag."""
    if isinstance(value, list):
        return [to_tmf(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for name, member in value.items():
        if member is None or name in ("etag", "__typename"):
            continue
        if name == "extensions":
            result.update(member)
        else:
            result[_AT.get(name, name)] = member if name == "value" else to_tmf(member)
    return result


def customers_query(selection: str = "id") -> str:
    return f"""
    query List($where: CustomerWhere, $orderBy: [CustomerOrder!], $first: Int, $after: String) {{
      customers(where: $where, orderBy: $orderBy, first: $first, after: $after) {{
        totalCount
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ {selection} }} }}
        nodes {{ {selection} }}
      }}
    }}"""


async def test_customer_by_id_and_unknown_is_null(server: LiveServer) -> None:
    created = await create(server)
    query = """query One($id: ID!) {
      customer(id: $id) { id href etag name type engagedParty { id referredType } }
    }"""
    found = (await gql(server, query, {"id": created["id"]}))["customer"]
    assert found == {
        "id": created["id"],
        "href": f"{server.api}/customer/{created['id']}",
        "etag": '"1"',
        "name": "Moon Football Club",
        "type": "Customer",
        "engagedParty": {"id": "500", "referredType": "Organization"},
    }
    assert (await gql(server, query, {"id": "no-such-customer"})) == {"customer": None}


async def test_customer_etag_and_href_equal_rest(server: LiveServer) -> None:
    created = await create(server)
    async with httpx.AsyncClient(base_url=server.api) as http:
        response = await http.get(f"/customer/{created['id']}")
    assert response.headers["etag"] == created["etag"]
    assert response.json()["href"] == created["href"]


async def test_several_customers_by_id_in_one_request(server: LiveServer) -> None:
    ids = [(await create(server, {**MOON_INPUT, "name": f"C{i}"}))["id"] for i in range(3)]
    aliases = " ".join(f'c{i}: customer(id: "{cid}") {{ name }}' for i, cid in enumerate([*ids, "unknown"]))
    data = await gql(server, f"{{ {aliases} }}")
    assert data == {"c0": {"name": "C0"}, "c1": {"name": "C1"}, "c2": {"name": "C2"}, "c3": None}


async def test_paging_with_cursors(server: LiveServer) -> None:
    ids = [(await create(server, {**MOON_INPUT, "name": f"C{i}"}))["id"] for i in range(5)]
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await gql(server, customers_query(), {"first": 2, "after": after}))["customers"]
        pages += 1
        assert page["totalCount"] == 5
        assert page["nodes"] == [edge["node"] for edge in page["edges"]]
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        seen.extend(node["id"] for node in page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3 and seen == ids
    empty = (await gql(server, customers_query(), {"first": 0}))["customers"]
    assert empty["totalCount"] == 5 and empty["nodes"] == [] and empty["pageInfo"]["endCursor"] is None


async def test_where_and_order_by(server: LiveServer) -> None:
    await create(server, {**MOON_INPUT, "name": "Alpha", "status": "Approved"})
    await create(server, {**MOON_INPUT, "name": "Bravo", "status": "Pending"})
    await create(
        server,
        {
            **MOON_INPUT,
            "name": "Charlie",
            "status": "Approved",
            "contactMedium": [{"mediumType": "email", "characteristic": {"emailAddress": "c@x.org"}}],
            "creditProfile": [
                {
                    "creditProfileDate": "2024-01-01T00:00:00Z",
                    "creditScore": 700,
                    "validFor": {"startDateTime": "2024-01-01T02:00:00+02:00"},
                }
            ],
        },
    )
    query = customers_query("name")

    async def names(where: dict[str, Any], order: list[dict[str, Any]] | None = None) -> list[str]:
        page = (await gql(server, query, {"where": where, "orderBy": order}))["customers"]
        assert page["totalCount"] == len(page["nodes"])
        return [node["name"] for node in page["nodes"]]

    assert await names({"status": {"eq": "Approved"}}) == ["Alpha", "Charlie"]
    assert await names({"status": {"eq": "Approved"}}, [{"field": "NAME", "direction": "DESC"}]) == [
        "Charlie",
        "Alpha",
    ]
    assert await names({"name": {"in": ["Alpha", "Bravo"], "ne": "Alpha"}}) == ["Bravo"]
    assert await names({"or": [{"name": {"eq": "Alpha"}}, {"status": {"eq": "Pending"}}]}) == [
        "Alpha",
        "Bravo",
    ]
    assert await names({"and": [{"name": {"gte": "B"}}, {"name": {"lt": "C"}}]}) == ["Bravo"]
    assert await names({"contactMedium": {"characteristic": {"emailAddress": {"eq": "c@x.org"}}}}) == [
        "Charlie"
    ]
    assert await names({"creditProfile": {"creditScore": {"gte": 700}}}) == ["Charlie"]
    # Date-times compare as instants: 02:00+02:00 is midnight UTC.
    instant = {"creditProfile": {"validFor": {"startDateTime": {"eq": "2024-01-01T00:00:00Z"}}}}
    assert await names(instant) == ["Charlie"]
    assert await names({"engagedParty": {"referredType": {"eq": "Organization"}}}) == [
        "Alpha",
        "Bravo",
        "Charlie",
    ]
    assert await names({"type": {"eq": "Customer"}, "status": {"ne": "Approved"}}) == ["Bravo"]
    assert await names({}) == ["Alpha", "Bravo", "Charlie"]


async def test_refused_query_arguments_are_errors_with_codes(server: LiveServer) -> None:
    query = customers_query()
    cases = [
        ({"where": {"characteristic": {"value": {"eq": {"a": 1}}}}}, "where.characteristic.value.eq"),
        ({"where": {"name": {"eq": None}}}, "where.name.eq"),
        ({"where": {"name": {"eq": ""}}}, "where.name.eq"),
        ({"where": {"or": []}}, "where.or"),
        ({"where": {"name": {"in": []}}}, "where.name.in"),
        ({"after": "not-a-cursor"}, "after"),
        ({"first": -1}, "first"),
        ({"first": server.settings.graphql_max_first + 1}, "first"),
    ]
    for variables, field in cases:
        body = await gql(server, query, variables, errors=True)
        assert body["data"] is None
        error = body["errors"][0]
        assert error["extensions"] == {"code": "INVALID_QUERY", "field": field}, (variables, error)
        assert error["path"] == ["customers"]


async def test_bad_scalar_values_are_refused_before_running(server: LiveServer) -> None:
    body = await gql(
        server,
        customers_query(),
        {"where": {"validFor": {"startDateTime": {"gt": "yesterday"}}}},
        errors=True,
    )
    assert "RFC 3339" in body["errors"][0]["message"]
    literal = '{ customers(where: {validFor: {endDateTime: {lt: "2024-13-01T00:00:00Z"}}}) { totalCount } }'
    body = await gql(server, literal, errors=True)
    assert "RFC 3339" in body["errors"][0]["message"]


async def test_get_runs_queries(server: LiveServer) -> None:
    await create(server)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{server.url}/graphql", params={"query": "{ customers { totalCount } }"})
    assert response.status_code == 200
    assert response.json() == {"data": {"customers": {"totalCount": 1}}}


async def test_nul_characters_are_refused_or_unknown(server: LiveServer) -> None:
    refused = (await gql(server, CREATE, {"input": {**MOON_INPUT, "name": "a\u0000b"}}))["createCustomer"]
    assert refused["__typename"] == "ValidationError" and refused["field"] == "name"
    one = await gql(server, "query($id: ID!) { customer(id: $id) { id } }", {"id": "a\u0000b"})
    assert one == {"customer": None}
    where = await gql(
        server, 'query { customers(where: {name: {eq: "a\\u0000b"}}) { totalCount } }', errors=True
    )
    assert "NUL" in where["errors"][0]["message"]


async def test_integers_beyond_64_bits_are_refused(server: LiveServer) -> None:
    wide = {**MOON_INPUT, "characteristic": [{"name": "seats", "value": 2**70}]}
    refused = (await gql(server, CREATE, {"input": wide}))["createCustomer"]
    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "characteristic[0].value" and "64 bits" in refused["message"]
