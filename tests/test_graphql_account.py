"""TMF666 accounts over GraphQL, on both databases: the Account interface, `account`/`accounts`, the joins
both ways with a bounded statement count, mutations with typed errors, and parity with REST."""

from __future__ import annotations

from typing import Any

import httpx

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.store.base import Store
from tests.conftest import LiveServer
from tests.test_graphql import gql
from tests.test_graphql_limits import StatementCounter
from tests.test_graphql_subscription import graphql_socket, wait_listeners
from tests.test_rest_account import balance, billing

PATH = ACCOUNT_MANAGEMENT.path
MERGE = {"content-type": "application/merge-patch+json"}
PARTY = {"id": "p", "@referredType": "Individual"}

CUSTOMERS_WITH_ACCOUNTS = """
query($first: Int) { customers(first: $first) { totalCount nodes { id name
  accounts { __typename id name state
    ... on BillingAccount { paymentStatus accountBalance { amount { value unit } } } }
} } }"""


async def rest(server: LiveServer, method: str, path: str, **kwargs: Any) -> Any:
    base = server.url + (PATH if not path.startswith("/customer") else server.api.removeprefix(server.url))
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        response = await http.request(method, path, **kwargs)
    assert response.status_code in (200, 201, 204, 206), response.text
    return response.json() if response.content else None


async def customer(server: LiveServer, name: str, accounts: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "engagedParty": PARTY}
    if accounts:
        body["account"] = [{"id": a, "name": "linked"} for a in accounts]
    created: dict[str, Any] = await rest(server, "POST", "/customer", json=body)
    return created


async def test_accounts_of_customers_and_customers_of_accounts(server: LiveServer) -> None:
    jane = await customer(server, "Jane")
    owned = await rest(server, "POST", "/financialAccount", json={"name": "Savings", "state": "active"})
    bill = await rest(
        server,
        "POST",
        "/billingAccount",
        json=billing("Jane's bill", jane["id"], paymentStatus="inArrears", accountBalance=balance(-42.5)),
    )
    await rest(
        server,
        "PATCH",
        f"/customer/{jane['id']}",
        json={"account": [{"id": owned["id"], "name": "S"}, {"id": "gone", "name": "G"}]},
        headers=MERGE,
    )
    await customer(server, "Bob", [bill["id"]])

    data = await gql(server, CUSTOMERS_WITH_ACCOUNTS)
    by_name = {node["name"]: node for node in data["customers"]["nodes"]}
    assert [a["name"] for a in by_name["Jane"]["accounts"]] == ["Savings", "Jane's bill"]  # creation order
    assert by_name["Jane"]["accounts"][1] == {
        "__typename": "BillingAccount",
        "id": bill["id"],
        "name": "Jane's bill",
        "state": None,
        "paymentStatus": "inArrears",
        "accountBalance": [{"amount": {"value": -42.5, "unit": "EUR"}}],
    }
    assert [a["id"] for a in by_name["Bob"]["accounts"]] == [bill["id"]]

    filtered = await gql(
        server,
        """query($id: ID!) { customer(id: $id) {
          billing: accounts(where: {kind: [BILLING]}) { id }
          first: accounts(first: 1) { id }
          arrears: accounts(where: {paymentStatus: {eq: "inArrears"}}) { id } } }""",
        {"id": jane["id"]},
    )
    assert filtered["customer"] == {
        "billing": [{"id": bill["id"]}],
        "first": [{"id": owned["id"]}],
        "arrears": [{"id": bill["id"]}],
    }

    back = await gql(
        server,
        """query($id: ID!) { account(id: $id) { __typename name
             customers { name } named: customers(where: {name: {eq: "Bob"}}) { name } } }""",
        {"id": bill["id"]},
    )
    assert back["account"] == {
        "__typename": "BillingAccount",
        "name": "Jane's bill",
        "customers": [{"name": "Jane"}, {"name": "Bob"}],
        "named": [{"name": "Bob"}],
    }
    assert (await gql(server, '{ account(id: "gone") { id } }'))["account"] is None
    unknown = await gql(
        server, '{ customers { nodes { accounts(where: {nope: {eq: "x"}}) { id } } } }', errors=True
    )
    assert "nope" in unknown["errors"][0]["message"]


