"""The TMF666 OpenAPI document: equal to the official swagger (members, types, required lists, operation
ids, paths and methods), served by the app, and fuzzed by schemathesis against the live server."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from rest.openapi_account import build_account_document
from tests.conftest import LiveServer
from tests.test_openapi import BIN, SCHEMATHESIS_CONFIG, _shape

OFFICIAL = Path(__file__).resolve().parents[2] / "shared" / "tmf666" / "TMF666-Account-v4.0.0.swagger.json"
# Official definitions nothing else refers to: the abstract `Account` (each resource has its own schema),
# the `...Ref` of the bill format, presentation media and cycle specification, and `EntityRef`.
UNUSED_OFFICIAL = {
    "Account",
    "BillFormatRef",
    "BillPresentationMediaRef",
    "BillingCycleSpecificationRef",
    "EntityRef",
}


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from app.main import create_app
    from app.settings import Settings

    path = tmp_path_factory.mktemp("openapi") / "unused.db"
    return build_account_document(
        create_app(Settings(database_url=f"sqlite+aiosqlite:///{path}")), ACCOUNT_MANAGEMENT
    )


@pytest.fixture(scope="module")
def official() -> dict[str, Any]:
    if not OFFICIAL.is_file():
        pytest.skip(f"the official swagger is not at {OFFICIAL}")
    swagger: dict[str, Any] = json.loads(OFFICIAL.read_text())
    return swagger


def test_every_official_definition_has_the_same_members_types_and_required_list(
    official: dict[str, Any], document: dict[str, Any]
) -> None:
    schemas = document["components"]["schemas"]
    for name, definition in official["definitions"].items():
        if name in UNUSED_OFFICIAL:
            assert name not in schemas
            continue
        assert name in schemas, f"no schema {name}"
        ours = schemas[name]
        assert set(ours.get("properties", {})) == set(definition.get("properties", {})), name
        update = name.endswith("_Update")
        for member, prop in definition.get("properties", {}).items():
            expected = _shape(json.loads(json.dumps(prop).replace("#/definitions/", "#/x/")), {})
            actual = _shape(ours["properties"][member], schemas, nullable=update)
            assert actual == expected, (name, member, actual, expected)
        required = set() if update else set(definition.get("required", []))  # a merge patch: only changes
        assert set(ours.get("required", [])) == required, name
        if "description" in definition and "_" not in name:  # the variants describe what they are
            assert " ".join(ours["description"].split()) == " ".join(definition["description"].split()), name


def test_the_operation_ids_paths_and_methods_are_the_official_ones(
    official: dict[str, Any], document: dict[str, Any]
) -> None:
    ours = {
        op["operationId"]: (path, method)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }
    for path, item in official["paths"].items():
        for method, operation in item.items():
            assert ours.get(operation["operationId"]) == (path, method), operation["operationId"]
    for item in document["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert response["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }


async def test_the_app_serves_the_document(server: LiveServer, document: dict[str, Any]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"{server.url}{ACCOUNT_MANAGEMENT.path}/docs/openapi.json")
    assert response.status_code == 200
    served = response.json()
    assert served["paths"] == document["paths"] and served["info"]["title"] == "TMF666 Account Management"


async def test_schemathesis_finds_nothing_against_the_live_server(server: LiveServer, tmp_path: Path) -> None:
    """As for TMF629 (tests/test_openapi.py): every check but positive data acceptance (refused on purpose:
    NUL characters, integers beyond 64 bits, callbacks the hub may not call) and ignored_auth."""
    config = tmp_path / "schemathesis.toml"
    config.write_text(SCHEMATHESIS_CONFIG)
    phases = (
        "coverage,fuzzing,stateful"
        if server.settings.database_url.startswith("sqlite")
        else "fuzzing,stateful"
    )
    base = server.url + ACCOUNT_MANAGEMENT.path
    command = [
        str(BIN / "schemathesis"),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{base}/docs/openapi.json",
        "--url",
        base,
        "--phases",
        phases,
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,ignored_auth",
        "--max-examples",
        "5",
        "--seed",
        "666",
        "--workers",
        "1",
        "--request-timeout",
        "10",
    ]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
