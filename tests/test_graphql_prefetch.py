"""GraphQL's short paths give the standard answers, on both databases.

* The accounts of a `customers` page are fetched with the page (resolvers/account_loader.py): through
  `nodes`, `edges { node }`, fragments and aliases with other arguments, each customer gets exactly the
  accounts its own `customer(id) { accounts }` (the batched loader) answers.
* Members are read and coerced at once (resolvers/execution.py): a stored value the schema cannot answer
  still gets GraphQL's standard error at its path (a null for a non-null field is a server fault, masked
  as every one is), with null propagated as the specification says.
* The plan of a query is kept for the next requests sending it with the same variables, and it holds no
  data: the same text with other variables, or after a write, answers what those ask and what is stored.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import pytest
import strawberry
from graphql import GraphQLResolveInfoHelpers
from graphql.execution.executor import Executor
from sqlalchemy import text
from strawberry.extensions import SchemaExtension

from app.store.base import Store
from resolvers import execution
from tests.conftest import LiveServer
from tests.test_graphql import gql
from tests.test_graphql_account import customer, rest
from tests.test_rest_account import balance, billing

ACCOUNT_FIELDS = (
    "__typename id name ... on BillingAccount { paymentStatus accountBalance { amount { value } } }"
)
PAGE = f"""
fragment linked on Customer {{ viaFragment: accounts {{ id }} }}
{{ customers(first: 10) {{
  nodes {{ id all: accounts {{ {ACCOUNT_FIELDS} }} one: accounts(first: 1) {{ id }}
          billing: accounts(where: {{kind: [BILLING]}}) {{ id }} ...linked }}
  edges {{ node {{ id accounts {{ id }} ... on Customer {{ inline: accounts(first: 0) {{ id }} }} }} }}
}} }}"""
ONE = f"""query($id: ID!) {{ customer(id: $id) {{
  all: accounts {{ {ACCOUNT_FIELDS} }} one: accounts(first: 1) {{ id }}
  billing: accounts(where: {{kind: [BILLING]}}) {{ id }} viaFragment: accounts {{ id }}
}} }}"""


async def test_a_page_answers_each_customer_s_own_accounts(server: LiveServer) -> None:
    people = [await customer(server, f"Customer {index}") for index in range(4)]
    savings = await rest(server, "POST", "/financialAccount", json={"name": "Savings"})
    for index, person in enumerate(people[:3]):
        for bill in range(index + 1):
            await rest(
                server,
                "POST",
                "/billingAccount",
                json=billing(f"Bill {index}.{bill}", person["id"], accountBalance=balance(bill)),
            )
    await rest(
        server,
        "PATCH",
        f"/customer/{people[1]['id']}",
        json={"account": [{"id": savings["id"], "name": "S"}]},
        headers={"content-type": "application/merge-patch+json"},
    )

    page = (await gql(server, PAGE))["customers"]
    assert [node["id"] for node in page["nodes"]] == [person["id"] for person in people]
    for node, edge in zip(page["nodes"], page["edges"], strict=True):
        alone = (await gql(server, ONE, {"id": node["id"]}))["customer"]
        assert {key: node[key] for key in alone} == alone
        assert edge["node"]["accounts"] == alone["viaFragment"]
        assert edge["node"]["inline"] == []
    by_id = {node["id"]: node for node in page["nodes"]}
    second = by_id[people[1]["id"]]
    assert [a["name"] for a in second["all"]] == ["Savings", "Bill 1.0", "Bill 1.1"]
    assert second["all"][1] == {
        "__typename": "BillingAccount",
        "id": second["billing"][0]["id"],
        "name": "Bill 1.0",
        "paymentStatus": None,
        "accountBalance": [{"amount": {"value": 0}}],
    }
    assert len(second["one"]) == 1 and len(second["billing"]) == 2
    assert by_id[people[3]["id"]]["all"] == []


async def test_a_negative_first_on_a_page_is_refused_naming_it(server: LiveServer) -> None:
    await customer(server, "Jane")
    body = await gql(server, "{ customers { nodes { accounts(first: -1) { id } } } }", errors=True)
    assert body["errors"][0]["extensions"]["field"] == "first", body


async def _corrupt(store: Store, customer_id: str, member: str, value: str | None) -> None:
    """Change the stored document below the service's validation, as another writer could."""
    if store.dialect == "postgresql":
        change = f"doc - '{member}'" if value is None else f"jsonb_set(doc, '{{{member}}}', '{value}')"
    else:
        change = (
            f"json_remove(doc, '$.{member}')"
            if value is None
            else f"json_set(doc, '$.{member}', json('{value}'))"
        )
    statement = text(f"UPDATE customer SET doc = {change} WHERE id = :id")
    await store.write(lambda conn: conn.execute(statement, {"id": customer_id}))


