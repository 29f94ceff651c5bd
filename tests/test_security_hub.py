"""A hub that cannot be turned against the network: callbacks to loopback, private, link-local, CGNAT,
multicast, reserved or IPv4-mapped addresses (or names resolving to them) are refused at registration
and again at delivery, on the address connected to; redirects are not followed; registrations are
capped. On both databases, with listeners on 127.0.0.1 (nothing is ever sent elsewhere)."""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpcore
import httpx
import pytest
from sqlalchemy import select

from app.events.dispatch import Dispatcher
from app.events.hub import HubService
from app.security.network import CallbackPolicy, GuardedNetworkBackend, is_public
from app.services import CustomerService
from app.settings import Settings
from app.store.base import Store
from app.store.tables import EventDelivery
from tests.conftest import LiveServer
from tests.support.listener import FAST_DISPATCH, Listener

DELIVERY = EventDelivery.__table__.c  # type: ignore[attr-defined]
BASE = "http://test/tmf-api/customerManagement/v4"
MOON = {"name": "Moon", "engagedParty": {"id": "500", "@referredType": "Organization"}}


@pytest.fixture
def listener() -> Iterator[Listener]:
    listener = Listener().start()
    yield listener
    listener.stop()


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.8.9.10", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff0e::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("64:ff9b::7f00:1", False),
        ("::127.0.0.1", False),
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("100.128.0.1", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_only_public_unicast_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public


REFUSED_CALLBACKS = [
    "http://127.0.0.1:9/events",
    "http://127.1/events",
    "http://2130706433/events",  # 127.0.0.1 as one decimal number
    "http://10.0.0.1/events",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080/events",
    "http://[::ffff:127.0.0.1]/events",
    "http://[fd00::1]/events",
    "http://100.64.0.1/events",
    "http://0.0.0.0:9/events",
    "http://localhost:9/events",  # a name resolving to loopback
    "https://nowhere.invalid/events",  # a name that does not resolve
]


async def test_registration_refuses_internal_callbacks(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(hub_callback_allow="")
    async with httpx.AsyncClient(base_url=server.api) as http:
        for callback in REFUSED_CALLBACKS:
            response = await http.post("/hub", json={"callback": callback})
            assert response.status_code == 400, (callback, response.text)
            body = response.json()
            assert body["@type"] == "Error" and "callback" in body["message"], body


async def test_the_allow_list_admits_chosen_targets() -> None:
    policy = CallbackPolicy("127.0.0.0/8, ::1/128, fd00::/8, listener.internal")
    await policy.check_callback("http://127.0.0.1:9/x")
    await policy.check_callback("http://[::ffff:127.0.0.1]:9/x")
    await policy.check_callback("http://localhost:9/x")  # resolves into 127.0.0.0/8
    await policy.check_callback("http://[fd00::5]/x")
    assert not policy.allows_address(ipaddress.ip_address("10.0.0.1"))
    assert not policy.allows_address(ipaddress.ip_address("169.254.169.254"))
    assert "listener.internal" in policy.names


async def test_the_connection_itself_is_checked(listener: Listener) -> None:
    """What a DNS rebinding would meet: the backend resolves and checks at connect time."""
    refusing = GuardedNetworkBackend(CallbackPolicy(""))
    for host in ("127.0.0.1", "localhost", "::ffff:127.0.0.1"):
        with pytest.raises(httpcore.ConnectError, match="not a public address"):
            await refusing.connect_tcp(host, listener.port)
    allowing = GuardedNetworkBackend(CallbackPolicy("127.0.0.0/8,::1/128"))
    stream = await allowing.connect_tcp("localhost", listener.port)
    await stream.aclose()


async def wait_for_error(store: Store, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        row = await store.read(
            lambda conn: conn.execute(
                select(DELIVERY.last_error).where(DELIVERY.last_error.is_not(None))
            ).first()
        )
        if row is not None:
            return str(row[0])
        assert time.monotonic() < deadline, "no delivery failed"
        await asyncio.sleep(0.05)


async def test_a_delivery_to_an_address_no_longer_allowed_is_refused_at_connect(
    settings: Settings, store: Store, listener: Listener
) -> None:
    """Registered while 127.0.0.0/8 was allowed; the dispatcher's policy no longer allows it (as a name
    that now resolves inward would not be): nothing reaches the listener."""
    await HubService(store, settings).subscribe({"callback": listener.callback()})
    await CustomerService(store).create(MOON, BASE)
    strict = settings.model_copy(update={**FAST_DISPATCH, "hub_callback_allow": ""})
    dispatcher = Dispatcher(store, strict)
    await dispatcher.start()
    try:
        error = await wait_for_error(store)
    finally:
        await dispatcher.stop()
    assert "callback refused" in error and "127.0.0.1" in error
    assert listener.events() == [] and listener.refused == 0


class Redirector:
    """A callback on 127.0.0.1 that answers 307 to another local URL, counting what each receives."""

    def __init__(self, target: str) -> None:
        self.posts = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.posts += 1
                self.send_response(307)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/events"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def test_redirects_are_not_followed(settings: Settings, store: Store, listener: Listener) -> None:
    redirector = Redirector(listener.callback("/redirected"))
    try:
        await HubService(store, settings).subscribe({"callback": redirector.url})
        await CustomerService(store).create(MOON, BASE)
        dispatcher = Dispatcher(store, settings.model_copy(update=FAST_DISPATCH))
        await dispatcher.start()
        try:
            assert await wait_for_error(store) == "HTTP 307"
        finally:
            await dispatcher.stop()
        assert redirector.posts >= 1 and listener.events() == []
    finally:
        redirector.stop()


async def test_registrations_are_capped(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(hub_max_subscriptions=2)
    async with httpx.AsyncClient(base_url=server.api) as http:
        made = [await http.post("/hub", json={"callback": f"http://127.0.0.1:9/{n}"}) for n in range(2)]
        assert [r.status_code for r in made] == [201, 201]
        refused = await http.post("/hub", json={"callback": "http://127.0.0.1:9/3"})
        assert refused.status_code == 409
        body = refused.json()
        assert body["code"] == "SUBSCRIPTION_LIMIT" and "TMF629_HUB_MAX_SUBSCRIPTIONS" in body["message"]
        assert (await http.delete(f"/hub/{made[0].json()['id']}")).status_code == 204
        assert (await http.post("/hub", json={"callback": "http://127.0.0.1:9/3"})).status_code == 201
