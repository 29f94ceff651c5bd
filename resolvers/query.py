"""Query: `customer(id)` and `customers(where, orderBy, first, after)`."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.errors import DomainError, Invalid
from app.security.principal import ACCOUNT, CUSTOMER
from resolvers.account_loader import accounts_selected
from resolvers.auth import requires
from resolvers.context import GraphQLContext
from schema.connection import CustomerConnection, CustomerOrder, customer_query
from schema.filters import CustomerWhere
from schema.payloads import graphql_path
from schema.types import Customer


def query_error(error: DomainError) -> GraphQLError:
    """A refused query argument as a GraphQL error with `extensions.code` (and `field`)."""
    extensions: dict[str, object] = {"code": error.code}
    if isinstance(error, Invalid) and error.field is not None:
        extensions["field"] = graphql_path(error.field)
    return GraphQLError(error.message, extensions=extensions)


def is_lone_root_field(info: Info[GraphQLContext, None]) -> bool:
    """Whether the operation selects this one field at its root (no alias, no fragment beside it)."""
    return len(info.operation.selection_set.selections) == 1 and len(info.path.as_list()) == 1


@strawberry.type
class Query:
    @strawberry.field(
        description="The customer with this id, or null when there is none",
        extensions=requires(CUSTOMER.read),
    )
    async def customer(self, info: Info[GraphQLContext, None], id: strawberry.ID) -> Customer | None:
        record = await info.context.customer_loader.load(id, alone=is_lone_root_field(info))
        return None if record is None else Customer.from_model(record, info.context.href_base)

    @strawberry.field(
        description="Customers matching `where`, in `orderBy` order (then creation order)",
        extensions=requires(CUSTOMER.read),
    )
    async def customers(
        self,
        info: Info[GraphQLContext, None],
        where: CustomerWhere | None = None,
        order_by: list[CustomerOrder] | None = None,
        first: Annotated[int | None, strawberry.argument(description="Page size (default 100)")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page")
        ] = None,
    ) -> CustomerConnection:
        context = info.context
        settings = context.settings
        try:
            query = customer_query(
                where,
                order_by,
                first,
                after,
                default_first=settings.default_limit,
                max_first=settings.graphql_max_first,
            )
            page = await context.service.list(query)
        except DomainError as error:
            raise query_error(error) from error
        if context.accounts is not None and page.records and context.principal.allows(ACCOUNT.read):
            firsts = accounts_selected(info.selected_fields[0])
            if firsts:
                await context.accounts.prefetch_accounts([r.id for r in page.records], firsts)
        return CustomerConnection.from_page(page, context.href_base)
