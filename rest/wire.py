"""The TMF wire format at the REST edge: base URLs, JSON bodies, error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from app import urls
from app.domain.errors import Invalid
from app.settings import Settings
from app.urls import API_PATH as API_PATH  # re-exported for the controllers
from app.urls import ScopeHeaders

JSON = "application/json;charset=utf-8"
_JSON = JSON.encode()


class Answer:
    """A finished response as a bare ASGI app: status, headers and body, sent in two messages.

    Handlers that return one (annotated `-> ASGIApp`) skip Litestar's Response object and its conversion
    to an ASGI response, a measured tenth of a GET by id; the middleware around handlers (request ids,
    CORS, metrics) sees the same messages either way."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def _raw(headers: dict[str, str] | None) -> list[tuple[bytes, bytes]]:
    return [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()
    ]


def settings_of(request: Request[Any, Any, Any]) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def api_base(request: Request[Any, Any, Any], path: str = API_PATH) -> str:
    """The base URL of the API at `path` as the request's client sees it (app.urls.api_base)."""
    return urls.api_base(settings_of(request), request.scope, path)


def header(request: Request[Any, Any, Any], name: str) -> str | None:
    """One request header (the first of repeats), without building Litestar's Headers of all of them."""
    return ScopeHeaders(request.scope).get(name)


def query_params(request: Request[Any, Any, Any]) -> list[tuple[str, str]]:
    """Query parameters in the order received, repeats kept."""
    raw = request.scope.get("query_string")
    return parse_qsl(raw.decode("latin-1"), keep_blank_values=True) if raw else []


async def json_body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise Invalid("The request body is empty; a JSON document is expected", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise Invalid(f"The request body is not valid JSON: {error}", field="body") from error


def json_response(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> ASGIApp:
    raw = [(b"content-type", _JSON), (b"content-length", str(len(content)).encode()), *_raw(headers)]
    return Answer(status, raw, content)


def not_modified(etag: str) -> ASGIApp:
    """304 for a conditional GET whose `If-None-Match` names the current version: no body."""
    return Answer(304, [(b"etag", etag.encode("latin-1"))])


def error_body(status: int, code: str, reason: str, message: str) -> dict[str, str]:
    return {"@type": "Error", "code": code, "reason": reason, "message": message, "status": str(status)}


def _link_header(params: list[tuple[str, str]], collection: str, total: int, offset: int, limit: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages of the same query."""
    kept = urlencode([(k, v) for k, v in params if k not in ("offset", "limit")])
    prefix = f"{collection}?{kept}&" if kept else f"{collection}?"

    def link(at: int, rel: str) -> str:
        return f'<{prefix}offset={at}&limit={limit}>; rel="{rel}"'

    links = [link(0, "first")]
    if offset > 0:
        links.append(link(max(0, offset - limit), "prev"))
    if offset + limit < total:
        links.append(link(offset + limit, "next"))
    links.append(link(max(0, ((total - 1) // limit) * limit), "last"))
    return ", ".join(links)


def page_response(
    params: list[tuple[str, str]],
    collection: str,
    body: bytes,
    count: int,
    total: int,
    offset: int,
    limit: int,
) -> ASGIApp:
    """A list answer to a request with query parameters `params`: the count headers, a Link when the body
    holds only part of the matches, and 206 only for a client that asked for a page (sent `limit` or
    `offset`); a plain list answers 200."""
    headers = {"X-Total-Count": str(total), "X-Result-Count": str(count)}
    if offset == 0 and count == total:
        return json_response(body, 200, headers)
    headers["Link"] = _link_header(params, collection, total, offset, limit)
    asked = any(key in ("offset", "limit") for key, _ in params)
    return json_response(body, 206 if asked else 200, headers)
