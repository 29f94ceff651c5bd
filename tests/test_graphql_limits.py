"""GraphQL speed and safety: bounded SQL per request, limits enforced before anything runs, masked faults,
GraphiQL and introspection switches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from graphql import get_introspection_query
from sqlalchemy import Engine, event

from app.services import CustomerService
from app.store.base import Store
from tests.conftest import LiveServer
from tests.test_graphql import CUSTOMER_FIELDS, create, customers_query, gql
from tests.test_graphql_mutations import FULL_INPUT
from tests.test_parity import FULL_REST


class StatementCounter:
    """Counts every SQL statement a store sends: cursor executions on its SQLAlchemy engines, plus the
    statements of the hot paths (`fetch_row`, `fetch_all`), which bypass SQLAlchemy."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.count = 0
        engines: list[Engine] = (
            [store._reader_engine, store._writer_engine]  # type: ignore[attr-defined]
            if store.dialect == "sqlite"
            else [store.engine.sync_engine]  # type: ignore[attr-defined]
        )
        self.engines = engines

    def _on_execute(self, *_: Any) -> None:
        self.count += 1

    @contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        def counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            async def run(sql: str, params: tuple[Any, ...]) -> Any:
                self.count += 1
                return await method(sql, params)

            return run

        for engine in self.engines:
            event.listen(engine, "before_cursor_execute", self._on_execute)
        self.store.fetch_row = counted(self.store.fetch_row)  # type: ignore[method-assign]
        self.store.fetch_all = counted(self.store.fetch_all)  # type: ignore[method-assign]
        self.count = 0
        try:
            yield self
        finally:
            for engine in self.engines:
                event.remove(engine, "before_cursor_execute", self._on_execute)
            del self.store.fetch_row
            del self.store.fetch_all


async def test_statements_per_request_do_not_grow_with_the_page(server: LiveServer, store: Store) -> None:
    service = CustomerService(store)
    for index in range(100):
        await service.create({**FULL_REST, "name": f"Customer {index:03}"}, server.api)
    query = customers_query(CUSTOMER_FIELDS)
    counter = StatementCounter(server.app.state.store)
    await gql(server, query, {"first": 5})  # warm up: first connections, dialect initialisation
    counts = {}
    for first in (100, 10, 100):
        with counter.counting():
            page = (await gql(server, query, {"first": first}))["customers"]
        assert len(page["nodes"]) == first and page["totalCount"] == 100
        assert page["nodes"][0]["contactMedium"][0]["characteristic"]["emailAddress"] == "ops@sun.example"
        counts[first] = counter.count
    assert 1 <= counts[100] <= 2 and counts[10] == counts[100], counts

    ids = [node["id"] for node in page["nodes"][:20]]
    aliases = " ".join(f'c{i}: customer(id: "{cid}") {{ ...All }}' for i, cid in enumerate(ids))
    with counter.counting():
        data = await gql(server, f"{{ {aliases} }} fragment All on Customer {{ {CUSTOMER_FIELDS} }}")
    assert [data[f"c{i}"]["id"] for i in range(20)] == ids
    assert counter.count == 1, "twenty customers by id: one batched statement"
    with counter.counting():
        data = await gql(
            server,
            f'{{ customer(id: "{ids[0]}") {{ ...All }} }} fragment All on Customer {{ {CUSTOMER_FIELDS} }}',
        )
    assert data["customer"]["id"] == ids[0] and counter.count == 1, "one customer by id: one statement"


async def test_alias_bombs_and_huge_documents_are_refused_before_running(server: LiveServer) -> None:
    counter = StatementCounter(server.app.state.store)
    limit = server.settings.graphql_max_aliases
    bomb = " ".join(f"a{i}: customers(first: 1000) {{ nodes {{ id }} }}" for i in range(limit + 1))
    huge = "{ customers { nodes { " + "id " * server.settings.graphql_max_tokens + "} } }"
    with counter.counting():
        refused = await gql(server, f"{{ {bomb} }}", errors=True)
        assert f"{limit + 1} aliases found" in refused["errors"][0]["message"] and refused["data"] is None
        refused = await gql(server, huge, errors=True)
        assert "tokens" in refused["errors"][0]["message"]
    assert counter.count == 0
    allowed = " ".join(f"a{i}: customers {{ totalCount }}" for i in range(limit))
    assert len(await gql(server, f"{{ {allowed} }}")) == limit


