"""Operating the service as a process: SIGKILL durability and health."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.settings import Settings
from tests.conftest import LiveServer
from tests.support.process import ServerProcess
from tests.test_rest_customer import MOON


async def test_acknowledged_customer_survives_sigkill(settings: Settings, store: object) -> None:
    server = ServerProcess(settings.database_url, TMF629_DISPATCHER_ENABLED="false").start()
    try:
        async with httpx.AsyncClient(base_url=server.api) as http:
            created = [
                (await http.post("/customer", json={**MOON, "name": f"K{i}"})).json()["id"] for i in range(20)
            ]
        server.kill()
        server.start()
        async with httpx.AsyncClient(base_url=server.api) as http:
            for customer_id in created:
                assert (await http.get(f"/customer/{customer_id}")).status_code == 200
    finally:
        server.stop()


async def test_health_is_503_when_the_database_does_not_answer(tmp_path: object) -> None:
    unreachable = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:1/none")
    live = LiveServer(unreachable)
    live.start()
    try:
        async with httpx.AsyncClient(base_url=live.url) as http:
            response = await http.get("/health")
            assert response.status_code == 503 and response.json()["status"] == "unavailable"
    finally:
        live.stop()


async def test_serve_app_takes_its_startup_state_out_of_the_collectors_sight(
    settings: Settings, store: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc

    import uvicorn

    from app.main import serve_app
    from tests.support.process import free_port

    monkeypatch.setenv("TMF629_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TMF629_DISPATCHER_ENABLED", "false")
    assert gc.get_freeze_count() == 0
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(serve_app(), port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        assert gc.get_freeze_count() > 0
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200
    finally:
        server.should_exit = True
        await task
        gc.unfreeze()
