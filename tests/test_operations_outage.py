"""Database outages: a private PostgreSQL cluster is stopped (immediate mode) under concurrent load and
started again. Clients get 503 + Retry-After + SERVICE_UNAVAILABLE, never a 500; the logs say "down"
and "back" once each, with no traceback; the service recovers by itself and nothing acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.settings import Settings
from app.store.migrate import upgrade
from tests.support.listener import Listener, fast_dispatch_env
from tests.support.pgcluster import PgCluster
from tests.support.process import ServerProcess
from tests.test_graphql_subscription import GraphQLSocket, graphql_socket

pytestmark = pytest.mark.skipif(not PgCluster.available(), reason="no PostgreSQL binaries to run a cluster")

CUSTOMER = {"name": "Outage", "engagedParty": {"id": "1", "@referredType": "Organization"}}
GRAPHQL_QUERY = {"query": '{ customer(id: "x") { id } }'}
CREATED = 'subscription { customerEvents(eventTypes: ["CustomerCreateEvent"]) { customer { id } } }'


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    owned = PgCluster().init()
    try:
        owned.start()
        upgrade(Settings(database_url=owned.url))
        yield owned
    finally:
        owned.destroy()  # always: a cluster left running would outlive the test


async def _load(api: str, stop: asyncio.Event, statuses: Counter[int], created: list[str]) -> None:
    """Create and read customers until `stop`: the ids of every 201 are remembered."""
    async with httpx.AsyncClient(base_url=api, timeout=20) as http:
        while not stop.is_set():
            response = await http.post("/customer", json=CUSTOMER)
            statuses[response.status_code] += 1
            if response.status_code == 201:
                created.append(response.json()["id"])
                read = await http.get(f"/customer/{response.json()['id']}")
                statuses[read.status_code] += 1
            elif response.status_code == 503:
                assert response.headers["Retry-After"].isdigit()
                body = response.json()
                assert body["code"] == "SERVICE_UNAVAILABLE" and body["status"] == "503", body
                await asyncio.sleep(0.02)


async def _follow(socket: GraphQLSocket, seen: set[str]) -> None:
    """Read the subscription's events as they come (a listener that stops reading is cut off)."""
    while True:
        for message in await socket.receive("live", 1):
            if message["type"] != "next":
                raise AssertionError(f"the subscription ended: {message}")
            seen.add(message["payload"]["data"]["customerEvents"]["customer"]["id"])


async def _live_subscriptions(url: str) -> float:
    async with httpx.AsyncClient(timeout=5) as http:
        text = (await http.get(f"{url}/metrics")).text
    line = next(line for line in text.splitlines() if line.startswith("tmf629_graphql_subscriptions "))
    return float(line.split()[1])


async def _wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            if (await http.get(f"{url}/health/ready")).status_code == 200:
                return
            await asyncio.sleep(0.1)
    raise AssertionError("the service did not become ready again")


async def test_outage_answers_503_then_recovers_and_loses_nothing(cluster: PgCluster, tmp_path: Path) -> None:
    listener = Listener().start()
    log = tmp_path / "server.log"
    server = ServerProcess(cluster.url, log_path=log, **fast_dispatch_env()).start()
    try:
        async with httpx.AsyncClient(timeout=20) as http, graphql_socket(server) as socket:  # type: ignore[arg-type]
            await socket.subscribe("live", CREATED)
            while await _live_subscriptions(server.url) < 1:
                await asyncio.sleep(0.05)
            seen: set[str] = set()
            follower = asyncio.create_task(_follow(socket, seen))
            hub = await http.post(f"{server.api}/hub", json={"callback": listener.callback()})
            assert hub.status_code == 201

            stop = asyncio.Event()
            statuses: Counter[int] = Counter()
            created: list[str] = []
            workers = [asyncio.create_task(_load(server.api, stop, statuses, created)) for _ in range(8)]
            await asyncio.sleep(1.5)
            before_outage = len(created)
            assert before_outage > 0

            await asyncio.to_thread(cluster.stop, "immediate")
            await asyncio.sleep(2)
            live = await http.get(f"{server.url}/health/live")
            ready = await http.get(f"{server.url}/health/ready")
            health = await http.get(f"{server.url}/health")
            graphql = await http.post(f"{server.url}/graphql", json=GRAPHQL_QUERY)
            assert live.status_code == 200
            assert ready.status_code == 503 and ready.headers["Retry-After"].isdigit()
            assert health.status_code == 503
            # The process's own metrics still answer (the event figures read from the database are left out).
            during = await http.get(f"{server.url}/metrics")
            assert during.status_code == 200 and "tmf629_http_request_duration_seconds" in during.text
            assert graphql.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE", graphql.text
            assert statuses[503] > 0

            await asyncio.to_thread(cluster.start)
            await _wait_ready(server.url)
            # The first requests after the return succeed: no poisoned pooled connection answers them.
            first = [await http.post(f"{server.api}/customer", json=CUSTOMER) for _ in range(3)]
            assert [response.status_code for response in first] == [201, 201, 201], first[0].text
            created.extend(response.json()["id"] for response in first)
            reads = [await http.get(f"{server.api}/customer/{response.json()['id']}") for response in first]
            assert [response.status_code for response in reads] == [200, 200, 200]
            await asyncio.sleep(1)
            stop.set()
            await asyncio.gather(*workers)

            assert set(statuses) <= {200, 201, 503}, statuses
            assert len(created) > before_outage  # the load went on after the return
            # Every write acknowledged with 201 is there.
            for customer_id in created:
                found = await http.get(f"{server.api}/customer/{customer_id}")
                assert found.status_code == 200, customer_id
            # The dispatcher resumed: an event committed after the return reaches the subscriber.
            last = first[-1].json()["id"]
            deadline = time.monotonic() + 30
            while not any(e["event"]["customer"]["id"] == last for e in listener.events()):
                assert time.monotonic() < deadline, "the dispatcher did not resume"
                await asyncio.sleep(0.1)
            # The GraphQL subscription lived through the outage and gets the events written after it.
            later = (await http.post(f"{server.api}/customer", json=CUSTOMER)).json()["id"]
            while later not in seen:
                assert not follower.done(), follower
                assert time.monotonic() < deadline, "the subscription feed did not resume"
                await asyncio.sleep(0.05)
            follower.cancel()
    finally:
        server.stop()
        listener.stop()

    text = log.read_text()
    assert "Traceback" not in text, text[:3000]
    assert "another operation is in progress" not in text
    assert 1 <= text.count("database unavailable") <= 2, text[:3000]  # once per store path that noticed
    assert text.count("database available again") >= 1, text[:3000]


