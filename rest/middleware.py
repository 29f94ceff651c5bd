"""The outermost ASGI layer, one per request: the Host check, X-Request-ID, request metrics, OPTIONS' Allow.

It wraps the app's whole handler (outside routing, CORS and the exception handlers), so a 404 for an
unknown path gets its request id too; the route template is read from the scope after routing (an
unmatched path counts as `unmatched`, so clients cannot grow the label set). The Host check (when hrefs
come from the request, rest.auth.HostCheck) is done here, in the same pass over the headers, rather than
by a layer of its own after routing: a request with a host this service does not serve is refused before
anything else runs. Authentication, rate limits and scopes stay in rest.auth's gate, which needs the
route.

Litestar's own OPTIONS handler of a path is made with the path's first handler and keeps answering that
handler's methods only (`Allow: OPTIONS, POST` on /customer): the edge sets the header of an OPTIONS
answer again, from the final routes; other requests pay one method comparison for it.
"""

from __future__ import annotations

import itertools
import os
import re
from bisect import bisect_left
from collections.abc import Awaitable
from time import perf_counter

from litestar import Litestar
from litestar.middleware._internal.cors import CORSMiddleware  # what Litestar wraps the app in for CORS
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import (
    HTTP_METHODS,
    HTTP_SERIES,
    REQUEST_ID,
    SERIES_BOUNDS,
    multiprocess,
    new_series,
    observe_shared,
)
from rest.auth import HostCheck, refuse_host

HEADER = b"x-request-id"
MAX_ID_LENGTH = 128
# Generated ids: 16 hex digits, this process's random prefix (6) and a counter (10), distinct within a
# process and, but for a one-in-16-million prefix clash, across processes, without a system call per
# request (os.urandom per request was a measurable part of a GET).
_PREFIX = os.urandom(3).hex().encode() + b"%010x"  # formatted with the counter
_counter = itertools.count(1)
_SANE = re.compile(rb"[!-~]{1,%d}" % MAX_ID_LENGTH)  # printable ASCII, no spaces, not too long


def _request_id(given: bytes | None) -> bytes:
    """The client's X-Request-ID when it is a sane token, else a new id."""
    if given is not None and _SANE.fullmatch(given):
        return given
    return _PREFIX % next(_counter)


def allowed_methods(app: Litestar) -> dict[str, str]:
    """The Allow header of each route: exactly the methods the path has."""
    return {
        route.path_format: ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    }


def _allowing(scope: Scope, send: Send, allow: dict[str, bytes]) -> Send:
    async def send_allow(message: Message) -> None:
        # The router has set the matched route's template in the scope by the time it answers.
        value = allow.get(scope.get("path_template", ""))  # type: ignore[arg-type]
        if message["type"] == "http.response.start" and message["status"] == 204 and value:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message["headers"] = [*headers, (b"allow", value)]
        await send(message)

    return send_allow


def edge(
    app: ASGIApp,
    hosts: HostCheck | None,
    observe: bool,
    allow: dict[str, bytes],
    plain: ASGIApp | None = None,
) -> ASGIApp:
    """`app` behind the edge: the Host check when `hosts`, request ids and metrics when `observe`, and
    OPTIONS answers' Allow from `allow` (route template: header value). `plain` is `app` without its CORS
    layer, which passes a request without an Origin header through untouched: such requests (every one
    but a browser's cross-origin calls) go straight to it, sparing the layer's parse of all the headers."""
    plain = plain or app
    shared = multiprocess()  # several workers: each request goes to the shared histogram at once

    async def edged(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await app(scope, receive, send)
            return
        if kind == "http" and scope["method"] == "OPTIONS":
            send = _allowing(scope, send, allow)
        host = given = forwarded = None
        target = plain
        for name, value in scope["headers"]:
            if name == b"host":
                host = value
            elif name == HEADER:
                given = value
            elif name == b"x-forwarded-host":
                forwarded = value
            elif name == b"origin":
                target = app
        if hosts is not None and not hosts.allows(host, forwarded):
            target = refuse_host
        if not observe:
            await target(scope, receive, send)
            return
        if kind != "http":
            token = REQUEST_ID.set(_request_id(given))
            try:
                await target(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
            return
        started = perf_counter()
        request_id = _PREFIX % next(_counter) if given is None else _request_id(given)
        token = REQUEST_ID.set(request_id)
        header = (HEADER, request_id)
        status = 500

        def send_with_id(message: Message) -> Awaitable[None]:
            # A plain function handing on the server's own awaitable: no coroutine of its own per message.
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.append(header)
                else:
                    message["headers"] = [*(headers or ()), header]
            return send(message)

        try:
            await target(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            # The request's metrics, inline (a call is a measurable part of a GET): app.observability.
            seconds = perf_counter() - started
            method = scope["method"]
            if method not in HTTP_METHODS:  # a client-chosen token: keep the label set bounded
                method = "other"
            key = (scope.get("path_template") or "unmatched", method, status)
            if shared:
                observe_shared(key, seconds)
            else:
                series = HTTP_SERIES.get(key)
                if series is None:
                    series = HTTP_SERIES[key] = new_series()
                series[0] += seconds
                series[bisect_left(SERIES_BOUNDS, seconds, 1)] += 1

    return edged


def install(app: Litestar, hosts: HostCheck | None, observe: bool) -> None:
    """Put the edge around `app`'s handler, once every route is registered."""
    allow = {template: value.encode() for template, value in allowed_methods(app).items()}
    handler = app.asgi_handler
    plain = handler.app if isinstance(handler, CORSMiddleware) else None
    app.asgi_handler = edge(handler, hosts, observe, allow, plain)
