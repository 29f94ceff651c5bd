"""The TMF wire format at the REST edge: base URLs, JSON bodies, error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from litestar import Request, Response

from app import urls
from app.domain.errors import Invalid
from app.settings import Settings
from app.urls import API_PATH as API_PATH  # re-exported for the controllers

JSON = "application/json;charset=utf-8"


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def api_base(request: Request[Any, Any, Any]) -> str:
    return urls.api_base(settings_of(request), request.scope.get("scheme", "http"), request.headers)


def query_params(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """Query parameters in the order received, repeats kept."""
    return parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


async def json_body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid("The request body is empty; a JSON document is expected", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Invalid(f"The request body is not valid JSON: {error}", field="body") from error


def json_response(
    content: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(content=content, status_code=status, media_type=JSON, headers=headers)


def error_body(status: int, code: str, reason: str, message: str) -> dict[str, str]:
    return {"@type": "Error", "code": code, "reason": reason, "message": message, "status": str(status)}
