"""Authentication and scopes on the REST door, against a live server on both databases: API keys (made,
listed and revoked through `tmf629 apikey` and the service), JWTs from a JWKS file and a JWKS URL, and
every way a token can be wrong."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.security.apikeys import ApiKeys
from app.security.jwt import JwksKeys, JwtVerifier
from app.security.principal import Unauthenticated
from app.settings import Settings
from app.store.base import Store
from tests.conftest import LiveServer
from tests.support.process import ROOT
from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    JwksServer,
    SigningKey,
    hmac_token,
    unsigned_token,
    write_jwks,
)

CUSTOMER = {"name": "Moon", "engagedParty": {"id": "500", "@referredType": "Organization"}}


@pytest.fixture(scope="module")
def rsa_key() -> SigningKey:
    return SigningKey("rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> SigningKey:
    return SigningKey("ec-1", "EC")


@pytest.fixture
def jwks_file(tmp_path: Path, rsa_key: SigningKey, ec_key: SigningKey) -> Path:
    return write_jwks(tmp_path / "jwks.json", rsa_key, ec_key)


def auth_settings(jwks_file: Path, **more: Any) -> dict[str, Any]:
    return {
        "auth": "api-key,jwt",
        "jwt_jwks_file": str(jwks_file),
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
        **more,
    }


@pytest.fixture
def secured(make_server: Callable[..., LiveServer], jwks_file: Path) -> LiveServer:
    return make_server(**auth_settings(jwks_file))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_refused(response: httpx.Response, status: int, secret: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["@type"] == "Error" and body["status"] == str(status) and body["message"]
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if secret is not None:
        assert secret not in response.text and secret not in str(response.headers)
    return body


async def test_without_a_credential_everything_but_health_is_401(secured: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=secured.url) as http:
        for method, path in [
            ("GET", "/tmf-api/customerManagement/v4/customer"),
            ("POST", "/tmf-api/customerManagement/v4/customer"),
            ("GET", "/tmf-api/customerManagement/v4/customer/x"),
            ("DELETE", "/tmf-api/customerManagement/v4/customer/x"),
            ("POST", "/tmf-api/customerManagement/v4/hub"),
            ("POST", "/tmf-api/customerManagement/v4/listener/customerCreateEvent"),
            ("POST", "/graphql"),
            ("GET", "/metrics"),
        ]:
            body = assert_refused(await http.request(method, path, json={}), 401)
            assert "X-API-Key" in body["message"] and "Bearer" in body["message"]
        for health in ("/health", "/health/live", "/health/ready"):
            assert (await http.get(health)).status_code == 200, health
        for api in ("customerManagement", "accountManagement"):
            document = await http.get(f"/tmf-api/{api}/v4/docs/openapi.json")
            assert document.status_code == 200 and document.json()["paths"], api


async def test_api_keys_carry_their_scopes_and_stop_working_when_revoked(
    secured: LiveServer, store: Store
) -> None:
    keys = ApiKeys(store)
    _, reader = await keys.create("reader", ["customer:read"])
    _, writer = await keys.create("writer", ["customer:read", "customer:write"])
    async with httpx.AsyncClient(base_url=secured.api) as http:
        created = await http.post("/customer", json=CUSTOMER, headers={"X-API-Key": writer})
        assert created.status_code == 201
        customer_id = created.json()["id"]
        assert (await http.get(f"/customer/{customer_id}", headers={"X-API-Key": reader})).status_code == 200
        assert (await http.get("/customer", headers={"X-API-Key": reader})).status_code == 200
        body = assert_refused(await http.post("/customer", json=CUSTOMER, headers={"X-API-Key": reader}), 403)
        assert body["code"] == "FORBIDDEN" and "customer:write" in body["message"]
        patch = await http.patch(
            f"/customer/{customer_id}", json={"name": "x"}, headers={"X-API-Key": reader}
        )
        assert_refused(patch, 403)
        assert_refused(await http.get("/customer", headers={"X-API-Key": writer + "x"}), 401, writer)
        assert_refused(await http.get("/customer", headers={"X-API-Key": "not-a-key"}), 401, "not-a-key")
        assert await keys.revoke("reader")
        assert_refused(await http.get("/customer", headers={"X-API-Key": reader}), 401, reader)
        assert (await http.get("/customer", headers={"X-API-Key": writer})).status_code == 200


async def test_only_the_hash_of_a_key_is_stored(store: Store) -> None:
    _, key = await ApiKeys(store).create("ops", ["hub:write"])
    rows = await store.fetch_all("SELECT name, key_hash, prefix, scopes FROM api_key", ())
    assert len(rows) == 1 and rows[0][0] == "ops" and rows[0][3] == "hub:write"
    assert key not in repr(rows) and key[7:] not in repr(rows) and len(rows[0][1]) == 64


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMF629_DATABASE_URL": settings.database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "apikey", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )


async def test_the_apikey_command_creates_lists_and_revokes(
    settings: Settings, store: Store, secured: LiveServer
) -> None:
    created = await asyncio.to_thread(
        cli, settings, "create", "--name", "billing", "--scopes", "customer:read"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("tmf629_") and " " not in key
    listed = await asyncio.to_thread(cli, settings, "list")
    assert "billing" in listed.stdout and "customer:read" in listed.stdout and key not in listed.stdout
    async with httpx.AsyncClient(base_url=secured.api) as http:
        assert (await http.get("/customer", headers={"X-API-Key": key})).status_code == 200
        again = await asyncio.to_thread(
            cli, settings, "create", "--name", "billing", "--scopes", "customer:read"
        )
        assert again.returncode != 0 and "billing" in again.stderr
        bad = await asyncio.to_thread(cli, settings, "create", "--name", "b2", "--scopes", "customer:erase")
        assert bad.returncode != 0 and "customer:erase" in bad.stderr
        revoked = await asyncio.to_thread(cli, settings, "revoke", "billing")
        assert revoked.returncode == 0
        assert_refused(await http.get("/customer", headers={"X-API-Key": key}), 401)
        assert (await asyncio.to_thread(cli, settings, "revoke", "billing")).returncode != 0


async def test_valid_jwts_rs256_and_es256_with_scope_or_scp(
    secured: LiveServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    async with httpx.AsyncClient(base_url=secured.api) as http:
        writer = rsa_key.token("customer:read customer:write")
        created = await http.post("/customer", json=CUSTOMER, headers=bearer(writer))
        assert created.status_code == 201
        assert (await http.get("/customer", headers=bearer(ec_key.token("customer:read")))).status_code == 200
        scp = ec_key.token(None, scp=["customer:read", "customer:write"])
        assert (await http.post("/customer", json=CUSTOMER, headers=bearer(scp))).status_code == 201
        reader = rsa_key.token("customer:read")
        assert_refused(await http.post("/customer", json=CUSTOMER, headers=bearer(reader)), 403, reader)
        assert_refused(
            await http.post("/hub", json={"callback": "http://a.example/"}, headers=bearer(writer)), 403
        )
        # a second request with the same token is served from the verified-token cache: same answer
        assert (await http.get("/customer", headers=bearer(writer))).status_code == 200


async def test_every_wrong_token_is_a_401_that_does_not_echo_it(
    secured: LiveServer, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    now = int(time.time())
    stranger = SigningKey("rsa-1")  # the same kid, another key
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 300, "scope": "customer:read"}
    wrong = {
        "expired": (rsa_key.token(exp=now - 120, iat=now - 600), "expired"),
        "wrong issuer": (rsa_key.token(iss="https://evil.example"), "iss"),
        "wrong audience": (rsa_key.token(aud="another-api"), "aud"),
        "not yet valid": (rsa_key.token(nbf=now + 600), "nbf"),
        "no exp": (rsa_key.token(exp=None), "exp"),
        "wrong key": (stranger.token(), "signature"),
        "unknown kid": (rsa_key.token(kid="nobody"), "key"),
        "alg none": (unsigned_token(claims, {"alg": "none", "typ": "JWT", "kid": "rsa-1"}), "algorithm"),
        "HS256 with the public key": (hmac_token(claims, rsa_key.public_pem(), "rsa-1"), "algorithm"),
        "EC key named for RSA": (ec_key.token(kid="rsa-1"), "key"),
        "garbage": ("abc.def", "JWT"),
    }
    async with httpx.AsyncClient(base_url=secured.api) as http:
        for name, (token, said) in wrong.items():
            body = assert_refused(await http.get("/customer", headers=bearer(token)), 401, token)
            assert said in body["message"], (name, body)
        within_leeway = rsa_key.token(exp=now - 30, iat=now - 600)
        assert (await http.get("/customer", headers=bearer(within_leeway))).status_code == 200


async def test_keys_from_a_jwks_url_are_refetched_for_an_unknown_kid(
    make_server: Callable[..., LiveServer], rsa_key: SigningKey, tmp_path: Path
) -> None:
    rotated = SigningKey("rsa-2")
    jwks = JwksServer(rsa_key).start()
    try:
        server = make_server(
            auth="jwt",
            jwt_jwks_url=jwks.url,
            jwt_issuer=ISSUER,
            jwt_audience=AUDIENCE,
            jwt_jwks_min_refresh_seconds=0.5,
        )
        async with httpx.AsyncClient(base_url=server.api) as http:
            assert (await http.get("/customer", headers=bearer(rsa_key.token()))).status_code == 200
            assert jwks.fetches == 1
            for _ in range(5):  # unknown kids refetch at most once per min_refresh
                assert_refused(await http.get("/customer", headers=bearer(rotated.token())), 401)
            assert jwks.fetches <= 2
            jwks.document = {"keys": [rsa_key.jwk(), rotated.jwk()]}  # the provider rotates its keys
            await asyncio.sleep(0.6)
            assert (await http.get("/customer", headers=bearer(rotated.token()))).status_code == 200
            assert (await http.get("/customer", headers=bearer(rsa_key.token()))).status_code == 200
            assert jwks.fetches <= 3
    finally:
        jwks.stop()


async def test_a_verified_token_is_cached_until_it_expires(rsa_key: SigningKey, tmp_path: Path) -> None:
    keys = JwksKeys(url=None, file=str(write_jwks(tmp_path / "k.json", rsa_key)), min_refresh_seconds=30)
    verifier = JwtVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    token = rsa_key.token("customer:read hub:write")
    first = await verifier.verify(token)
    assert first.scopes == frozenset({"customer:read", "hub:write"}) and first.subject == "jwt:portal"
    (tmp_path / "k.json").write_text('{"keys": []}')  # the key is gone, the verified token is remembered
    assert await verifier.verify(token) is first
    now = int(time.time())
    expired = rsa_key.token(exp=now - 61, iat=now - 600)
    with pytest.raises(Unauthenticated):
        await verifier.verify(expired)


def test_jwt_settings_are_required_together(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="JWKS"):
        JwksKeys(url=None, file=None, min_refresh_seconds=1)
    keys = JwksKeys(url=None, file=str(tmp_path / "x.json"), min_refresh_seconds=1)
    with pytest.raises(ValueError, match="ISSUER"):
        JwtVerifier(keys, issuer=None, audience=AUDIENCE)
