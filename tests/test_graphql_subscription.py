"""The `customerEvents` subscription over a real graphql-transport-ws websocket against a live server:
REST writes arrive as events in order, the eventTypes filter, refused types, closing ends the feed stream,
and writes of another server process (another replica) are seen."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from app.events.feed import EventStream
from resolvers.subscription import customer_events
from tests.conftest import LiveServer
from tests.support.process import ServerProcess
from tests.test_graphql import CUSTOMER_FIELDS, gql

SNAPSHOT_FIELDS = CUSTOMER_FIELDS.replace(" etag", "", 1)
EVENTS = f"""
subscription Events($types: [String!]) {{
  customerEvents(eventTypes: $types) {{
    eventId eventType eventTime fieldPath customer {{ {SNAPSHOT_FIELDS} }}
  }}
}}"""
MOON = {"name": "Moon", "status": "Pending", "engagedParty": {"id": "500", "@referredType": "Organization"}}
MERGE = {"content-type": "application/merge-patch+json"}
WAIT = 10.0


class GraphQLSocket:
    """A graphql-transport-ws client: connection_init/ack, subscribe, next/error/complete by operation id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: dict[str, list[dict[str, Any]]] = {}

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(orjson.dumps(message).decode())

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.send(
            {"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}}
        )

    async def complete(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "complete"})

    async def receive(self, op_id: str, count: int = 1) -> list[dict[str, Any]]:
        """The next `count` messages of operation `op_id` (messages of other operations are kept)."""
        async with asyncio.timeout(WAIT):
            while len(self.messages.get(op_id, [])) < count:
                message = orjson.loads(await self.ws.recv())
                if message["type"] == "ping":
                    await self.send({"type": "pong"})
                    continue
                self.messages.setdefault(message["id"], []).append(message)
        taken, self.messages[op_id] = self.messages[op_id][:count], self.messages[op_id][count:]
        return taken

    async def events(self, op_id: str, count: int) -> list[dict[str, Any]]:
        messages = await self.receive(op_id, count)
        assert all(m["type"] == "next" and "errors" not in m["payload"] for m in messages), messages
        return [m["payload"]["data"]["customerEvents"] for m in messages]


@contextlib.asynccontextmanager
async def graphql_socket(server: LiveServer) -> AsyncIterator[GraphQLSocket]:
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        socket = GraphQLSocket(ws)
        await socket.send({"type": "connection_init"})
        async with asyncio.timeout(WAIT):
            assert orjson.loads(await ws.recv()) == {"type": "connection_ack"}
        yield socket


async def wait_listeners(server: LiveServer, count: int) -> None:
    """Until the server's feed has `count` streams: a subscription listens from then on (the protocol has
    no 'subscribed' message). Reads the feed's private set: the server runs in this process."""
    feed = server.app.state.events.feed
    deadline = time.monotonic() + WAIT
    while len(feed._streams) != count:
        assert time.monotonic() < deadline, f"{len(feed._streams)} feed streams, not {count}"
        await asyncio.sleep(0.01)


async def rest_writes(api: str) -> dict[str, Any]:
    """Create (Pending), rename, approve, delete one customer: 5 events. Returns the created customer."""
    async with httpx.AsyncClient(base_url=api, timeout=10) as http:
        created = await http.post("/customer", json=MOON)
        assert created.status_code == 201, created.text
        url = f"/customer/{created.json()['id']}"
        for change in ({"name": "Moon FC"}, {"status": "Approved"}):
            response = await http.patch(url, content=orjson.dumps(change), headers=MERGE)
            assert response.status_code == 200, response.text
        assert (await http.delete(url)).status_code == 204
    customer: dict[str, Any] = created.json()
    return customer


async def test_rest_writes_arrive_in_order_and_filtered(server: LiveServer) -> None:
    async with graphql_socket(server) as socket:
        await socket.subscribe("all", EVENTS)
        await socket.subscribe(
            "states", EVENTS, {"types": ["CustomerStateChangeEvent", "CustomerDeleteEvent"]}
        )
        await wait_listeners(server, 2)
        created = await rest_writes(server.api)

        every = await socket.events("all", 5)
        assert [(e["eventType"], e["fieldPath"]) for e in every] == [
            ("CustomerCreateEvent", None),
            ("CustomerAttributeValueChangeEvent", "name"),
            ("CustomerAttributeValueChangeEvent", "status"),
            ("CustomerStateChangeEvent", None),
            ("CustomerDeleteEvent", None),
        ]
        assert len({e["eventId"] for e in every}) == 5
        assert all(e["eventTime"].endswith("Z") for e in every)
        customers = [e["customer"] for e in every]
        assert {c["id"] for c in customers} == {created["id"]}
        assert {c["href"] for c in customers} == {created["href"]}
        assert [(c["name"], c["status"]) for c in customers] == [
            ("Moon", "Pending"),
            ("Moon FC", "Pending"),
            ("Moon FC", "Approved"),
            ("Moon FC", "Approved"),
            ("Moon FC", "Approved"),
        ]
        assert customers[0]["engagedParty"]["referredType"] == "Organization"
        assert customers[0]["type"] == "Customer"

        # The filtered operation got only its types, in the same order.
        states = await socket.events("states", 2)
        assert [e["eventType"] for e in states] == ["CustomerStateChangeEvent", "CustomerDeleteEvent"]
        assert [e["eventId"] for e in states] == [every[3]["eventId"], every[4]["eventId"]]

        # Unsubscribing closes the operation's feed stream; the other keeps listening.
        await socket.complete("all")
        await wait_listeners(server, 1)
        await socket.complete("states")
        await wait_listeners(server, 0)