async def test_members_the_schema_cannot_answer_get_the_standard_errors(
    server: LiveServer, store: Store
) -> None:
    good = await customer(server, "Good")
    untyped = await customer(server, "Untyped")
    odd = await customer(server, "Odd")
    await _corrupt(store, untyped["id"], "@type", None)
    await _corrupt(store, odd["id"], "status", '{"not": "a string"}')

    # `type` is non-null: without it the customer is null, and the error names the field's path.
    query = "query($id: ID!) { customer(id: $id) { id name type } }"
    body = await gql(server, query, {"id": untyped["id"]}, errors=True)
    assert body["data"] == {"customer": None}
    assert [error["path"] for error in body["errors"]] == [["customer", "type"]]
    assert body["errors"][0]["message"] == "Unexpected error."  # a server fault: masked, and logged
    # `status` is nullable: only it is null, the rest of the page is answered.
    body = await gql(server, "{ customers { nodes { id name status } } }", errors=True)
    nodes = body["data"]["customers"]["nodes"]
    assert [node["name"] for node in nodes] == ["Good", "Untyped", "Odd"]
    assert nodes[0]["status"] == good.get("status") and nodes[2]["status"] is None
    assert [error["path"] for error in body["errors"]] == [["customers", "nodes", 2, "status"]]
    assert body["errors"][0]["message"].startswith("String cannot represent value")
    assert (await gql(server, query, {"id": good["id"]}))["customer"]["type"] == "Customer"
    # Deeper down the same: the error is at the nested member's path, its siblings are answered.
    await _corrupt(store, odd["id"], "engagedParty", '{"id": "p", "name": ["not", "a", "string"]}')
    nested = "query($id: ID!) { customer(id: $id) { name engagedParty { id name } } }"
    body = await gql(server, nested, {"id": odd["id"]}, errors=True)
    assert body["data"] == {"customer": {"name": "Odd", "engagedParty": {"id": "p", "name": None}}}
    assert [error["path"] for error in body["errors"]] == [["customer", "engagedParty", "name"]]
    # A text where an integer is due is refused as well (a text is its own answer for text types only).
    await _corrupt(store, odd["id"], "creditProfile", '[{"creditRiskRating": "high", "creditScore": 7}]')
    scored = "query($id: ID!) { customer(id: $id) { name creditProfile { creditRiskRating creditScore } } }"
    body = await gql(server, scored, {"id": odd["id"]}, errors=True)
    profile = {"creditRiskRating": None, "creditScore": 7}
    assert body["data"] == {"customer": {"name": "Odd", "creditProfile": [profile]}}
    assert [error["path"] for error in body["errors"]] == [
        ["customer", "creditProfile", 0, "creditRiskRating"]
    ]
    assert body["errors"][0]["message"].startswith("Int cannot represent non-integer value")
    # A non-null object member that is missing: the customer is null, the error at the member's path.
    await _corrupt(store, good["id"], "engagedParty", None)
    body = await gql(server, nested, {"id": good["id"]}, errors=True)
    assert body["data"] == {"customer": None}
    assert [error["path"] for error in body["errors"]] == [["customer", "engagedParty"]]


SENT_AGAIN = """query($first: Int!) { customers(first: $first) { nodes { id name accounts { id name } } } }"""
READS_VARIABLES = """query($first: Int, $named: Boolean!) { customers(first: 2) { nodes {
  id name @include(if: $named) accounts(first: $first) { id name } } } }"""


