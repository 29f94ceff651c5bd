"""The per-request GraphQL context: the shared service, the event feed, the href base, and this request's
DataLoaders.

Resolvers never share a session: every read and every mutation is its own unit of work in the service
(GUIDE convention 3), so graphql-core may resolve fields and loader batches concurrently.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from strawberry.litestar import BaseContext

from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.events.feed import EventFeed
from app.security.authenticator import Authenticator
from app.security.principal import Principal, principal_of
from app.services import CustomerService
from app.settings import Settings
from app.urls import api_base
from resolvers.account_loader import AccountDoor, AccountGraph
from resolvers.loader import CustomerLoader


class GraphQLContext(BaseContext, kw_only=True):
    service: CustomerService
    settings: Settings
    feed: EventFeed
    href_base: str
    customer_loader: CustomerLoader
    # Who is asking: set by the REST gate for HTTP, at `connection_init` for a websocket (resolvers/auth.py).
    principal: Principal
    authenticator: Authenticator
    # TMF666: the accounts' href base and this request's link loaders (resolvers/accounts.py).
    accounts: AccountGraph | None = None


def href_base(request: ASGIConnection[Any, Any, Any, Any], settings: Settings) -> str:
    """The REST base URL customers' hrefs start with: the same rule as the REST door."""
    return api_base(settings, request.scope)


def context_getter(
    service: CustomerService,
    settings: Settings,
    feed: EventFeed,
    authenticator: Authenticator,
    account_door: AccountDoor | None = None,
) -> Any:
    """The Litestar dependency that builds a fresh context (fresh loaders) per request or websocket."""

    async def get_context(request: ASGIConnection[Any, Any, Any, Any]) -> GraphQLContext:
        base = href_base(request, settings)
        accounts = None
        if account_door is not None:
            account_base = api_base(settings, request.scope, ACCOUNT_MANAGEMENT.path)
            accounts = AccountGraph(account_door, account_base, base)
        return GraphQLContext(
            service=service,
            settings=settings,
            feed=feed,
            href_base=base,
            # A websocket's context lives as long as the connection, across its operations: its loader
            # batches but does not cache, or a query would read what an earlier operation had loaded.
            customer_loader=CustomerLoader(service, cache=request.scope["type"] == "http"),
            principal=principal_of(request.scope),
            authenticator=authenticator,
            accounts=accounts,
        )

    return get_context
