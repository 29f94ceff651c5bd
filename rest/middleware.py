"""The outermost ASGI layer: X-Request-ID and request metrics for every HTTP response, routed or not.

It wraps the app's whole handler (outside routing, CORS and the exception handlers), so a 404 for an
unknown path gets its request id too; the route template is read from the scope after routing (an
unmatched path counts as `unmatched`, so clients cannot grow the label set).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.observability import REQUEST_ID, observe_request

HEADER = b"x-request-id"
MAX_ID_LENGTH = 128
# Generated ids: 16 hex digits, this process's random prefix (6) and a counter (10), distinct within a
# process and, but for a one-in-16-million prefix clash, across processes, without a system call per
# request (os.urandom per request was a measurable part of a GET).
_PREFIX = os.urandom(3).hex()
_counter = itertools.count(1)


def _new_id() -> str:
    return f"{_PREFIX}{next(_counter):010x}"


def _given_id(headers: Any) -> str | None:
    """The client's X-Request-ID when it is a sane token (printable ASCII, no spaces, not too long)."""
    for name, value in headers:
        if name == HEADER:
            if 0 < len(value) <= MAX_ID_LENGTH and value.isascii():
                text: str = value.decode()
                if text.isprintable() and " " not in text:
                    return text
            return None
    return None


def observe(app: ASGIApp) -> ASGIApp:
    async def observed(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            request_id = _given_id(scope["headers"]) or _new_id()
            token = REQUEST_ID.set(request_id)
            try:
                await app(scope, receive, send)
            finally:
                REQUEST_ID.reset(token)
            return
        started = time.perf_counter()
        request_id = _given_id(scope["headers"]) or _new_id()
        header = (HEADER, request_id.encode())
        token = REQUEST_ID.set(request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers")
                if isinstance(headers, list):
                    headers.append(header)
                else:
                    message["headers"] = [*(headers or ()), header]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)
            observe_request(
                scope.get("path_template") or "unmatched",
                scope["method"],
                status,
                time.perf_counter() - started,
            )

    return observed