def test_driver_errors_are_classified() -> None:
    """What means "the database is away" (503) and what stays a bug (500)."""
    import errno
    import sqlite3

    import asyncpg
    from sqlalchemy import exc as sa_exc

    from app.domain.errors import ServiceUnavailable
    from app.store.outage import Outage, is_unreachable

    away = [
        ConnectionRefusedError(111, "Connection refused"),
        OSError(errno.EHOSTUNREACH, "No route to host"),
        asyncpg.CannotConnectNowError("the database system is shutting down"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        sqlite3.OperationalError("unable to open database file"),
    ]
    wrapped = sa_exc.DBAPIError("SELECT 1", None, away[2])
    for error in [*away, wrapped]:
        assert is_unreachable(error), error
    for error in [
        ValueError("bug"),
        FileNotFoundError(errno.ENOENT, "asset"),
        asyncpg.UniqueViolationError("duplicate key"),
        asyncpg.InterfaceError("the number of query arguments cannot exceed 32767"),
        sqlite3.OperationalError("no such table: event_outbox"),
    ]:
        assert not is_unreachable(error), error

    outage = Outage("test")
    outage.check(ValueError("bug"))  # not an outage: returns, the caller re-raises it
    with pytest.raises(ServiceUnavailable) as raised:
        outage.check(away[0])
    assert raised.value.code == "SERVICE_UNAVAILABLE" and raised.value.retry_after > 0 and outage.down
    outage.recovered()
    assert not outage.down


async def test_the_feed_catches_up_on_what_committed_while_listen_was_away(
    settings: Settings, store: Any
) -> None:
    """PostgreSQL: the feed learns of commits by NOTIFY. When LISTEN reconnects (after an outage), the rows
    committed meanwhile were announced to no one: the feed reads them, and a late announcement of one of
    them does not send it twice."""
    from app.events.feed import EventFeed
    from app.services import CustomerService

    if store.dialect != "postgresql":
        pytest.skip("SQLite's feed follows the outbox by its cursor, not by NOTIFY")
    feed = EventFeed(store)  # no LISTEN connection: the test plays PgNotifications
    await feed.start()
    try:
        stream = feed.listen()
        service = CustomerService(store)
        base = "http://test/tmf-api/customerManagement/v4"

        async def newest_seq() -> int:
            return int(
                await store.read(lambda c: c.execute(text("SELECT max(seq) FROM event_outbox")).scalar())
            )

        first = await service.create(CUSTOMER, base)
        feed.notified([await newest_seq()])
        assert (await asyncio.wait_for(anext(stream), 5))["event"]["customer"]["id"] == first.id

        missed = [(await service.create(CUSTOMER, base)).id for _ in range(2)]  # LISTEN is away
        feed.notified([])  # LISTEN is back
        caught = [(await asyncio.wait_for(anext(stream), 5))["event"]["customer"]["id"] for _ in range(2)]
        assert caught == missed

        feed.notified([await newest_seq()])  # the late announcement of a row already caught up
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stream), 0.5)
    finally:
        await feed.stop()
