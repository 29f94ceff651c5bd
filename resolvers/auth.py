"""Scopes on the GraphQL door: a permission per root field, and the websocket's credential.

* `requires(scope)` is the `extensions` of a root field: without the scope the field resolves to an
  error with `extensions.code` FORBIDDEN and no data.
* Over HTTP the REST gate (rest/auth.py) has already authenticated the request. A websocket carries its
  credential in the `connection_init` payload (`{"authorization": "Bearer ..."}` or
  `{"x-api-key": "..."}`): without a valid one the socket closes with 4401; a subscription needing a
  scope the credential lacks closes it with 4403.
"""

from __future__ import annotations

import functools
from typing import Any

from graphql import OperationDefinitionNode, OperationType, parse
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types import Info

from app.security.principal import Unauthenticated


class ScopePermission(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}

    def __init__(self, scope: str) -> None:
        self.scope = scope
        self.message = f"This field needs the scope '{scope}', which the credential does not grant"

    def has_permission(self, source: Any, info: Info[Any, Any], **kwargs: Any) -> bool:
        return bool(info.context.principal.allows(self.scope))


def requires(scope: str) -> list[FieldExtension]:
    return [PermissionExtension(permissions=[ScopePermission(scope)], use_directives=False)]


def field_scopes(field: Any) -> list[str]:
    """The scopes a Strawberry field's `requires` extension asks for."""
    return [
        permission.scope
        for extension in getattr(field, "extensions", [])
        if isinstance(extension, PermissionExtension)
        for permission in extension.permissions
        if isinstance(permission, ScopePermission)
    ]


@functools.lru_cache(maxsize=256)
def _subscription_fields(query: str) -> tuple[str, ...]:
    try:
        document = parse(query)
    except Exception:  # a syntax error is answered by the normal path
        return ()
    return tuple(
        selection.name.value
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        and definition.operation == OperationType.SUBSCRIPTION
        for selection in definition.selection_set.selections
        if hasattr(selection, "name")
    )


class AuthenticatingTransportWS(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with the credential taken from `connection_init`."""

    async def handle_connection_init(self, message: Any) -> None:
        payload = message.get("payload") or {}
        context = self.context
        if context.authenticator.enabled and not self.connection_init_received:
            if self.connection_init_timeout_task:
                self.connection_init_timeout_task.cancel()
            try:
                context.principal = await context.authenticator.authenticate(
                    _payload_value(payload, "authorization"), _payload_value(payload, "x-api-key")
                )
            except Unauthenticated:
                await self.websocket.close(code=4401, reason="Unauthorized")
                return
        await super().handle_connection_init(message)

    async def handle_subscribe(self, message: Any) -> None:
        if self.connection_acknowledged:
            principal = self.context.principal
            schema = self.schema
            for name in _subscription_fields(str((message.get("payload") or {}).get("query", ""))):
                field = schema.get_field_for_type(name, "Subscription")
                if field is not None and not all(principal.allows(s) for s in field_scopes(field)):
                    await self.websocket.close(code=4403, reason="Forbidden")
                    return
        await super().handle_subscribe(message)


def _payload_value(payload: Any, key: str) -> str | None:
    """A `connection_init` payload member, matched case-insensitively (clients send Authorization too)."""
    if not isinstance(payload, dict):
        return None
    for name, value in payload.items():
        if isinstance(name, str) and name.lower() == key and isinstance(value, str):
            return value
    return None