async def test_depth_and_first_limits_are_configurable(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(graphql_max_depth=3, graphql_max_first=5)
    deep = "{ customers { nodes { contactMedium { characteristic { city } } } } }"
    refused = await gql(server, deep, errors=True)
    assert "exceeds maximum operation depth of 3" in refused["errors"][0]["message"]
    await gql(server, "{ customers { nodes { engagedParty { id } } } }")
    refused = await gql(server, "{ customers(first: 6) { totalCount } }", errors=True)
    assert refused["errors"][0]["extensions"] == {"code": "INVALID_QUERY", "field": "first"}
    assert "between 0 and 5" in refused["errors"][0]["message"]
    await gql(server, "{ customers(first: 5) { totalCount } }")


async def test_unexpected_failures_are_masked(server: LiveServer) -> None:
    service = server.app.state.customer_service

    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("password=hunter2 at /srv/secret.py")

    service.list = broken
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{server.url}/graphql", json={"query": "{ customers { totalCount } }"}
            )
    finally:
        del service.list
    assert response.status_code == 200
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    assert "hunter2" not in response.text and "Traceback" not in response.text


async def test_graphiql_and_introspection_are_on_by_default(server: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{server.url}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    introspection = get_introspection_query(
        descriptions=True, specified_by_url=True, directive_is_repeatable=True, input_value_deprecation=True
    )
    schema = (await gql(server, introspection))["__schema"]
    names = {item["name"] for item in schema["types"]}
    assert {"Customer", "CustomerWhere", "CustomerConnection", "ValidationError", "DateTime", "JSON"} <= names


async def test_introspection_can_be_turned_off(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(graphql_introspection=False)
    refused = await gql(server, "{ __schema { types { name } } }", errors=True)
    assert "introspection" in refused["errors"][0]["message"].lower()
    refused = await gql(server, '{ __type(name: "Customer") { name } }', errors=True)
    assert await gql(server, "{ __typename customers { totalCount } }") == {
        "__typename": "Query",
        "customers": {"totalCount": 0},
    }
    async with httpx.AsyncClient(timeout=30) as http:
        page = await http.get(f"{server.url}/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in page.text.lower()


async def test_full_customers_from_the_test_helpers_agree(server: LiveServer) -> None:
    """The REST and GraphQL spellings of the full customer used here describe the same customer."""
    created = await create(server, FULL_INPUT)
    async with httpx.AsyncClient(timeout=30) as http:
        rest = (await http.get(created["href"])).json()
    assert {k: v for k, v in rest.items() if k not in ("id", "href", "@type")} == FULL_REST


async def test_href_base_follows_the_rest_rules(make_server: Callable[..., LiveServer]) -> None:
    public = make_server(public_url="https://customers.example/")
    created = await create(public)
    assert (
        created["href"] == f"https://customers.example/tmf-api/customerManagement/v4/customer/{created['id']}"
    )
    # the proxy's host must be one the service serves (TMF629_ALLOWED_HOSTS)
    proxied = make_server(trust_forwarded_headers=True, allowed_hosts="127.0.0.1,edge.example")
    headers = {"x-forwarded-proto": "https", "x-forwarded-host": "edge.example"}
    query = "{ customers { nodes { href } } }"
    async with httpx.AsyncClient(timeout=30, headers=headers) as http:
        graphql = (await http.post(f"{proxied.url}/graphql", json={"query": query})).json()
        rest = (await http.get(f"{proxied.api}/customer")).json()
    assert [node["href"] for node in graphql["data"]["customers"]["nodes"]] == [item["href"] for item in rest]
    assert rest[0]["href"].startswith("https://edge.example/tmf-api/customerManagement/v4/customer/")
