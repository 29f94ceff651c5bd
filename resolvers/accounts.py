"""GraphQL over TMF666 accounts: `account`, `accounts`, the account mutations, `accountEvents`, and the
per-request loaders behind `Customer.accounts` and `Account.customers`.

Each link field is batched: every `Customer.accounts` with the same arguments in one level of a query is
one DataLoader batch, one statement (app.links), so a page of N customers with their accounts costs the
same number of statements whatever N is.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.errors import DomainError, Invalid
from app.domain.patch import PatchFormat
from app.domain.tmf666 import ACCOUNT_MANAGEMENT
from app.events.feed import EventFeed, FeedOverflow
from app.resources import get_of_kinds, list_kinds
from app.security.principal import ACCOUNT
from resolvers.account_loader import KIND_NAMES, AccountGraph
from resolvers.auth import requires
from resolvers.query import query_error
from schema.accounts import (
    ACCOUNT_FILTER_TYPE,
    CREATE_INPUTS,
    Account,
    AccountConnection,
    AccountEvent,
    AccountOrder,
    AccountPatchInput,
    AccountWhere,
    BillingAccount,
    FinancialAccount,
    PartyAccount,
    SettlementAccount,
    account_of,
    account_query,
)
from schema.payloads import NotFoundError, PreconditionFailedError, ValidationError, error_result

IF_MATCH = "The etag the change is based on; the mutation fails with PreconditionFailedError if it is stale"


@strawberry.type
class AccountQuery:
    @strawberry.field(
        description="The account (of any of the four kinds) with this id, or null when there is none",
        extensions=requires(ACCOUNT.read),
    )
    async def account(self, info: Info[Any, None], id: strawberry.ID) -> Account | None:  # type: ignore[valid-type]
        graph: AccountGraph = info.context.accounts
        record = await get_of_kinds(graph.door.store, id, KIND_NAMES)
        return None if record is None else account_of(record, graph.href_base)

    @strawberry.field(
        description="Accounts matching `where`, in `orderBy` order (then creation order)",
        extensions=requires(ACCOUNT.read),
    )
    async def accounts(
        self,
        info: Info[Any, None],
        where: AccountWhere | None = None,
        order_by: list[AccountOrder] | None = None,
        first: Annotated[int | None, strawberry.argument(description="Page size (default 100)")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The endCursor of the previous page")
        ] = None,
    ) -> AccountConnection:
        graph: AccountGraph = info.context.accounts
        settings = info.context.settings
        try:
            kinds = where.kinds() if where is not None else KIND_NAMES
            query = account_query(
                where,
                order_by,
                first,
                after,
                default_first=settings.default_limit,
                max_first=settings.graphql_max_first,
            )
            page = await list_kinds(graph.door.store, kinds, query, ACCOUNT_FILTER_TYPE)
        except DomainError as error:
            raise query_error(error) from error
        return AccountConnection.from_page(page, graph.href_base)


@strawberry.type(description="The account was deleted")
class DeletedAccount:
    id: strawberry.ID


PartyAccountCreateInput: Any = CREATE_INPUTS["partyAccount"]
BillingAccountCreateInput: Any = CREATE_INPUTS["billingAccount"]
SettlementAccountCreateInput: Any = CREATE_INPUTS["settlementAccount"]
FinancialAccountCreateInput: Any = CREATE_INPUTS["financialAccount"]
CreatePartyAccountResult = Annotated[
    PartyAccount | ValidationError, strawberry.union("CreatePartyAccountResult")
]  # type: ignore[operator]
CreateBillingAccountResult = Annotated[
    BillingAccount | ValidationError, strawberry.union("CreateBillingAccountResult")
]  # type: ignore[operator]
CreateSettlementAccountResult = Annotated[
    SettlementAccount | ValidationError, strawberry.union("CreateSettlementAccountResult")  # type: ignore[operator]
]
CreateFinancialAccountResult = Annotated[
    FinancialAccount | ValidationError, strawberry.union("CreateFinancialAccountResult")  # type: ignore[operator]
]
PatchAccountResult = Annotated[
    PartyAccount
    | BillingAccount
    | SettlementAccount
    | FinancialAccount
    | ValidationError
    | NotFoundError
    | PreconditionFailedError,  # type: ignore[operator]
    strawberry.union("PatchAccountResult"),
]
DeleteAccountResult = Annotated[
    DeletedAccount | NotFoundError | PreconditionFailedError, strawberry.union("DeleteAccountResult")
]


async def _create(info: Info[Any, None], kind: str, body: Any) -> Any:
    graph: AccountGraph = info.context.accounts
    try:
        record = await graph.door.services[kind].create(body.to_document(), graph.href_base)
    except DomainError as error:
        return error_result(error)
    return account_of(record, graph.href_base)


async def _kind_of(graph: AccountGraph, account_id: str) -> str | None:
    record = await get_of_kinds(graph.door.store, account_id, KIND_NAMES)
    return None if record is None else record.kind


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        description="Create a party account (REST: POST /partyAccount)", extensions=requires(ACCOUNT.write)
    )
    async def create_party_account(
        self,
        info: Info[Any, None],
        input: PartyAccountCreateInput,  # type: ignore[valid-type]
    ) -> CreatePartyAccountResult:
        return await _create(info, "partyAccount", input)

    @strawberry.mutation(
        description="Create a billing account (REST: POST /billingAccount)",
        extensions=requires(ACCOUNT.write),
    )
    async def create_billing_account(
        self,
        info: Info[Any, None],
        input: BillingAccountCreateInput,  # type: ignore[valid-type]
    ) -> CreateBillingAccountResult:
        return await _create(info, "billingAccount", input)

    @strawberry.mutation(
        description="Create a settlement account (REST: POST /settlementAccount)",
        extensions=requires(ACCOUNT.write),
    )
    async def create_settlement_account(
        self,
        info: Info[Any, None],
        input: SettlementAccountCreateInput,  # type: ignore[valid-type]
    ) -> CreateSettlementAccountResult:
        return await _create(info, "settlementAccount", input)

    @strawberry.mutation(
        description="Create a financial account (REST: POST /financialAccount)",
        extensions=requires(ACCOUNT.write),
    )
    async def create_financial_account(
        self,
        info: Info[Any, None],
        input: FinancialAccountCreateInput,  # type: ignore[valid-type]
    ) -> CreateFinancialAccountResult:
        return await _create(info, "financialAccount", input)

    @strawberry.mutation(
        description="Change an account of any kind by JSON Merge Patch (REST: PATCH /<kind>/{id})",
        extensions=requires(ACCOUNT.write),
    )
    async def patch_account(
        self,
        info: Info[Any, None],
        id: strawberry.ID,
        input: AccountPatchInput,  # type: ignore[valid-type]
        if_match: Annotated[str | None, strawberry.argument(description=IF_MATCH)] = None,
    ) -> PatchAccountResult:
        graph: AccountGraph = info.context.accounts
        try:
            kind = await _kind_of(graph, id)
            if kind is None:
                return NotFoundError(message=f"No account with id '{id}'")
            service = graph.door.services[kind]
            record = await service.patch(
                id, PatchFormat.MERGE, input.to_merge_patch(), graph.href_base, if_match
            )
        except DomainError as error:
            return error_result(error)
        return account_of(record, graph.href_base)

    @strawberry.mutation(
        description="Delete an account of any kind (REST: DELETE /<kind>/{id})",
        extensions=requires(ACCOUNT.write),
    )
    async def delete_account(
        self,
        info: Info[Any, None],
        id: strawberry.ID,
        if_match: Annotated[str | None, strawberry.argument(description=IF_MATCH)] = None,
    ) -> DeleteAccountResult:
        graph: AccountGraph = info.context.accounts
        try:
            kind = await _kind_of(graph, id)
            if kind is None:
                return NotFoundError(message=f"No account with id '{id}'")
            await graph.door.services[kind].delete(id, graph.href_base, if_match)
        except DomainError as error:
            return error_result(error)
        return DeletedAccount(id=id)


ACCOUNT_EVENT_TYPES = tuple(
    name for r in ACCOUNT_MANAGEMENT.resources if r.account_kind for name in r.event_types()
)


def wanted_account_event_types(event_types: Sequence[str] | None) -> frozenset[str]:
    if event_types is None:
        return frozenset(ACCOUNT_EVENT_TYPES)
    for name in event_types:
        if name not in ACCOUNT_EVENT_TYPES:
            raise query_error(
                Invalid(
                    f"unknown event type '{name}' (use {', '.join(ACCOUNT_EVENT_TYPES)})", field="eventTypes"
                )
            )
    if not event_types:
        raise query_error(
            Invalid("eventTypes is empty: leave it out to receive every type", field="eventTypes")
        )
    return frozenset(event_types)


async def account_events(feed: EventFeed, event_types: frozenset[str]) -> AsyncGenerator[AccountEvent, None]:
    async with feed.listen(event_types) as stream:
        try:
            async for event in stream:
                yield AccountEvent.from_event(event)
        except FeedOverflow as error:
            raise GraphQLError(
                f"{error}: subscribe again to receive the events from now on", extensions={"code": "OVERFLOW"}
            ) from error


@strawberry.type
class AccountSubscription:
    @strawberry.subscription(
        description="Account events (the types TMF666 names) as they are committed, from any replica",
        extensions=requires(ACCOUNT.read),
    )
    def account_events(
        self,
        info: Info[Any, None],
        event_types: Annotated[
            list[str] | None, strawberry.argument(description="Only these types; all when absent")
        ] = None,
    ) -> AsyncIterator[AccountEvent]:
        return account_events(info.context.feed, wanted_account_event_types(event_types))
