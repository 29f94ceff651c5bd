"""Observability: /metrics parsed by prometheus-client's own parser, X-Request-ID on every response and in
JSON log lines, metrics summed over several workers, and OpenTelemetry spans (with SQL) sent over OTLP."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LiveServer
from tests.support.process import ServerProcess, free_port

CUSTOMER = {"name": "Seen", "engagedParty": {"id": "1", "@referredType": "Organization"}}
ROUTE_ONE = "/tmf-api/customerManagement/v4/customer/{customer_id}"


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a Prometheus text, by sample name, as prometheus-client's parser reads it."""
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def value(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(v for sample_labels, v in found.get(name, []) if labels.items() <= sample_labels.items())


async def test_metrics_and_request_ids(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        before = samples((await http.get("/metrics")).text)
        created = await http.post(
            f"{server.api}/customer", json=CUSTOMER, headers={"X-Request-ID": "ops-test-1"}
        )
        assert created.status_code == 201 and created.headers["X-Request-ID"] == "ops-test-1"
        one = await http.get(f"{server.api}/customer/{created.json()['id']}")
        generated = one.headers["X-Request-ID"]
        assert len(generated) == 16 and generated != "ops-test-1"
        missing = await http.get(
            f"{server.api}/no-such-thing", headers={"X-Request-ID": "bad id\twith spaces"}
        )
        assert (
            missing.status_code == 404 and len(missing.headers["X-Request-ID"]) == 16
        )  # replaced, not echoed
        graphql = await http.post(
            "/graphql",
            json={"query": 'query LookUp { customer(id: "nope") { id } }'},
            headers={"X-Request-ID": "g1"},
        )
        assert graphql.status_code == 200 and graphql.headers["X-Request-ID"] == "g1"
        await http.post("/graphql", json={"query": "query Broken { nothing }"})
        await http.request("PROPFIND", f"{server.api}/customer")  # a method we do not serve: `other`

        response = await http.get("/metrics")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        after = samples(response.text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests = "tmf629_http_request_duration_seconds_count"
    assert grew(requests, route="/tmf-api/customerManagement/v4/customer", method="POST", status="201") == 1
    assert grew(requests, route=ROUTE_ONE, method="GET", status="200") == 1
    assert grew(requests, route="unmatched", method="GET", status="404") == 1
    assert grew(requests, method="other") == 1 and not value(after, requests, method="PROPFIND")
    assert grew("tmf629_http_request_duration_seconds_bucket", route=ROUTE_ONE, le="+Inf") == 1
    operations = "tmf629_graphql_operation_duration_seconds_count"
    assert grew(operations, operation="LookUp", type="query", outcome="ok") == 1
    assert grew(operations, operation="Broken", outcome="error") == 1
    for gauge in (
        "tmf629_db_pool_in_use",
        "tmf629_graphql_subscriptions",
        "tmf629_event_delivery_lag_seconds",
    ):
        assert gauge in after, gauge
    assert value(after, "tmf629_event_outbox_backlog") >= 1  # the create's event (no dispatcher here)
    assert {labels["state"] for labels, _ in after["tmf629_event_deliveries"]} == {
        "pending",
        "delivered",
        "dead",
    }


async def test_json_logs_carry_the_request_id(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    server = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'new.db'}",  # never migrated: serve migrates it first
        log_path=log,
        TMF629_LOG_FORMAT="json",
        TMF629_ACCESS_LOG="true",
        TMF629_LOG_LEVEL="info",
    ).start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            created = await http.post(
                f"{server.api}/customer", json=CUSTOMER, headers={"X-Request-ID": "json-1"}
            )
            assert created.status_code == 201
            await http.get(
                f"{server.api}/customer/{created.json()['id']}", headers={"X-Request-ID": "json-2"}
            )
    finally:
        server.stop()
    lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    assert all({"time", "level", "logger", "message", "request_id"} <= entry.keys() for entry in entries)
    by_id = {entry["request_id"]: entry for entry in entries if entry["logger"] == "uvicorn.access"}
    assert "POST /tmf-api/customerManagement/v4/customer" in by_id["json-1"]["message"]
    assert "GET /tmf-api/customerManagement/v4/customer/" in by_id["json-2"]["message"]
    assert "migrated" in log.read_text()


async def test_metrics_add_up_over_workers(tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite+aiosqlite:///{tmp_path / 'workers.db'}", TMF629_WORKERS="2").start(
        timeout=60
    )
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            for _ in range(40):  # fresh connections: both workers take some
                async with httpx.AsyncClient(timeout=10) as fresh:
                    assert (await fresh.get(f"{server.url}/health/live")).status_code == 200
            totals = set()
            for _ in range(6):
                found = samples((await http.get(f"{server.url}/metrics")).text)
                totals.add(value(found, "tmf629_http_request_duration_seconds_count", route="/health/live"))
        assert totals == {40.0}, totals  # whichever worker answers, the sum over both
    finally:
        server.stop()


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).received.append(self.path.encode() + b" " + body)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[tuple[str, list[bytes]]]:
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Collector.received
    server.shutdown()
    server.server_close()


async def test_traces_with_sql_spans_when_an_otlp_endpoint_is_set(
    tmp_path: Path, collector: tuple[str, list[bytes]]
) -> None:
    endpoint, received = collector
    server = ServerProcess(
        f"sqlite+aiosqlite:///{tmp_path / 'traced.db'}",
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        OTEL_BSP_SCHEDULE_DELAY="100",
        OTEL_SERVICE_NAME="tmf629-test",
    ).start()
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.post(f"{server.api}/customer", json=CUSTOMER)).status_code == 201
        deadline = time.monotonic() + 15
        # On SQLite a create is a row of the writer's view new_customer, whose trigger writes the tables.
        while not any(b"INSERT INTO new_customer" in body for body in received):
            assert time.monotonic() < deadline, [body[:200] for body in received]
            time.sleep(0.1)
    finally:
        server.stop()
    exported = b"".join(received)
    assert b"/v1/traces" in exported and b"tmf629-test" in exported
    assert b"POST /tmf-api/customerManagement/v4/customer" in exported  # the request's span


