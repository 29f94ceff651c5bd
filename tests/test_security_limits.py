"""Safe by default: the request rate (429), the Host header (400, or hrefs from TMF629_PUBLIC_URL), CORS
with auth on, logs without credentials, and `tmf629 serve` refusing an open, non-loopback listener."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from app.security.apikeys import ApiKeys
from app.security.hosts import HostPolicy
from app.security.principal import TooManyRequests
from app.security.ratelimit import RateLimiter, parse_rate
from app.settings import Settings
from app.store.base import Store
from tests.conftest import LiveServer
from tests.support.process import ROOT, ServerProcess, free_port

MOON = {"name": "Moon", "engagedParty": {"id": "500", "@referredType": "Organization"}}


def test_rates_parse_and_limit_per_caller() -> None:
    assert parse_rate("100/second") == (100, 1.0) and parse_rate("6000/minute") == (6000, 60.0)
    assert parse_rate("5/hours") == (5, 3600.0)
    for bad in ("100", "x/second", "0/second", "10/fortnight"):
        with pytest.raises(ValueError, match="TMF629_RATE_LIMIT"):
            parse_rate(bad)
    limiter = RateLimiter("3/minute")
    for _ in range(3):
        limiter.check("a", now=1000.0)
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("a", now=1000.0)
    assert refused.value.retry_after == 20  # one request more is allowed every 20 s
    limiter.check("b", now=1000.0)
    limiter.check("a", now=1020.0)


async def test_beyond_the_rate_a_caller_gets_429_with_retry_after(
    make_server: Callable[..., LiveServer], store: Store, tmp_path: Path
) -> None:
    server = make_server(auth="api-key", rate_limit="3/minute")
    first = (await ApiKeys(store).create("first", ["customer:read"]))[1]
    second = (await ApiKeys(store).create("second", ["customer:read"]))[1]
    async with httpx.AsyncClient(base_url=server.url) as http:
        statuses = [
            (
                await http.get("/tmf-api/customerManagement/v4/customer", headers={"X-API-Key": first})
            ).status_code
            for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        refused = await http.post(
            "/graphql", json={"query": "{ customers { totalCount } }"}, headers={"X-API-Key": first}
        )
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        body = refused.json()
        assert body["@type"] == "Error" and body["code"] == "TOO_MANY_REQUESTS" and body["status"] == "429"
        other = await http.get("/tmf-api/customerManagement/v4/customer", headers={"X-API-Key": second})
        assert other.status_code == 200  # per credential
        assert (await http.get("/health")).status_code == 200


async def test_without_auth_the_rate_is_per_client_address(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(rate_limit="2/minute")
    async with httpx.AsyncClient(base_url=server.api) as http:
        statuses = [(await http.get("/customer")).status_code for _ in range(3)]
        assert statuses[:2] == [200, 200] and statuses[2] == 429


def test_host_policy() -> None:
    policy = HostPolicy("localhost,127.0.0.1,[::1],*.example.com")
    for allowed in (
        "localhost",
        "127.0.0.1:8000",
        "[::1]:8000",
        "[::1]",
        "api.example.com",
        "A.Example.COM:443",
    ):
        assert policy.allows(allowed), allowed
    for refused in (
        "evil.example",
        "example.com",
        "127.0.0.2",
        "[::2]:80",
        "",
        None,
        "localhost.evil.example",
    ):
        assert not policy.allows(refused), refused
    assert HostPolicy("*").allows("anything")


async def test_an_unlisted_host_is_refused_and_never_reaches_an_event(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.api) as http:
        refused = await http.post("/customer", json=MOON, headers={"Host": "evil.example"})
        assert refused.status_code == 400 and refused.json()["@type"] == "Error"
        assert "TMF629_ALLOWED_HOSTS" in refused.json()["message"]
        assert (await http.get("/customer", headers={"Host": "localhost:1234"})).status_code == 200
        created = await http.post("/customer", json=MOON)
        assert created.status_code == 201 and created.json()["href"].startswith(server.api)


async def test_with_a_public_url_hrefs_ignore_the_host(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(public_url="https://api.example.com")
    async with httpx.AsyncClient(base_url=server.api) as http:
        created = await http.post("/customer", json=MOON, headers={"Host": "evil.example"})
        assert created.status_code == 201
        assert created.json()["href"].startswith(
            "https://api.example.com/tmf-api/customerManagement/v4/customer/"
        )


async def test_forwarded_hosts_are_checked_when_trusted(make_server: Callable[..., LiveServer]) -> None:
    server = make_server(trust_forwarded_headers=True)
    async with httpx.AsyncClient(base_url=server.api) as http:
        assert (await http.get("/customer", headers={"X-Forwarded-Host": "evil.example"})).status_code == 400
        assert (await http.get("/customer", headers={"X-Forwarded-Host": "localhost"})).status_code == 200


async def test_untrusted_forwarded_headers_change_nothing(tmp_path: Path) -> None:
    """`tmf629 serve` trusts X-Forwarded-* only with TMF629_TRUST_FORWARDED_HEADERS, even from a local
    client (uvicorn alone would take a local proxy's X-Forwarded-Proto for the request's scheme)."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    for trusted, scheme in (("false", "http"), ("true", "https")):
        server = ServerProcess(
            f"sqlite+aiosqlite:///{tmp_path / f'{trusted}.db'}", TMF629_TRUST_FORWARDED_HEADERS=trusted
        ).start(timeout=60)
        try:
            async with httpx.AsyncClient(base_url=server.api, timeout=10) as http:
                created = await http.post("/customer", json=MOON, headers=forwarded)
            assert created.status_code == 201, created.text
            assert created.json()["href"].startswith(f"{scheme}://127.0.0.1:{server.port}/"), trusted
        finally:
            server.stop()