async def test_a_page_of_customers_with_accounts_costs_a_bounded_number_of_statements(
    server: LiveServer, store: Store
) -> None:
    for index in range(30):
        person = await customer(server, f"Customer {index:02}")
        await rest(
            server,
            "POST",
            "/billingAccount",
            json=billing(f"Bill {index:02}", person["id"], accountBalance=balance(index)),
        )
    counter = StatementCounter(server.app.state.store)
    await gql(server, CUSTOMERS_WITH_ACCOUNTS, {"first": 2})  # warm up
    counts = {}
    for first in (3, 30):
        with counter.counting():
            page = (await gql(server, CUSTOMERS_WITH_ACCOUNTS, {"first": first}))["customers"]
        assert len(page["nodes"]) == first and all(len(node["accounts"]) == 1 for node in page["nodes"])
        counts[first] = counter.count
    # the page (its count may be remembered), then one statement for the accounts of all its customers
    assert max(counts.values()) <= 3, counts
    nested = "{ accounts(first: 30) { nodes { name customers { name accounts { name } } } } }"
    counts = {}
    for _ in range(2):
        with counter.counting():
            nodes = (await gql(server, nested))["accounts"]["nodes"]
        counts[len(counts)] = counter.count
    assert len(nodes) == 30 and nodes[5]["customers"][0]["accounts"][0]["name"] == nodes[5]["name"]
    assert counts[0] <= 4, counts


async def test_accounts_query_filters_orders_and_pages_like_rest(server: LiveServer) -> None:
    for index, (kind, status) in enumerate(
        [
            ("billingAccount", "paid"),
            ("billingAccount", "inArrears"),
            ("partyAccount", "inArrears"),
            ("settlementAccount", "due"),
        ]
    ):
        await rest(
            server,
            "POST",
            f"/{kind}",
            json=billing(
                f"A{index}", paymentStatus=status, creditLimit={"value": index * 100, "unit": "EUR"}
            ),
        )
    await rest(
        server,
        "POST",
        "/financialAccount",
        json={"name": "F", "creditLimit": {"value": 250.5, "unit": "EUR"}},
    )

    async def gql_ids(where: str, order: str = "") -> tuple[list[str], int]:
        page = (
            await gql(server, f"{{ accounts(where: {where} {order}) {{ totalCount nodes {{ name }} }} }}")
        )["accounts"]
        return [node["name"] for node in page["nodes"]], page["totalCount"]

    async def rest_ids(kind: str, **params: str) -> tuple[list[str], int]:
        async with httpx.AsyncClient(base_url=server.url + PATH) as http:
            response = await http.get(f"/{kind}", params=params)
        return [a["name"] for a in response.json()], int(response.headers["x-total-count"])

    assert await gql_ids('{kind: [BILLING], paymentStatus: {eq: "inArrears"}}') == await rest_ids(
        "billingAccount", paymentStatus="inArrears"
    )
    assert await gql_ids("{kind: [BILLING], creditLimit: {value: {gte: 100}}}") == await rest_ids(
        "billingAccount", **{"creditLimit.value.gte": "100"}
    )
    assert await gql_ids(
        "{creditLimit: {value: {gt: 150}}}", ", orderBy: [{field: CREDIT_LIMIT_VALUE, direction: DESC}]"
    ) == (["A3", "F", "A2"], 3)
    assert await gql_ids('{or: [{name: {eq: "A0"}}, {state: {eq: "x"}}, {paymentStatus: {eq: "due"}}]}') == (
        ["A0", "A3"],
        2,
    )
    page = (
        await gql(
            server, "{ accounts(first: 2) { totalCount pageInfo { hasNextPage endCursor } nodes { name } } }"
        )
    )["accounts"]
    assert page["totalCount"] == 5 and page["pageInfo"]["hasNextPage"]
    rest_page = await gql(
        server, f'{{ accounts(first: 2, after: "{page["pageInfo"]["endCursor"]}") {{ nodes {{ name }} }} }}'
    )
    assert [n["name"] for n in page["nodes"] + rest_page["accounts"]["nodes"]] == ["A0", "A1", "A2", "A3"]
    refused = await gql(server, "{ accounts(where: {kind: []}) { totalCount } }", errors=True)
    assert "kind" in refused["errors"][0]["message"]
    nested = '{ accounts(where: {or: [{kind: [BILLING]}, {name: {eq: "A1"}}]}) { totalCount } }'
    refused = await gql(server, nested, errors=True)
    assert refused["errors"][0]["extensions"]["field"] == "where.or[0].kind"
    assert "only at the top level" in refused["errors"][0]["message"]


