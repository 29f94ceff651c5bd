"""The event hub over HTTP against a live server with its dispatcher: subscriptions, their validation,
the listener endpoints, and events POSTed to a real listener (filters, order, retries, dead letters)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.settings import Settings
from app.store.base import Store
from app.store.tables import EventDelivery, EventOutbox
from tests.conftest import LiveServer
from tests.support.listener import FAST_DISPATCH, Listener
from tests.test_rest_customer import assert_tmf_error

MOON = {"name": "Moon", "status": "Pending", "engagedParty": {"id": "500", "@referredType": "Organization"}}
SUN = {"name": "Sun", "status": "Approved", "engagedParty": {"id": "777", "@referredType": "Organization"}}
MERGE = {"content-type": "application/merge-patch+json"}
DELIVERY = EventDelivery.__table__.c  # type: ignore[attr-defined]
OUTBOX = EventOutbox.__table__.c  # type: ignore[attr-defined]


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener().start()
    yield listener
    listener.stop()


def hub_server(settings: Settings, **extra: Any) -> LiveServer:
    return LiveServer(settings.model_copy(update={**FAST_DISPATCH, **extra}))


@pytest.fixture
async def hub(settings: Settings, store: Store) -> AsyncIterator[LiveServer]:
    live = hub_server(settings)
    live.start()
    yield live
    live.stop()


@pytest.fixture
async def api(hub: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=hub.api, timeout=10) as http:
        yield http


async def subscribe(api: httpx.AsyncClient, callback: str, query: str | None = None) -> dict[str, Any]:
    body = {"callback": callback} if query is None else {"callback": callback, "query": query}
    response = await api.post("/hub", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def create(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    response = await api.post("/customer", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def merge(api: httpx.AsyncClient, customer_id: str, body: dict[str, Any]) -> None:
    response = await api.patch(f"/customer/{customer_id}", json=body, headers=MERGE)
    assert response.status_code == 200, response.text


async def deliveries(store: Store) -> list[Any]:
    return await store.read(
        lambda conn: conn.execute(
            select(DELIVERY.state, DELIVERY.attempts, DELIVERY.last_error).order_by(DELIVERY.seq)
        ).all()
    )


def kinds(events: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(e["eventType"], e["event"]["customer"].get("name")) for e in events]


# -- the hub resource ---------------------------------------------------------------------------------


async def test_register_retrieve_and_unregister_a_listener(api: httpx.AsyncClient, hub: LiveServer) -> None:
    query = "eventType=CustomerCreateEvent,CustomerDeleteEvent&status=Approved"
    response = await api.post("/hub", json={"callback": "http://127.0.0.1:9/listener", "query": query})
    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "callback": "http://127.0.0.1:9/listener", "query": query}
    assert response.headers["location"] == f"{hub.api}/hub/{body['id']}"

    fetched = await api.get(f"/hub/{body['id']}")
    assert fetched.status_code == 200 and fetched.json() == body

    assert (await api.delete(f"/hub/{body['id']}")).status_code == 204
    assert_tmf_error(await api.get(f"/hub/{body['id']}"), 404, body["id"])
    assert_tmf_error(await api.delete(f"/hub/{body['id']}"), 404, body["id"])

    bare = await subscribe(api, "https://127.0.0.1:9/events")
    assert bare == {"id": bare["id"], "callback": "https://127.0.0.1:9/events"}


INVALID_SUBSCRIPTIONS = [
    ({}, "callback"),
    ({"callback": ""}, "callback"),
    ({"callback": 42}, "callback"),
    ({"callback": "ftp://listener.example/x"}, "http(s)"),
    ({"callback": "listener.example/x"}, "http(s)"),
    ({"callback": "http://"}, "http(s)"),
    ({"callback": "http://listener.example:99999/x"}, "callback"),
    ({"callback": "http://a.example/x", "query": 5}, "query"),
    ({"callback": "http://a.example/x", "query": "eventType=CustomerExplodeEvent"}, "CustomerExplodeEvent"),
    ({"callback": "http://a.example/x", "query": "eventType="}, "eventType"),
    ({"callback": "http://a.example/x", "query": "shoeSize=44"}, "shoeSize"),
    ({"callback": "http://a.example/x", "query": "status.like=A"}, "status.like"),
    ({"callback": "http://a.example/x", "query": "name.regex=^A"}, "regex"),
    ({"callback": "http://a.example/x", "query": "validFor.startDateTime.gte=yesterday"}, "yesterday"),
    ({"callback": "http://a.example/x", "query": "eventType=CustomerCreateEvent&limit=5"}, "limit"),
    ({"callback": "http://a.example/x", "id": "mine"}, "id"),
]


async def test_invalid_subscriptions_are_400_tmf_errors(api: httpx.AsyncClient) -> None:
    for body, mentions in INVALID_SUBSCRIPTIONS:
        error = assert_tmf_error(await api.post("/hub", json=body), 400, mentions)
        assert error["code"] in ("INVALID_VALUE", "INVALID_QUERY"), body
    assert (await api.get("/hub")).status_code == 405


async def test_a_hub_body_that_is_not_an_object_is_a_400(api: httpx.AsyncClient) -> None:
    assert_tmf_error(
        await api.post("/hub", content=b"[1]", headers={"content-type": "application/json"}), 400
    )
    assert_tmf_error(await api.post("/hub", content=b"{", headers={"content-type": "application/json"}), 400)
    assert_tmf_error(await api.post("/hub", content=b"", headers={"content-type": "application/json"}), 400)


async def test_listener_endpoints_accept_events_with_201(api: httpx.AsyncClient) -> None:
    for path, event_type in [
        ("customerCreateEvent", "CustomerCreateEvent"),
        ("customerAttributeValueChangeEvent", "CustomerAttributeValueChangeEvent"),
        ("customerStateChangeEvent", "CustomerStateChangeEvent"),
        ("customerDeleteEvent", "CustomerDeleteEvent"),
    ]:
        event = {"eventId": "e1", "eventTime": "2024-01-01T00:00:00Z", "eventType": event_type, "event": {}}
        response = await api.post(f"/listener/{path}", json=event)
        assert response.status_code == 201, response.text
    wrong = await api.post("/listener/customerDeleteEvent", json={"eventType": "CustomerCreateEvent"})
    assert_tmf_error(wrong, 400, "eventType")
    assert_tmf_error(await api.post("/listener/customerCreateEvent", json=[1]), 400)


# -- delivery -----------------------------------------------------------------------------------------


async def test_every_event_type_arrives_in_order_within_a_second(
    api: httpx.AsyncClient, listener: Listener
) -> None:
    await subscribe(api, listener.callback())
    written = time.monotonic()
    customer = await create(api, MOON)
    [created] = await listener.wait_for(1, timeout=1.0)
    assert listener.received()[0].at - written < 1.0
    await merge(api, customer["id"], {"name": "Moon FC"})
    await merge(api, customer["id"], {"status": "Approved"})
    assert (await api.delete(f"/customer/{customer['id']}")).status_code == 204
    events = await listener.wait_for(5)

    assert [(e["eventType"], e.get("fieldPath")) for e in events] == [
        ("CustomerCreateEvent", None),
        ("CustomerAttributeValueChangeEvent", "name"),
        ("CustomerAttributeValueChangeEvent", "status"),
        ("CustomerStateChangeEvent", None),
        ("CustomerDeleteEvent", None),
    ]
    assert created["event"]["customer"] == customer
    for event in events:
        assert set(event) <= {"eventId", "eventTime", "eventType", "fieldPath", "event"}
        assert event["eventTime"].endswith("Z")
        assert event["event"]["customer"]["id"] == customer["id"]
        assert event["event"]["customer"]["href"] == customer["href"]
    assert [e["event"]["customer"]["status"] for e in events[2:]] == ["Approved", "Approved", "Approved"]
    assert len({e["eventId"] for e in events}) == 5


async def test_queries_filter_by_event_type_and_customer_attributes(
    api: httpx.AsyncClient, listener: Listener
) -> None:
    await subscribe(api, listener.callback("/types"), "eventType=CustomerCreateEvent,CustomerDeleteEvent")
    await subscribe(api, listener.callback("/approved"), "status=Approved")
    await subscribe(
        api, listener.callback("/party"), "eventType=CustomerCreateEvent&event.customer.engagedParty.id=777"
    )
    await subscribe(
        api, listener.callback("/state"), "eventType=CustomerStateChangeEvent&eventType=CustomerDeleteEvent"
    )
    await subscribe(api, listener.callback("/none"), "eventType=CustomerCreateEvent&name=Nobody")
    sun = await create(api, SUN)
    moon = await create(api, MOON)
    await merge(api, moon["id"], {"status": "Approved"})
    assert (await api.delete(f"/customer/{sun['id']}")).status_code == 204

    expected = {
        "/types": [
            ("CustomerCreateEvent", "Sun"),
            ("CustomerCreateEvent", "Moon"),
            ("CustomerDeleteEvent", "Sun"),
        ],
        "/approved": [
            ("CustomerCreateEvent", "Sun"),
            ("CustomerAttributeValueChangeEvent", "Moon"),
            ("CustomerStateChangeEvent", "Moon"),
            ("CustomerDeleteEvent", "Sun"),
        ],
        "/party": [("CustomerCreateEvent", "Sun")],
        "/state": [("CustomerStateChangeEvent", "Moon"), ("CustomerDeleteEvent", "Sun")],
    }
    for path, events in expected.items():
        assert kinds(await listener.wait_for(len(events), path)) == events, path
    await asyncio.sleep(0.3)  # nothing more comes
    assert {path: kinds(listener.events(path)) for path in expected} == expected
    assert listener.events("/none") == []


async def test_unsubscribed_listeners_get_nothing_more(api: httpx.AsyncClient, listener: Listener) -> None:
    subscription = await subscribe(api, listener.callback())
    await create(api, MOON)
    await listener.wait_for(1)
    assert (await api.delete(f"/hub/{subscription['id']}")).status_code == 204
    await create(api, SUN)
    await asyncio.sleep(0.4)
    assert kinds(listener.events()) == [("CustomerCreateEvent", "Moon")]


async def test_events_before_the_subscription_are_not_delivered(
    api: httpx.AsyncClient, listener: Listener
) -> None:
    await create(api, MOON)
    await subscribe(api, listener.callback())
    await create(api, SUN)
    await listener.wait_for(1)
    await asyncio.sleep(0.2)
    assert kinds(listener.events()) == [("CustomerCreateEvent", "Sun")]


async def test_retries_while_the_listener_is_down_then_delivers_the_backlog_in_order(
    api: httpx.AsyncClient, hub: LiveServer, store: Store
) -> None:
    listener = Listener()  # its port is reserved, nobody answers yet
    await subscribe(api, listener.callback())
    started = time.monotonic()
    first = await create(api, MOON)
    await merge(api, first["id"], {"name": "Moon FC"})
    await create(api, SUN)
    assert time.monotonic() - started < 1.0  # writes never wait for the dispatcher

    deadline = time.monotonic() + 5
    while not (rows := await deliveries(store)) or rows[0].attempts < 3:
        assert time.monotonic() < deadline, rows
        await asyncio.sleep(0.05)
    assert rows[0].state == "pending" and "ConnectError" in rows[0].last_error
    # Per-subscriber order: the later events wait behind the failing one.
    assert [row.attempts for row in rows[1:]] == [0, 0]

    listener.start()
    try:
        back = time.monotonic()
        events = await listener.wait_for(3, timeout=3)
        assert time.monotonic() - back < 1.5  # the backoff is capped (0.4 s here)
        assert kinds(events) == [
            ("CustomerCreateEvent", "Moon"),
            ("CustomerAttributeValueChangeEvent", "Moon FC"),
            ("CustomerCreateEvent", "Sun"),
        ]
        outbox = await store.read(
            lambda conn: conn.execute(select(OUTBOX.event_id).order_by(OUTBOX.seq)).all()
        )
        assert [e["eventId"] for e in events] == [row[0] for row in outbox]
        await asyncio.sleep(0.2)
        assert [row.state for row in await deliveries(store)] == ["delivered"] * 3
        assert len(listener.events()) == 3
    finally:
        listener.stop()


async def test_a_delivery_dies_after_max_attempts_and_the_line_moves_on(
    settings: Settings, store: Store, listener: Listener
) -> None:
    live = hub_server(settings, dispatch_max_attempts=3)
    live.start()
    try:
        async with httpx.AsyncClient(base_url=live.api, timeout=10) as api:
            listener.status = 500
            await subscribe(api, listener.callback())
            await create(api, MOON)
            deadline = time.monotonic() + 5
            while not (rows := await deliveries(store)) or rows[0].state != "dead":
                assert time.monotonic() < deadline, rows
                await asyncio.sleep(0.05)
            assert (rows[0].attempts, rows[0].last_error) == (3, "HTTP 500")
            assert listener.refused == 3

            listener.status = 201
            await create(api, SUN)
            assert kinds(await listener.wait_for(1)) == [("CustomerCreateEvent", "Sun")]
    finally:
        live.stop()