async def preflight(server: LiveServer, origin: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.api) as http:
        return await http.options(
            "/customer",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )


async def test_cors_with_auth_on_allows_only_the_listed_origins(
    make_server: Callable[..., LiveServer],
) -> None:
    closed = make_server(auth="api-key")
    answer = await preflight(closed, "https://evil.example")
    assert answer.headers.get("access-control-allow-origin") not in ("*", "https://evil.example")
    listed = make_server(auth="api-key", cors_origins="https://portal.example")
    assert (await preflight(listed, "https://portal.example")).headers["access-control-allow-origin"] == (
        "https://portal.example"
    )
    assert "access-control-allow-origin" not in (await preflight(listed, "https://evil.example")).headers
    assert Settings(auth="none").cors_origin_list == ["*"]
    assert Settings(auth="api-key").cors_origin_list == []


async def test_credentials_never_reach_the_logs(
    make_server: Callable[..., LiveServer], store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(auth="api-key")
    key = (await ApiKeys(store).create("logged", ["customer:read"]))[1]
    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(base_url=server.api) as http:
        await http.get("/customer", headers={"X-API-Key": key})
        await http.get("/customer", headers={"X-API-Key": key + "x"})
        await http.get("/customer", headers={"Authorization": "Bearer " + key})
    assert key not in caplog.text


def serve(**env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "TMF629_PORT": str(free_port()), **env}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"TMF629_HOST": "0.0.0.0", "TMF629_AUTH": "none"}, "TMF629_ALLOW_UNAUTHENTICATED"),
        ({"TMF629_HOST": "::", "TMF629_AUTH": "none"}, "without authentication"),
        ({"TMF629_AUTH": "password"}, "password"),
        ({"TMF629_AUTH": "jwt"}, "TMF629_JWT_JWKS_URL"),
        ({"TMF629_AUTH": "jwt", "TMF629_JWT_JWKS_FILE": "/x.json"}, "TMF629_JWT_ISSUER"),
        ({"TMF629_RATE_LIMIT": "lots"}, "TMF629_RATE_LIMIT"),
    ],
)
def test_serve_refuses_unsafe_or_broken_settings_in_one_line(env: dict[str, str], said: str) -> None:
    result = serve(TMF629_DATABASE_URL="sqlite+aiosqlite:///./never-opened.db", **env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], result.stderr


def test_an_open_listener_on_loopback_or_with_consent_starts() -> None:
    from app.cli import _refusal

    assert _refusal(Settings(host="127.0.0.1")) is None
    assert _refusal(Settings(host="0.0.0.0", allow_unauthenticated=True)) is None
    assert _refusal(Settings(host="0.0.0.0", auth="api-key")) is None