async def test_account_mutations_answer_typed_results(server: LiveServer) -> None:
    created = (
        await gql(
            server,
            """mutation { createBillingAccount(input: {name: "B",
               relatedParty: [{id: "c", name: "C", referredType: "Customer"}],
               creditLimit: {value: 10.5, unit: "EUR"}, extensions: {tier: "gold"}}) {
               __typename ... on BillingAccount {
                 id name type etag lastModified creditLimit { value } extensions } } }""",
        )
    )["createBillingAccount"]
    assert created["__typename"] == "BillingAccount" and created["type"] == "BillingAccount"
    assert created["extensions"] == {"tier": "gold"} and created["creditLimit"] == {"value": 10.5}
    stored = await rest(server, "GET", f"/billingAccount/{created['id']}")
    assert stored["tier"] == "gold" and stored["relatedParty"][0]["@referredType"] == "Customer"
    for mutation in ("createPartyAccount", "createSettlementAccount"):
        invalid = (
            await gql(
                server,
                f'mutation {{ {mutation}(input: {{name: "X", relatedParty: []}}) {{ '
                "__typename ... on ValidationError { field message } } }",
            )
        )[mutation]
        assert invalid == {
            "__typename": "ValidationError",
            "field": "relatedParty",
            "message": "'relatedParty' must hold at least 1 item(s)",
        }
    financial = (
        await gql(
            server,
            'mutation { createFinancialAccount(input: {name: "F"}) { ... on FinancialAccount { id } } }',
        )
    )["createFinancialAccount"]

    patch = """mutation($id: ID!, $etag: String) { patchAccount(
      id: $id, input: {state: "active", description: null}, ifMatch: $etag) {
      __typename ... on Account { state etag } ... on Error { message } } }"""
    stale = (await gql(server, patch, {"id": created["id"], "etag": '"9"'}))["patchAccount"]
    assert stale["__typename"] == "PreconditionFailedError"
    patched = (await gql(server, patch, {"id": created["id"], "etag": created["etag"]}))["patchAccount"]
    assert patched == {"__typename": "BillingAccount", "state": "active", "etag": '"2"'}
    broken = (
        await gql(
            server,
            'mutation($id: ID!) { patchAccount(id: $id, input: {name: " "}) { '
            "__typename ... on ValidationError { field } } }",
            {"id": financial["id"]},
        )
    )["patchAccount"]
    assert broken == {"__typename": "ValidationError", "field": "name"}
    delete = "mutation($id: ID!) { deleteAccount(id: $id) { __typename ... on DeletedAccount { id } } }"
    assert (await gql(server, delete, {"id": financial["id"]}))["deleteAccount"] == {
        "__typename": "DeletedAccount",
        "id": financial["id"],
    }
    assert (await gql(server, delete, {"id": financial["id"]}))["deleteAccount"] == {
        "__typename": "NotFoundError"
    }


