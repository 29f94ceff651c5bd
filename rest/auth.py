"""The security of every HTTP request (app.security does the checking).

The Host header, when hrefs come from it, is checked first, by the edge (rest.middleware, with
`HostCheck`): 400. Then the gate, one ASGI middleware after routing: the credential (401 +
`WWW-Authenticate: Bearer`), the rate (429 + `Retry-After`), then the scope the route needs (403).

A route says which scope it needs in its `opt` (`secured()` sets it on a router): `{"scope": CUSTOMER}`, a
`ResourceScopes`, asks for `customer:read` on GET/HEAD and `customer:write` on other methods; `{"scope":
"hub:write"}` asks for that scope on every method. A route that says nothing needs a valid credential and
no particular scope: GraphQL, whose fields check their own. Open to all: the health checks, the
OpenAPI documentation of both APIs (the TMF specifications are public), the GraphiQL page and its
assets (static pages; a person enters the credential in GraphiQL's Headers tab), and CORS preflights
(OPTIONS, which carry no credential). Websockets pass the Host check and authenticate in their
`connection_init` (resolvers/auth.py).
"""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Router
from litestar.types import ASGIApp, Receive, Scope, Send

from app.domain.errors import DomainError
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.security.authenticator import Authenticator
from app.security.hosts import HostPolicy
from app.security.principal import PRINCIPAL_KEY, ResourceScopes, TooManyRequests, Unauthenticated
from app.security.ratelimit import RateLimiter
from rest.wire import API_PATH, error_body, json_response

PUBLIC_PATHS = ("/health", f"{API_PATH}/docs", f"{ACCOUNT_MANAGEMENT.path}/docs", "/graphql/assets")
READ_METHODS = frozenset({"GET", "HEAD"})


def secured(scope: ResourceScopes | str, *handlers: Any) -> Router:
    """`handlers` on a router whose routes need `scope` (see the module docstring)."""
    return Router(path="/", route_handlers=list(handlers), opt={"scope": scope})


_PUBLIC_EXACT = frozenset(PUBLIC_PATHS)
_PUBLIC_PREFIXES = tuple(p + "/" for p in PUBLIC_PATHS)
MAX_REMEMBERED_HOSTS = 64


def _is_public(scope: Scope) -> bool:
    path: str = scope["path"]
    if path in _PUBLIC_EXACT or path.startswith(_PUBLIC_PREFIXES) or scope["method"] == "OPTIONS":
        return True
    # The GraphiQL page: what Strawberry answers a GET of /graphql without a query that accepts HTML.
    return (
        path == "/graphql"
        and scope["method"] == "GET"
        and b"query=" not in scope.get("query_string", b"")
        and any(name == b"accept" and b"text/html" in value for name, value in scope["headers"])
    )


class HostCheck:
    """The Host header (and X-Forwarded-Host, when trusted) against the served hosts; allowed values are
    remembered, so a request costs one set lookup. Run by the edge (rest.middleware), before routing."""

    def __init__(self, hosts: HostPolicy, forwarded: bool) -> None:
        self.hosts = hosts
        self.forwarded = forwarded
        self._good_hosts: set[bytes] = set()

    def allows(self, host: bytes | None, forwarded: bytes | None) -> bool:
        if host is None:
            return False
        if host not in self._good_hosts:
            if not self.hosts.allows(host.decode("latin-1")):
                return False
            if len(self._good_hosts) < MAX_REMEMBERED_HOSTS:
                self._good_hosts.add(host)
        if forwarded is None or not self.forwarded:
            return True
        return self.hosts.allows(forwarded.decode("latin-1").split(",")[0])


async def refuse_host(scope: Scope, receive: Receive, send: Send) -> None:
    await _refuse(
        scope,
        receive,
        send,
        400,
        "BAD_REQUEST",
        "Bad request",
        "The Host header names a host this service does not serve (TMF629_ALLOWED_HOSTS)",
    )


class SecurityGate:
    def __init__(self, app: ASGIApp, *, authenticator: Authenticator, limiter: RateLimiter | None) -> None:
        self.app = app
        self.authenticator = authenticator
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_public(scope):
            await self.app(scope, receive, send)
            return
        authorization = api_key = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
        rule = scope["route_handler"].opt.get("scope")
        try:
            principal = await self.authenticator.authenticate(_text(authorization), _text(api_key))
            if self.limiter is not None:
                caller = principal.subject if self.authenticator.enabled else _client(scope)
                self.limiter.check(caller)
            if isinstance(rule, ResourceScopes):
                principal.require(rule.read if scope["method"] in READ_METHODS else rule.write)
            elif rule is not None:
                principal.require(rule)
        except DomainError as error:
            await _refuse_error(scope, receive, send, error)
            return
        scope[PRINCIPAL_KEY] = principal  # type: ignore[literal-required]
        await self.app(scope, receive, send)


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _refuse_error(scope: Scope, receive: Receive, send: Send, error: DomainError) -> None:
    extra: dict[str, str] = {}
    if isinstance(error, Unauthenticated):
        extra["WWW-Authenticate"] = 'Bearer realm="tmf629"'
    elif isinstance(error, TooManyRequests):
        extra["Retry-After"] = str(error.retry_after)
    await _refuse(scope, receive, send, error.status, error.code, error.reason, error.message, extra)


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    code: str,
    reason: str,
    message: str,
    extra: dict[str, str] | None = None,
) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    body = orjson.dumps(error_body(status, code, reason, message))
    await json_response(body, status, extra)(scope, receive, send)


def security_middleware(authenticator: Authenticator, limiter: RateLimiter | None) -> Any:
    """The Litestar middleware factory, or None when there is nothing to check (auth off, no rate
    limit): then requests pay nothing here."""
    if not authenticator.enabled and limiter is None:
        return None

    def factory(app: ASGIApp) -> ASGIApp:
        return SecurityGate(app, authenticator=authenticator, limiter=limiter)

    return factory