async def test_requests_folded_in_batches_equal_each_observed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The edge notes each request in its series, and flush_requests sums the waiting requests per series
    before adding them: the histogram it leaves (count, sum, every bucket, durations on a bound and past the
    last one, a method it does not serve as `other`) is the one that observing each request would have
    left, and the requests are counted once. The edge's clock is set by the app it wraps."""
    from prometheus_client import CollectorRegistry, Histogram

    from app import observability
    from rest import middleware

    durations = [0.0001, 0.0005, 0.0005000001, 0.001, 0.003, 0.05, 0.05, 9.9, 10.0, 42.0, 0.0]
    series = [("/probe/{a}", "GET", 200), ("/probe/{a}", "GET", 404), ("/probe/{b}", "BREW", 200)]
    reference = Histogram(
        "reference",
        "",
        ["route", "method", "status"],
        buckets=observability._LATENCY_BUCKETS,
        registry=CollectorRegistry(),
    )
    clock = [0.0]
    monkeypatch.setattr(middleware, "perf_counter", lambda: clock[0])
    answer: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["path_template"] = answer["route"]
        clock[0] = answer["seconds"]
        await send({"type": "http.response.start", "status": answer["status"], "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    edged = middleware.edge(app, None, True, {})

    def state() -> dict[tuple[str, ...], float]:
        found = {}
        for family in observability.HTTP_REQUESTS.collect():
            for sample in family.samples:
                if sample.labels["route"].startswith("/probe/"):
                    found[(sample.name.removeprefix(family.name), *sample.labels.values())] = sample.value
        return found

    observability.flush_requests()
    before = state()
    for index, seconds in enumerate(durations * 3):
        route, method, status = series[index % len(series)]
        clock[0] = 0.0
        answer.update(route=route, seconds=seconds, status=status)
        await edged({"type": "http", "method": method, "headers": []}, receive, send)
        assert sent[-2]["headers"][-1][0] == b"x-request-id"
        reference.labels(route, "other" if method == "BREW" else method, str(status)).observe(seconds)
    observability.flush_requests()
    observability.flush_requests()  # nothing waits any more: adds nothing
    expected = {}
    for family in reference.collect():
        for sample in family.samples:
            if sample.name.endswith(("_count", "_sum", "_bucket")):
                key = (sample.name.removeprefix("reference"), *sample.labels.values())
                expected[key] = sample.value
    after = state()
    grown = {key: after[key] - before.get(key, 0.0) for key in after if not key[0].endswith("_created")}
    assert grown.keys() == expected.keys()
    for key, value_ in expected.items():
        assert grown[key] == pytest.approx(value_), key