async def test_cross_entity_filters_follow_the_links_both_ways(server: LiveServer) -> None:
    jane = await customer(server, "Jane")
    bob = await customer(server, "Bob")
    await customer(server, "Carol")
    arrears = await rest(
        server,
        "POST",
        "/billingAccount",
        json=billing("Late", jane["id"], paymentStatus="inArrears", accountBalance=balance(-5)),
    )
    savings = await rest(server, "POST", "/financialAccount", json={"name": "Savings", "state": "open"})
    await rest(
        server,
        "PATCH",
        f"/customer/{bob['id']}",
        json={"account": [{"id": savings["id"], "name": "S"}]},
        headers=MERGE,
    )

    async def customers(where: str) -> tuple[list[str], int]:
        page = (await gql(server, f"{{ customers(where: {where}) {{ totalCount nodes {{ name }} }} }}"))[
            "customers"
        ]
        return [node["name"] for node in page["nodes"]], page["totalCount"]

    async def accounts(where: str) -> list[str]:
        page = (await gql(server, f"{{ accounts(where: {where}) {{ nodes {{ name }} }} }}"))["accounts"]
        return [node["name"] for node in page["nodes"]]

    assert await customers('{accounts: {paymentStatus: {eq: "inArrears"}}}') == (["Jane"], 1)
    assert await customers("{accounts: {accountBalance: {amount: {value: {lt: 0}}}}}") == (["Jane"], 1)
    assert await customers("{accounts: {kind: [FINANCIAL]}}") == (["Bob"], 1)
    assert await customers("{accounts: {}}") == (["Jane", "Bob"], 2)
    assert await customers('{or: [{accounts: {state: {eq: "open"}}}, {name: {eq: "Carol"}}]}') == (
        ["Bob", "Carol"],
        2,
    )
    assert await accounts('{customers: {name: {eq: "Bob"}}}') == ["Savings"]
    assert await accounts('{customers: {accounts: {name: {eq: "Late"}}}}') == ["Late"]
    assert await accounts('{kind: [BILLING], customers: {name: {eq: "Bob"}}}') == []
    assert arrears["id"] != savings["id"]


async def test_account_events_arrive_and_customer_events_stay_apart(server: LiveServer) -> None:
    accounts_sub = (
        "subscription($types: [String!]) { accountEvents(eventTypes: $types) {"
        " eventType kind fieldPath account } }"
    )
    customers_sub = "subscription { customerEvents { eventType } }"
    async with graphql_socket(server) as socket:
        await socket.subscribe("all", accounts_sub)
        await socket.subscribe("state", accounts_sub, {"types": ["FinancialAccountStateChangeEvent"]})
        await socket.subscribe("customers", customers_sub)
        await socket.subscribe("bad", accounts_sub, {"types": ["CustomerCreateEvent"]})
        [refused] = await socket.receive("bad")
        assert refused["type"] == "error" and "CustomerCreateEvent" in refused["payload"][0]["message"]
        await wait_listeners(server, 3)
        created = await rest(server, "POST", "/financialAccount", json={"name": "F"})
        await rest(
            server, "PATCH", f"/financialAccount/{created['id']}", json={"state": "open"}, headers=MERGE
        )
        await customer(server, "Jane")
        messages = await socket.receive("all", 3)
        events = [m["payload"]["data"]["accountEvents"] for m in messages]
        assert [(e["eventType"], e["kind"]) for e in events] == [
            ("FinancialAccountCreateEvent", "FINANCIAL"),
            ("FinancialAccountAttributeValueChangeEvent", "FINANCIAL"),
            ("FinancialAccountStateChangeEvent", "FINANCIAL"),
        ]
        assert events[1]["fieldPath"] == "state" and events[2]["account"]["id"] == created["id"]
        [state] = await socket.receive("state")
        assert state["payload"]["data"]["accountEvents"]["eventType"] == "FinancialAccountStateChangeEvent"
        [only] = await socket.receive("customers")
        assert only["payload"]["data"]["customerEvents"]["eventType"] == "CustomerCreateEvent"
