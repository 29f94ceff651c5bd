"""GET /health: 200 once the database answers, 503 when it does not."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.di import NamedDependency

from app.store.base import Store


@get("/health", operation_id="health", include_in_schema=True, tags=["operations"])
async def health(store: NamedDependency[Store]) -> Response[dict[str, str]]:
    try:
        await asyncio.wait_for(store.ping(), timeout=3)
    except Exception as error:  # any failure to reach the database is "not ready"
        return Response({"status": "unavailable", "database": type(error).__name__}, status_code=503)
    return Response({"status": "ok", "database": store.dialect})
