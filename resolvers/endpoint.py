"""Schema assembly and the `/graphql` Litestar controller.

Before anything runs, a document is refused when it has too many tokens (MaxTokensLimiter, at parse),
is nested too deep or has too many aliases (validation rules); parsing and validation are cached.
Errors that are not expected failures are masked. Subscriptions speak graphql-transport-ws on the same path.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import orjson
import strawberry
from graphql import GraphQLError, NoSchemaIntrospectionCustomRule, parse
from litestar import Controller, MediaType, Request, Response
from litestar.background_tasks import BackgroundTasks
from litestar.connection import ASGIConnection
from litestar.di import Provide
from strawberry.extensions import MaskErrors, MaxAliasesLimiter, QueryDepthLimiter
from strawberry.litestar import make_graphql_controller
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import validate_document
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from app.domain.errors import ServiceUnavailable
from app.events.feed import EventFeed
from app.observability import observe_operation
from app.security.authenticator import Authenticator
from app.services import CustomerService
from app.settings import Settings
from app.store.outage import is_unreachable
from resolvers.account_loader import AccountDoor, answer_prefetched_accounts
from resolvers.accounts import AccountMutation, AccountQuery, AccountSubscription
from resolvers.auth import AuthenticatingTransportWS
from resolvers.context import context_getter
from resolvers.execution import MemberExecutionContext
from resolvers.graphiql import graphiql_page
from resolvers.mutation import Mutation
from resolvers.query import Query
from resolvers.subscription import Subscription
from schema.derive import resolve_members_directly
from schema.scalars import SCALAR_MAP

GRAPHQL_PATH = "/graphql"


def is_unexpected(error: GraphQLError) -> bool:
    """Mask errors raised by code (a bug, a database failure); keep GraphQL's own and refused arguments."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


def is_outage(error: GraphQLError) -> bool:
    """The database is away: not a bug (no traceback; the store logged the outage once)."""
    return error.original_error is not None and is_unreachable(error.original_error)


class CustomerSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log server faults (with their traceback); a client's mistakes are answered, not logged."""
        for error in errors:
            if is_unexpected(error) and not is_outage(error):
                StrawberryLogger.error(error, execution_context)


_parse = functools.lru_cache(maxsize=256)(parse)


def _operation_type(context: ExecutionContext) -> str:
    """query, mutation or subscription; `invalid` when the document did not parse or name one."""
    try:
        return str(context.operation_type.value)
    except Exception:
        return "invalid"


@functools.lru_cache(maxsize=256)
def _validate(schema: Any, query: str, options: tuple[tuple[str, Any], ...], rules: tuple[Any, ...]) -> Any:
    """The validation errors of a query text, cached by the text: keyed by the parsed document, every
    request hashed its whole syntax tree (a twentieth of a small query)."""
    return validate_document(schema, _parse(query, **dict(options)), rules)


class RequestGuard(MaskErrors):
    """Limits, caches and masking in one extension (five separate extensions cost a fifth of a small
    query in per-request hook overhead): the token limit as a parse option, the depth and alias rules
    added to validation, parsing and validation cached across requests (the rules are the same tuple
    every time, so cached validations hit), and unexpected errors masked (MaskErrors' own logic)."""

    def __init__(self, max_tokens: int, rules: tuple[Any, ...], observe: bool = False) -> None:
        super().__init__(should_mask_error=is_unexpected)
        self.observe = observe  # the operation metrics (app.observability)
        self.max_tokens = max_tokens
        self.rules = rules

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.max_tokens
        context.validation_rules = context.validation_rules + self.rules
        started = time.perf_counter()
        yield from super().on_operation()
        if self.observe:
            ok = not getattr(context.result, "errors", None)
            observe_operation(
                context.operation_name, _operation_type(context), ok, time.perf_counter() - started
            )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        """Unexpected errors say no more than "Unexpected error."; an outage says what it is, with
        `extensions.code` SERVICE_UNAVAILABLE, so a client retries rather than reports a bug."""
        if is_outage(error):
            return GraphQLError(
                ServiceUnavailable().message,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": ServiceUnavailable.code},
            )
        return super().anonymise_error(error)

    def _process_result(self, result: object) -> None:
        # MaskErrors tests results against a runtime-checkable Protocol, slow on every request.
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.graphql_document = _parse(context.query, **context.parse_options)
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        options = tuple(sorted(context.parse_options.items()))
        context.pre_execution_errors = _validate(
            context.schema._schema, context.query or "", options, context.validation_rules
        )
        yield