async def test_a_query_sent_again_answers_its_own_variables_and_the_stored_data(server: LiveServer) -> None:
    people = [await customer(server, f"Customer {index}") for index in range(2)]
    for bill in range(2):
        await rest(server, "POST", "/billingAccount", json=billing(f"Bill {bill}", people[0]["id"]))

    async def ask(query: str, **variables: object) -> list[dict[str, object]]:
        nodes: list[dict[str, object]] = (await gql(server, query, variables))["customers"]["nodes"]
        return nodes

    def names(nodes: list[dict[str, object]]) -> list[object]:
        return [[node.get("name"), [a["name"] for a in node["accounts"]]] for node in nodes]  # type: ignore[attr-defined]

    # The selection reads no variable: its plan is kept and serves the next requests, whatever $first is.
    execution._PLANS.clear()
    assert names(await ask(SENT_AGAIN, first=2)) == [["Customer 0", ["Bill 0", "Bill 1"]], ["Customer 1", []]]
    kept = dict(execution._PLANS)
    assert any(fields is not None for _, fields in kept.values())
    assert names(await ask(SENT_AGAIN, first=1)) == [["Customer 0", ["Bill 0", "Bill 1"]]]
    assert execution._PLANS == kept
    await rest(
        server,
        "PATCH",
        f"/customer/{people[0]['id']}",
        json={"name": "Renamed"},
        headers={"content-type": "application/merge-patch+json"},
    )
    assert names(await ask(SENT_AGAIN, first=1)) == [["Renamed", ["Bill 0", "Bill 1"]]]
    assert execution._PLANS == kept  # the plan holds no data

    # A selection reading variables is planned for each request: each answers its own.
    assert names(await ask(READS_VARIABLES, first=1, named=True)) == [
        ["Renamed", ["Bill 0"]],
        ["Customer 1", []],
    ]
    assert names(await ask(READS_VARIABLES, first=None, named=False)) == [
        [None, ["Bill 0", "Bill 1"]],
        [None, []],
    ]
    every = await ask(READS_VARIABLES, first=None, named=False)
    assert [sorted(node) for node in every] == [["accounts", "id"], ["accounts", "id"]]
    assert names(await ask(READS_VARIABLES, first=1, named=True)) == [
        ["Renamed", ["Bill 0"]],
        ["Customer 1", []],
    ]