async def test_the_event_customer_is_the_query_customer_without_etag(server: LiveServer) -> None:
    async with graphql_socket(server) as socket:
        await socket.subscribe("1", EVENTS, {"types": ["CustomerCreateEvent"]})
        await wait_listeners(server, 1)
        async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
            customer_id = (await http.post("/customer", json=MOON)).json()["id"]
        [event] = await socket.events("1", 1)
    query = f"query($id: ID!) {{ customer(id: $id) {{ {SNAPSHOT_FIELDS} }} }}"
    assert event["customer"] == (await gql(server, query, {"id": customer_id}))["customer"]


async def test_unknown_or_no_event_types_are_refused(server: LiveServer) -> None:
    async with graphql_socket(server) as socket:
        await socket.subscribe("bad", EVENTS, {"types": ["CustomerCreateEvent", "CustomerBirthdayEvent"]})
        [message] = await socket.receive("bad")
        assert message["type"] == "error", message
        [error] = message["payload"]
        assert "unknown event type 'CustomerBirthdayEvent'" in error["message"]
        assert error["extensions"] == {"code": "INVALID_VALUE", "field": "eventTypes"}

        await socket.subscribe("empty", EVENTS, {"types": []})
        [message] = await socket.receive("empty")
        assert message["type"] == "error" and "eventTypes is empty" in message["payload"][0]["message"]

        # The connection is still usable, and no refused operation left a stream behind.
        await socket.subscribe("good", EVENTS, {"types": ["CustomerDeleteEvent"]})
        await wait_listeners(server, 1)


async def test_closing_the_websocket_closes_the_feed_streams(server: LiveServer) -> None:
    async with graphql_socket(server) as socket:
        await socket.subscribe("1", EVENTS)
        await socket.subscribe("2", EVENTS, {"types": ["CustomerCreateEvent"]})
        await wait_listeners(server, 2)
    await wait_listeners(server, 0)


async def test_queries_over_one_websocket_read_fresh_data(server: LiveServer) -> None:
    """A websocket's context lasts as long as it: its customer loader must not cache across operations."""
    async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
        customer_id = (await http.post("/customer", json=MOON)).json()["id"]
        query = f'{{ customer(id: "{customer_id}") {{ name }} }}'
        async with graphql_socket(server) as socket:
            names = []
            for op_id, name in (("1", "Moon FC"), ("2", "Moon United")):
                await socket.subscribe(op_id, query)
                reply, done = await socket.receive(op_id, 2)
                assert done["type"] == "complete", done
                names.append(reply["payload"]["data"]["customer"]["name"])
                change = orjson.dumps({"name": name})
                assert (
                    await http.patch(f"/customer/{customer_id}", content=change, headers=MERGE)
                ).is_success
    assert names == ["Moon", "Moon FC"]


async def test_writes_of_another_server_process_are_seen(server: LiveServer) -> None:
    """Another replica: PostgreSQL NOTIFY reaches this one's feed; SQLite's feed polls while it listens."""
    other = ServerProcess(server.settings.database_url, TMF629_DISPATCHER_ENABLED="false").start()
    try:
        async with graphql_socket(server) as socket:
            await socket.subscribe("1", EVENTS)
            await wait_listeners(server, 1)
            created = await rest_writes(other.api)
            events = await socket.events("1", 5)
    finally:
        other.stop()
    assert [e["eventType"] for e in events] == [
        "CustomerCreateEvent",
        "CustomerAttributeValueChangeEvent",
        "CustomerAttributeValueChangeEvent",
        "CustomerStateChangeEvent",
        "CustomerDeleteEvent",
    ]
    assert {e["customer"]["href"] for e in events} == {created["href"]}
    assert created["href"].startswith(other.url)


class OneStreamFeed:
    """A feed of one stream that holds one event at most (EventFeed's listen/remove contract)."""

    stream: EventStream

    def listen(self, event_types: frozenset[str] | None) -> EventStream:
        self.stream = EventStream(self, event_types, max_queue=1)  # type: ignore[arg-type]
        return self.stream

    def remove(self, stream: EventStream) -> None:
        pass


async def test_a_subscriber_that_falls_behind_gets_an_error() -> None:
    feed = OneStreamFeed()
    events = customer_events(feed, None)  # type: ignore[arg-type]
    first = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    customer = {"id": "1", "href": "http://x/customer/1", "@type": "Customer", "engagedParty": {"id": "5"}}
    for n in range(2):
        feed.stream.offer(
            {"eventId": str(n), "eventTime": "2024-01-31T12:00:00Z", "eventType": "CustomerCreateEvent"}
            | {"event": {"customer": customer}}
        )
    assert (await first).event_id == "0"
    with pytest.raises(Exception, match="fell behind.*subscribe again") as raised:
        await anext(events)
    assert raised.value.extensions == {"code": "OVERFLOW"}  # type: ignore[attr-defined]