class KeptNames(NameConverter):
    """Strawberry's names, each converted once. Strawberry names every argument again each time a resolver
    is called (a regular expression per name, for `customer(id:)` about 2% of the request); a name's
    GraphQL form never changes, and there are as many as the schema has."""

    def __init__(self) -> None:
        super().__init__()
        self._known: dict[str, str] = {}

    def apply_naming_config(self, name: str) -> str:
        known = self._known.get(name)
        if known is None:
            known = self._known[name] = super().apply_naming_config(name)
        return known


def build_schema(settings: Settings) -> strawberry.Schema:
    # The rules are built once, so the validation cache (keyed by them) hits across requests.
    rules: list[Any] = [
        *QueryDepthLimiter(max_depth=settings.graphql_max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.graphql_max_aliases).validation_rules,
    ]
    if not settings.graphql_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    guard_rules = tuple(rules)
    schema = CustomerSchema(
        # The TMF666 accounts' fields beside the customers' (resolvers/accounts.py).
        query=merge_types("Query", (Query, AccountQuery)),
        mutation=merge_types("Mutation", (Mutation, AccountMutation)),
        subscription=merge_types("Subscription", (Subscription, AccountSubscription)),
        config=StrawberryConfig(scalar_map=SCALAR_MAP, name_converter=KeptNames()),
        execution_context_class=MemberExecutionContext,
        extensions=[lambda: RequestGuard(settings.graphql_max_tokens, guard_rules, settings.observability)],
    )
    resolve_members_directly(schema)
    answer_prefetched_accounts(schema)
    return schema


def graphql_controller(
    settings: Settings,
    service: CustomerService,
    feed: EventFeed,
    authenticator: Authenticator,
    account_door: AccountDoor | None = None,
) -> type[Controller]:
    """POST and GET /graphql over `service`, subscriptions to `feed` over a graphql-transport-ws websocket
    on the same path; GraphiQL for browsers while introspection is on. Pages on other origins may open the
    websocket when CORS lets them call the API (`cors_origins`)."""
    context = context_getter(service, settings, feed, authenticator, account_door)
    controller = make_graphql_controller(
        build_schema(settings),
        path=GRAPHQL_PATH,
        context_getter=context,
        graphql_ide="graphiql" if settings.graphql_introspection else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.cors_origin_list,
    )

    class CustomerGraphQLController(controller):  # type: ignore[valid-type,misc]
        # Strawberry provides the sub-response (headers and cookies resolvers may set) through a thread
        # on every request; building an empty Response needs none. And the handler's dependencies form a
        # chain (response, then root value, then our context), because Litestar resolves independent ones
        # as concurrent tasks: three task spawns per request, a tenth of a small query.
        dependencies = {
            **controller.dependencies,
            "response": Provide(sub_response, sync_to_thread=False),
            "root_value": Provide(no_root_value, sync_to_thread=False),
            "custom_context": Provide(after_root_value(context)),
        }
        # The websocket's credential comes in its connection_init (resolvers/auth.py).
        graphql_transport_ws_handler_class = AuthenticatingTransportWS

        def encode_json(self, data: object) -> bytes:
            # A page encodes in a tenth of the standard library's time. (Requests are still decoded by
            # the standard library: it reads integers of any size, which validation then names.)
            return orjson.dumps(data)

        async def render_graphql_ide(self, request: Request[Any, Any, Any]) -> Response[str]:
            # Strawberry's page loads GraphiQL from a CDN; this one from the assets served here.
            return Response(graphiql_page(settings.ui_assets_dir), media_type=MediaType.HTML)

    return CustomerGraphQLController


def sub_response() -> Response[Any]:
    return Response({}, background=BackgroundTasks([]))


def no_root_value(response: Response[Any]) -> None:
    """No root value; it names `response` only to come after it (see the controller's dependencies)."""
    return None


def after_root_value(get_context: Any) -> Any:
    """The context getter, after the root value (see the controller's dependencies)."""

    async def context_after_root_value(request: ASGIConnection[Any, Any, Any, Any], root_value: None) -> Any:
        return await get_context(request)

    return context_after_root_value
