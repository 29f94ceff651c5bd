"""Health: `/health/live` (the process runs), `/health/ready` and `/health` (the database answers)."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency

from app.store.base import Store

RETRY_AFTER = "2"


@get("/health/live", operation_id="healthLive", tags=["operations"])
async def health_live() -> Response[dict[str, str]]:
    """200 while the process serves requests, whatever the database does: restart it only when this fails."""
    return Response({"status": "ok"})


@get(["/health", "/health/ready"], operation_id="healthReady", tags=["operations"])
async def health_ready(store: NamedDependency[Store]) -> Response[dict[str, str]]:
    """200 once the database answers, 503 (with Retry-After) while it does not: route traffic elsewhere."""
    try:
        await store.ping()  # bounded by the store's own connect and statement timeouts
    except Exception as error:  # any failure to reach the database is "not ready"
        cause = error.__cause__ or error
        return Response(
            {"status": "unavailable", "database": type(cause).__name__},
            status_code=503,
            headers={"Retry-After": RETRY_AFTER},
        )
    return Response({"status": "ok", "database": store.dialect})


HEALTH_HANDLERS = [health_live, health_ready]