async def test_an_execution_is_freed_without_the_garbage_collector(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of an execution is left in a reference cycle: with the collector off, each execution
    context is gone once its answer is sent (graphql-core's own helpers, bound methods of the context kept
    on it, made one per request, and the collector's runs cost a tenth of a `customer(id)`)."""
    person = await customer(server, "Freed")
    contexts: list[weakref.ref[execution.MemberExecutionContext]] = []
    made = execution.MemberExecutionContext.__init__

    helpers: list[object] = []

    def tracked(self: execution.MemberExecutionContext, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        contexts.append(weakref.ref(self))
        helpers.append(self.async_helpers)  # what resolve infos offer resolvers: kept, it keeps no context

    monkeypatch.setattr(execution.MemberExecutionContext, "__init__", tracked)
    query = (
        "query($id: ID!) { customer(id: $id) { id name accounts { id } } customers(first: 2) { totalCount } }"
    )
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            data = await gql(server, query, {"id": person["id"]})
            assert data["customer"]["name"] == "Freed" and data["customers"]["totalCount"] >= 1
        for _ in range(100):  # the server's thread lets go of the last one just after it answers
            if all(ref() is None for ref in contexts):
                break
            await asyncio.sleep(0.01)
        assert len(contexts) == 3 and all(ref() is None for ref in contexts)
        assert all(isinstance(kept, GraphQLResolveInfoHelpers) for kept in helpers)
    finally:
        gc.enable()


async def test_the_resolve_info_helpers_reach_the_context_while_it_lives() -> None:
    """`info.async_helpers`: `track` hands values to the live context, and does nothing once it is gone;
    `gather` awaits values together."""

    class Context:
        def __init__(self) -> None:
            self.tracked: list[object] = []

        def track_async_work(self, values: list[object]) -> None:
            self.tracked.extend(values)

    owner = Context()
    helpers = execution._helpers(weakref.ref(owner))  # type: ignore[arg-type]
    helpers.track([1, 2])
    assert owner.tracked == [1, 2]

    async def value(n: int) -> int:
        return n

    assert await helpers.gather([value(3), value(4)]) == [3, 4]
    del owner
    helpers.track([5])  # the context is gone: nothing to hand them to, and no error


def _types_reaching(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """From now on, the name of the type each call of the execution context's `method` is for."""
    types: list[str] = []
    original = getattr(execution.MemberExecutionContext, method)

    def spied(self: execution.MemberExecutionContext, parent_type: Any, *args: Any) -> Any:
        types.append(parent_type.name)
        return original(self, parent_type, *args)

    monkeypatch.setattr(execution.MemberExecutionContext, method, spied)
    return types


async def test_accounts_fetched_with_a_page_are_completed_by_the_plans(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The accounts of a page (an interface: each value's own type chosen by the plain `resolve_type`)
    are completed by the planned path: none of their fields is executed the standard way, and the answer
    is the standard one (each value its own type's fields, `__typename` included)."""
    person = await customer(server, "Planned")
    await rest(server, "POST", "/billingAccount", json=billing("Bill P", person["id"]))
    standard = _types_reaching(monkeypatch, "execute_fields")
    query = (
        "{ customers(first: 5) { nodes { name accounts { __typename name ... on BillingAccount { id } } } } }"
    )
    nodes = (await gql(server, query))["customers"]["nodes"]
    (planned,) = [node for node in nodes if node["name"] == "Planned"]
    assert [(a["__typename"], a["name"]) for a in planned["accounts"]] == [("BillingAccount", "Bill P")]
    assert planned["accounts"][0]["id"]
    # The page's customers reach the execution's own `execute_fields` (their `accounts` field has a
    # resolver); the accounts inside never do.
    assert "Customer" in standard and "BillingAccount" not in standard


async def test_stored_members_of_the_wrong_shape_read_as_absent(server: LiveServer, store: Store) -> None:
    """A stored object member that is not an object, or array member that is not an array, reads as null,
    and an array keeps only its objects (schema.convert.from_document): a document another writer changed
    below the validation is answered with what it holds of the schema's shape, without an error."""
    odd = await customer(server, "Shapes")
    await _corrupt(store, odd["id"], "contactMedium", '[{"mediumType": "email"}, "junk", 5]')
    await _corrupt(store, odd["id"], "relatedParty", '"junk"')
    await _corrupt(store, odd["id"], "validFor", '"junk"')
    query = """query($id: ID!) { customer(id: $id) {
      name contactMedium { mediumType } relatedParty { id } validFor { startDateTime } } }"""
    assert (await gql(server, query, {"id": odd["id"]}))["customer"] == {
        "name": "Shapes",
        "contactMedium": [{"mediumType": "email"}],
        "relatedParty": None,
        "validFor": None,
    }


def _standard_fields(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """From now on, the fields graphql-core executes its own way (not by a plan), by their type's name."""
    standard: list[tuple[str, list[str]]] = []
    executes = Executor.execute_fields

    def spied(self: Executor, parent_type: Any, source: Any, path: Any, fields: Any, *rest: Any) -> Any:
        standard.append((parent_type.name, list(fields)))
        return executes(self, parent_type, source, path, fields, *rest)

    monkeypatch.setattr(Executor, "execute_fields", spied)
    return standard


EVERY_KIND = """query($id: ID!) { customer(id: $id) {
  __typename id name status statusReason validFor { startDateTime endDateTime }
  contactMedium { mediumType preferred characteristic { emailAddress city } validFor { startDateTime } }
  creditProfile { creditProfileDate creditRiskRating creditScore }
  characteristic { name valueType value }
  engagedParty { id name }
  accounts { __typename name ... on BillingAccount { accountBalance { amount { value unit } } } }
} }"""


async def test_every_member_below_a_resolver_is_completed_by_the_plans(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Leaves of every kind (text, id, boolean, integer, float, date-time, JSON), nulls of nullable members,
    lists and nested objects are all answered by the plans: graphql-core's own field execution runs only
    for the fields with resolvers (`customer`, `accounts`), and the answer is the stored customer's."""
    body = {
        "name": "Kinds",
        "engagedParty": {"id": "p", "name": "Party", "@referredType": "Individual"},
        "validFor": {"startDateTime": "2024-01-01T00:00:00Z"},
        "contactMedium": [
            {"mediumType": "email", "preferred": True, "characteristic": {"emailAddress": "k@x.org"}},
            {
                "mediumType": "phone",
                "preferred": False,
                "characteristic": {"phoneNumber": "+100"},
                "validFor": {"startDateTime": "2024-02-01T00:00:00Z"},
            },
        ],
        "creditProfile": [
            {
                "creditProfileDate": "2024-03-01T00:00:00Z",
                "creditRiskRating": 3,
                "validFor": {"startDateTime": "2024-03-01T00:00:00Z"},
            }
        ],
        "characteristic": [
            {"name": "count", "valueType": "number", "value": 7},
            {"name": "flag", "value": False},
            {"name": "shape", "valueType": "object", "value": {"a": [1, None]}},
        ],
    }
    created = await rest(server, "POST", "/customer", json=body)
    await rest(
        server, "POST", "/billingAccount", json=billing("Bill K", created["id"], accountBalance=balance(12.5))
    )
    standard = _standard_fields(monkeypatch)
    answer = (await gql(server, EVERY_KIND, {"id": created["id"]}))["customer"]
    assert standard == [("Query", ["customer"]), ("Customer", ["accounts"])]
    assert answer == {
        "__typename": "Customer",
        "id": created["id"],
        "name": "Kinds",
        "status": created.get("status"),
        "statusReason": None,
        "validFor": {"startDateTime": "2024-01-01T00:00:00Z", "endDateTime": None},
        "contactMedium": [
            {
                "mediumType": "email",
                "preferred": True,
                "characteristic": {"emailAddress": "k@x.org", "city": None},
                "validFor": None,
            },
            {
                "mediumType": "phone",
                "preferred": False,
                "characteristic": {"emailAddress": None, "city": None},
                "validFor": {"startDateTime": "2024-02-01T00:00:00Z"},
            },
        ],
        "creditProfile": [
            {"creditProfileDate": "2024-03-01T00:00:00Z", "creditRiskRating": 3, "creditScore": None}
        ],
        "characteristic": [
            {"name": "count", "valueType": "number", "value": 7},
            {"name": "flag", "valueType": None, "value": False},
            {"name": "shape", "valueType": "object", "value": {"a": [1, None]}},
        ],
        "engagedParty": {"id": "p", "name": "Party"},
        "accounts": [
            {
                "__typename": "BillingAccount",
                "name": "Bill K",
                "accountBalance": [{"amount": {"value": 12.5, "unit": "EUR"}}],
            }
        ],
    }


async def test_a_selection_is_planned_once_per_request_whatever_the_number_of_objects(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Plans once, runs per object: the customers of a page and the contact media of each share their
    selection's plan, made for the first of them."""
    for index in range(3):
        await customer(server, f"Planned {index}")
    planned = _types_reaching(monkeypatch, "_shared_fields")
    query = "{ customers(first: 3) { nodes { name engagedParty { id } contactMedium { mediumType } } } }"
    nodes = (await gql(server, query))["customers"]["nodes"]
    assert [node["name"] for node in nodes] == ["Planned 0", "Planned 1", "Planned 2"]
    assert sorted(planned) == ["Customer", "CustomerConnection", "Query"]
    # Objects of two types in turn (a customer's accounts in creation order): each type's plan is kept
    # while the other's is used, not made again.
    owner = await customer(server, "Owner")
    for path in ("/billingAccount", "/partyAccount", "/billingAccount"):
        await rest(server, "POST", path, json=billing(path, owner["id"]))
    planned.clear()
    query = "query($id: ID!) { customer(id: $id) { accounts { __typename name } } }"
    answer = (await gql(server, query, {"id": owner["id"]}))["customer"]["accounts"]
    assert [account["__typename"] for account in answer] == [
        "BillingAccount",
        "PartyAccount",
        "BillingAccount",
    ]
    assert sorted(planned) == ["BillingAccount", "Customer", "PartyAccount", "Query"]


def _plans_shared() -> dict[str, bool]:
    """Of each plan kept, by the name of its selection's type: whether later requests may reuse it."""
    return {owners[1].name: fields is not None for owners, fields in execution._PLANS.values()}


@pytest.mark.parametrize(
    ("query", "variables", "shared"),
    [
        # No variable anywhere (fragments included): every selection's plan is kept for the next requests.
        (
            "query { customers(first: 2) { nodes { id ...named } } } fragment named on Customer { name }",
            {},
            {"Query": True, "CustomerConnection": True, "Customer": True},
        ),
        # A variable in the root field's arguments: only the root selection reads it.
        (
            "query($n: Int) { customers(first: $n) { nodes { id name } } }",
            {"n": 2},
            {"Query": False, "CustomerConnection": True, "Customer": True},
        ),
        # A variable in an argument deep down: each selection above it reads it.
        (
            "query($n: Int) { customers(first: 2) { nodes { id accounts(first: $n) { id } } } }",
            {"n": 1},
            {"Query": False, "CustomerConnection": False, "Customer": False},
        ),
        # In a directive.
        (
            "query($b: Boolean!) { customers(first: 2) { nodes { id name @include(if: $b) } } }",
            {"b": True},
            {"Query": False, "CustomerConnection": False, "Customer": False},
        ),
        # Through a fragment, and through a fragment spread by a fragment (spread twice).
        (
            "query($n: Int) { customers(first: 2) { nodes { id ...outer ...outer } } }"
            " fragment outer on Customer { name ...inner }"
            " fragment inner on Customer { accounts(first: $n) { id } }",
            {"n": 1},
            {"Query": False, "CustomerConnection": False, "Customer": False},
        ),
    ],
)
async def test_a_plan_is_kept_for_other_requests_only_when_its_selection_reads_no_variable(
    server: LiveServer, query: str, variables: dict[str, Any], shared: dict[str, bool]
) -> None:
    await customer(server, "Planned")
    execution._PLANS.clear()
    await gql(server, query, variables)
    assert _plans_shared() == shared


@strawberry.type
class Inner:
    z: int


@strawberry.type
class Root:
    x: str
    y: Inner


def test_an_extension_wrapping_every_resolver_sees_every_field() -> None:
    """With an extension that wraps resolvers (graphql-core middleware), no field takes the short path:
    the extension sees each one, members included, and the answer is the standard one."""
    seen: list[str] = []

    class Seen(SchemaExtension):
        def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(info.field_name)
            return _next(root, info, *args, **kwargs)

    schema = strawberry.Schema(
        query=Root, extensions=[Seen], execution_context_class=execution.MemberExecutionContext
    )
    for type_name, field_name in (("Root", "x"), ("Root", "y"), ("Inner", "z")):

        def member(source: Any, _info: Any, name: str = field_name) -> Any:
            return getattr(source, name)

        member.member = True  # type: ignore[attr-defined]  # as schema.derive marks stored members
        schema._schema.type_map[type_name].fields[field_name].resolve = member  # type: ignore[union-attr]
    result = schema.execute_sync("{ x y { z } }", root_value=Root(x="a", y=Inner(z=1)))
    assert result.errors is None
    assert result.data == {"x": "a", "y": {"z": 1}}
    assert seen == ["x", "y", "z"]
    # An error deeper down is reported at its full path.
    result = schema.execute_sync("{ y { z } }", root_value=Root(x="a", y=Inner(z=None)))  # type: ignore[arg-type]
    assert result.data is None
    assert [error.path for error in result.errors or ()] == [["y", "z"]]


async def test_a_selection_reading_a_variable_is_planned_afresh_each_time_the_same_way(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent again, a selection that reads a variable gets a new plan, as good as the first: the same
    fields go graphql-core's own way (those with resolvers), the members still by the plan."""
    person = await customer(server, "Again")
    await rest(server, "POST", "/billingAccount", json=billing("Bill A", person["id"]))
    standard = _standard_fields(monkeypatch)
    query = "query($n: Int) { customers(first: 5) { nodes { name accounts(first: $n) { name } } } }"
    execution._PLANS.clear()
    runs = []
    for _ in range(2):
        standard.clear()
        nodes = (await gql(server, query, {"n": 1}))["customers"]["nodes"]
        assert nodes == [{"name": "Again", "accounts": [{"name": "Bill A"}]}]
        runs.append(list(standard))
    assert runs[0] == runs[1]
    assert all(name in ("Query", "CustomerConnection") for name, _ in runs[0]), runs[0]


async def test_the_plans_kept_across_requests_are_bounded(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most MAX_PLANS plans are kept: the one that would not fit drops them all first."""
    await customer(server, "Bounded")
    monkeypatch.setattr(execution, "MAX_PLANS", 3)
    execution._PLANS.clear()
    sizes = []
    for member in ("name", "status", "href", "id", "etag"):
        await gql(server, f"{{ customers(first: 1) {{ nodes {{ {member} }} }} }}")
        sizes.append(len(execution._PLANS))
    # Each query plans three selections (the root, the page, a customer): the second drops the first's.
    assert sizes == [3, 3, 3, 3, 3]


@strawberry.type
class Tracking:
    @strawberry.field
    async def tracked(self, info: strawberry.Info) -> str:
        async def work() -> None:
            info.context["settled"].append("work")

        info._raw_info.async_helpers.track([work()])
        return "ok"


async def test_a_resolver_hands_async_work_to_its_execution() -> None:
    """`info.async_helpers.track` reaches the running execution (held weakly), which settles the work."""
    schema = strawberry.Schema(query=Tracking, execution_context_class=execution.MemberExecutionContext)
    context: dict[str, list[str]] = {"settled": []}
    result = await schema.execute("{ tracked }", root_value=Tracking(), context_value=context)
    assert result.errors is None and result.data == {"tracked": "ok"}
    for _ in range(3):
        await asyncio.sleep(0)
    assert context["settled"] == ["work"]
