"""The TMF wire format at the REST edge: base URLs, JSON bodies, error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from litestar import Request, Response

from app.errors import Invalid
from app.settings import Settings

API_PATH = "/tmf-api/customerManagement/v4"
JSON = "application/json;charset=utf-8"


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def origin(request: Request[Any, Any, Any]) -> str:
    """scheme://host of the service, as the client reached it (or as configured)."""
    settings = settings_of(request)
    if settings.public_url:
        return settings.public_url.rstrip("/")
    headers = request.headers
    scheme = request.scope.get("scheme", "http")
    host = headers.get("host") or "localhost"
    if settings.trust_forwarded_headers:
        scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = headers.get("x-forwarded-host", host).split(",")[0].strip()
    return f"{scheme}://{host}"


def api_base(request: Request[Any, Any, Any]) -> str:
    return origin(request) + API_PATH


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
