"""The TMF wire format at the REST edge: base URLs, JSON bodies, error bodies."""

from __future__ import annotations

import math
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlencode

import orjson
from litestar import Request
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import ASGIApp, Receive, Scope, Send

from app import urls
from app.domain.errors import Invalid
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.query.model import CustomerQuery, parse_rest_query
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


# Query strings whose parse is kept, per collection, and the longest one kept.
MAX_PARSED = 1024
MAX_PARSED_TEXT = 2048
_PAGING = ("offset", "limit")


class RestQuery(NamedTuple):
    """A collection's query string, parsed: the query, the parameters other than `offset` and `limit`
    URL-encoded again (the `Link` header's), and whether the client sent `offset` or `limit`."""

    query: CustomerQuery
    kept: str
    paged: bool


class RestQueries:
    """The query of each query string of one collection, parsed once.

    Parsing (parse_qsl, then each criterion resolved against the model and its values coerced, and the
    parameters for the `Link` header encoded again) depends on the text and the app's paging settings
    only, and cost a filtered page about a fifth of its time. A query string that fails to parse is not
    kept: it raises again each time. At most MAX_PARSED texts of at most MAX_PARSED_TEXT bytes are kept;
    past that, all are forgotten."""

    def __init__(self, resource: ResourceType = CUSTOMER_TYPE) -> None:
        self.resource = resource
        self._known: dict[bytes, RestQuery] = {}

    def __call__(self, request: Request[Any, Any, Any]) -> RestQuery:
        text: bytes = request.scope.get("query_string", b"")
        known = self._known.get(text)
        if known is None:
            settings = settings_of(request)
            params = query_params(request)
            limits = {"default_limit": settings.default_limit, "max_limit": settings.max_limit}
            known = RestQuery(
                parse_rest_query(params, **limits, resource=self.resource),
                urlencode([(k, v) for k, v in params if k not in _PAGING]),
                any(key in _PAGING for key, _ in params),
            )
            if len(text) <= MAX_PARSED_TEXT:
                if len(self._known) >= MAX_PARSED:
                    self._known.clear()
                self._known[text] = known
        return known


async def request_body(request: Request[Any, Any, Any]) -> bytes:
    """The request body, from the server's messages as they come. Litestar's `Request.body` parses every
    header for Content-Length and reads through an async generator, a twentieth of the event loop's work
    for a create, where the body nearly always comes whole in the first message. The same limit
    (`request_max_body_size`, 413 past it), Content-Length included once the body comes in parts."""
    limit = request.route_handler.resolve_request_max_body_size() or math.inf
    chunks = []
    size = 0
    while True:
        message = await request.receive()
        if message["type"] != "http.request":
            raise Invalid("The client went away before the end of the request body", field="body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(chunks) == 1 and (request.content_length or 0) > limit:
            raise RequestEntityTooLarge


async def json_body(request: Request[Any, Any, Any]) -> Any:
    raw = await request_body(request)
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


def _link_header(kept: str, collection: str, total: int, offset: int, limit: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages of the same query."""
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
    rest: RestQuery,
    collection: str,
    body: bytes,
    count: int,
    total: int,
    offset: int,
    limit: int,
) -> ASGIApp:
    """A list answer to the request's query: the count headers, a Link when the body holds only part of
    the matches, and 206 only for a client that asked for a page (sent `limit` or `offset`); a plain list
    answers 200."""
    headers = {"X-Total-Count": str(total), "X-Result-Count": str(count)}
    if offset == 0 and count == total:
        return json_response(body, 200, headers)
    headers["Link"] = _link_header(rest.kept, collection, total, offset, limit)
    return json_response(body, 206 if rest.paged else 200, headers)
