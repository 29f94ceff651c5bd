"""Authentication and scopes on the GraphQL door, against a live server on both databases: HTTP (401
without a credential, FORBIDDEN fields without the scope, introspection, the GraphiQL page) and the
graphql-transport-ws websocket (credential in connection_init, 4401 and 4403)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from app.security.apikeys import ApiKeys
from app.store.base import Store
from tests.conftest import LiveServer
from tests.support.tokens import AUDIENCE, ISSUER, SigningKey, write_jwks
from tests.test_graphql_subscription import GraphQLSocket, wait_listeners

CREATE = """mutation($input: CustomerCreateInput!) {
  createCustomer(input: $input) { __typename ... on Customer { id name } }
}"""
MOON = {"name": "Moon", "engagedParty": {"id": "500", "referredType": "Organization"}}
EVENTS = "subscription { customerEvents { eventType customer { id name } } }"


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-1")


@pytest.fixture
async def secured(make_server: Callable[..., LiveServer], rsa_key: SigningKey, tmp_path: Path) -> LiveServer:
    jwks = write_jwks(tmp_path / "jwks.json", rsa_key)
    return make_server(auth="api-key,jwt", jwt_jwks_file=str(jwks), jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


@pytest.fixture
async def keys(store: Store) -> dict[str, str]:
    api_keys = ApiKeys(store)
    made = {}
    for name, scopes in {
        "reader": ["customer:read"],
        "writer": ["customer:read", "customer:write"],
        "hub": ["hub:write"],
    }.items():
        made[name] = (await api_keys.create(name, scopes))[1]
    return made


async def post(server: LiveServer, query: str, headers: dict[str, str], **variables: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        return await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


async def test_http_needs_a_credential_but_the_graphiql_page_loads(secured: LiveServer) -> None:
    refused = await post(secured, "{ customers { totalCount } }", {})
    assert refused.status_code == 401 and refused.json()["@type"] == "Error"
    assert refused.headers["www-authenticate"].startswith("Bearer")
    introspection = await post(secured, "{ __schema { queryType { name } } }", {})
    assert introspection.status_code == 401
    async with httpx.AsyncClient(base_url=secured.url) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
        smuggled = await http.get(
            "/graphql", params={"query": "{ customers { totalCount } }"}, headers={"Accept": "text/html"}
        )
        assert smuggled.status_code == 401


async def test_fields_without_their_scope_are_forbidden(secured: LiveServer, keys: dict[str, str]) -> None:
    reader, writer, hub = (
        {"X-API-Key": keys["reader"]},
        {"X-API-Key": keys["writer"]},
        {"X-API-Key": keys["hub"]},
    )
    introspection = await post(secured, "{ __schema { queryType { name } } }", hub)
    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    created = (await post(secured, CREATE, writer, input=MOON)).json()
    assert created["data"]["createCustomer"]["__typename"] == "Customer", created
    customer_id = created["data"]["createCustomer"]["id"]

    denied = (await post(secured, CREATE, reader, input=MOON)).json()
    assert denied["data"] is None
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["FORBIDDEN"]
    assert "customer:write" in denied["errors"][0]["message"]

    read = (await post(secured, "{ customers { totalCount } }", reader)).json()
    assert read == {"data": {"customers": {"totalCount": 1}}}
    mixed = await post(secured, "query($id: ID!) { customer(id: $id) { name } }", hub, id=customer_id)
    body = mixed.json()
    assert mixed.status_code == 200 and body["data"] == {"customer": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN" and body["errors"][0]["path"] == [
        "customer"
    ]


async def test_jwt_scopes_apply_to_graphql(secured: LiveServer, rsa_key: SigningKey) -> None:
    reader = {"Authorization": f"Bearer {rsa_key.token('customer:read')}"}
    assert (await post(secured, "{ customers { totalCount } }", reader)).json()["data"]["customers"][
        "totalCount"
    ] == 0
    denied = (await post(secured, CREATE, reader, input=MOON)).json()
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    expired = {"Authorization": f"Bearer {rsa_key.token('customer:read', exp=1)}"}
    assert (await post(secured, "{ customers { totalCount } }", expired)).status_code == 401


async def socket_close_code(server: LiveServer, init: dict[str, Any], subscribe: bool = False) -> int:
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(orjson.dumps(init).decode())
        try:
            async with asyncio.timeout(10):
                if subscribe:
                    assert orjson.loads(await ws.recv()) == {"type": "connection_ack"}
                    message = {"id": "1", "type": "subscribe", "payload": {"query": EVENTS}}
                    await ws.send(orjson.dumps(message).decode())
                await ws.recv()
        except ConnectionClosed:
            pass
        await ws.wait_closed()
        assert ws.close_code is not None
        return ws.close_code


async def test_websockets_authenticate_in_connection_init(
    secured: LiveServer, keys: dict[str, str], rsa_key: SigningKey
) -> None:
    assert await socket_close_code(secured, {"type": "connection_init"}) == 4401
    assert (
        await socket_close_code(secured, {"type": "connection_init", "payload": {"x-api-key": "nope"}})
        == 4401
    )
    expired = f"Bearer {rsa_key.token(exp=1)}"
    assert (
        await socket_close_code(secured, {"type": "connection_init", "payload": {"authorization": expired}})
        == 4401
    )
    hub_only = {"type": "connection_init", "payload": {"x-api-key": keys["hub"]}}
    assert await socket_close_code(secured, hub_only, subscribe=True) == 4403

    url = secured.url.replace("http://", "ws://") + "/graphql"
    token = f"Bearer {rsa_key.token('customer:read')}"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        socket = GraphQLSocket(ws)
        await socket.send({"type": "connection_init", "payload": {"Authorization": token}})
        assert orjson.loads(await ws.recv()) == {"type": "connection_ack"}
        await socket.subscribe("1", EVENTS)
        await wait_listeners(secured, 1)
        async with httpx.AsyncClient(base_url=secured.api) as http:
            created = await http.post(
                "/customer",
                json={"name": "Sun", "engagedParty": {"id": "1", "@referredType": "Organization"}},
                headers={"X-API-Key": keys["writer"]},
            )
            assert created.status_code == 201
        [event] = await socket.events("1", 1)
        assert event["eventType"] == "CustomerCreateEvent" and event["customer"]["name"] == "Sun"
