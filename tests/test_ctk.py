"""The official TMF629 v4 Conformance Test Kit, run with newman against a live server process."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from app.settings import Settings
from tests.support.process import ROOT, ServerProcess

CTK = ROOT.parent / "shared" / "tmf629" / "ctk-v4" / "CTK-Customer-4.0.0.postman_collection.json"
NEWMAN = ROOT / "node_modules" / ".bin" / "newman"

pytestmark = pytest.mark.ctk


def populate(api: str, count: int) -> None:
    """Store `count` customers through the API, as a certification run against a real system finds them."""
    with httpx.Client(base_url=api, timeout=30) as http:
        for index in range(count):
            party = {"id": str(index), "@referredType": "Individual"}
            body = {"name": f"Existing {index}", "engagedParty": party}
            assert http.post("/customer", json=body).status_code == 201


# A fresh store, and one holding more than a default page (100) of customers: the kit lists without `limit`
# and requires 200 whatever the store holds.
@pytest.mark.parametrize("stored", [0, 130], ids=["fresh", "populated"])
def test_conformance_kit_passes(settings: Settings, store: object, tmp_path: Path, stored: int) -> None:
    if not CTK.exists():
        pytest.fail(f"the conformance kit is missing: {CTK}")
    assert NEWMAN.exists() or shutil.which("newman"), "newman is not installed: run `npm ci`"
    server = ServerProcess(settings.database_url, TMF629_DISPATCHER_ENABLED="false").start()
    report = tmp_path / "ctk-results.json"
    try:
        populate(server.api, stored)
        run = subprocess.run(
            [
                str(NEWMAN),
                "run",
                str(CTK),
                "--env-var",
                f"Customer={server.api}/",
                "-r",
                "cli,json",
                "--reporter-json-export",
                str(report),
                "--timeout-request",
                "10000",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    results = json.loads(report.read_text())["run"]
    stats = results["stats"]
    failures = [f"{f['source']['name']}: {f['error']['message']}" for f in results["failures"]]
    assert stats["assertions"]["failed"] == 0, "\n".join(failures) or run.stdout[-4000:]
    assert stats["requests"]["failed"] == 0, run.stdout[-4000:]
    assert stats["assertions"]["total"] > 50, "the kit ran fewer assertions than it holds"
    assert run.returncode == 0, run.stdout[-4000:]
