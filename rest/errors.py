"""One exception handler per kind of failure, each answering with the TMF Error body."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from litestar import Request, Response
from litestar.exceptions import HTTPException

from app.domain.errors import DomainError, InvalidQuery, ServiceUnavailable
from app.store.outage import is_unreachable
from rest.wire import JSON, error_body

logger = logging.getLogger("tmf629")

_HTTP_REASONS = {
    400: ("BAD_REQUEST", "Bad request"),
    404: ("NOT_FOUND", "Resource not found"),
    405: ("METHOD_NOT_ALLOWED", "Method not allowed"),
    406: ("NOT_ACCEPTABLE", "Not acceptable"),
    413: ("PAYLOAD_TOO_LARGE", "Request body too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"),
    429: ("TOO_MANY_REQUESTS", "Too many requests"),
}


def _response(
    status: int, code: str, reason: str, message: str, headers: dict[str, str] | None = None
) -> Response[bytes]:
    body = orjson.dumps(error_body(status, code, reason, message))
    return Response(content=body, status_code=status, media_type=JSON, headers=headers)


def domain_error(_: Request[Any, Any, Any], error: DomainError) -> Response[bytes]:
    message = error.message
    if isinstance(error, InvalidQuery) and error.field and f"'{error.field}" not in message:
        message = f"Query parameter '{error.field}': {message}"
    return _response(error.status, error.code, error.reason, message)


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    code, reason = _HTTP_REASONS.get(status, (f"HTTP_{status}", "Request failed"))
    message = str(error.detail)
    if status == 404 and message in ("Not Found", ""):
        message = f"No resource at {request.method} {request.url.path}"
    elif status == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}"
    headers = {k: v for k, v in (error.headers or {}).items() if k.lower() == "allow"}
    return _response(status, code, reason, message, headers or None)


def unavailable(_: Request[Any, Any, Any], error: ServiceUnavailable) -> Response[bytes]:
    """The database is away (logged once per outage by the store, not per request)."""
    headers = {"Retry-After": str(error.retry_after)}
    return _response(error.status, error.code, error.reason, error.message, headers)


def server_error(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    if is_unreachable(error):  # a driver error that reached the door without passing a store
        return unavailable(request, ServiceUnavailable())
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return _response(
        500, "INTERNAL_ERROR", "Internal server error", "The server could not complete the request"
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    DomainError: domain_error,
    ServiceUnavailable: unavailable,
    HTTPException: http_error,
    Exception: server_error,
}
