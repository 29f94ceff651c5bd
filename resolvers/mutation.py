"""Mutations: each calls one CustomerService write (one transaction) and answers a result union."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from app.domain.errors import DomainError
from app.domain.patch import PatchFormat
from app.security.principal import CUSTOMER
from resolvers.auth import requires
from resolvers.context import GraphQLContext
from schema.inputs import CustomerCreateInput, CustomerPatchInput
from schema.payloads import (
    CreateCustomerResult,
    DeleteCustomerResult,
    DeletedCustomer,
    PatchCustomerResult,
    error_result,
)
from schema.types import Customer

IF_MATCH = "The etag the change is based on; the mutation fails with PreconditionFailedError if it is stale"


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Create a customer (REST: POST /customer)", extensions=requires(CUSTOMER.write)
    )
    async def create_customer(
        self, info: Info[GraphQLContext, None], input: CustomerCreateInput
    ) -> CreateCustomerResult:
        context = info.context
        try:
            record = await context.service.create(input.to_document(), context.href_base)
        except DomainError as error:
            return error_result(error)
        return Customer.from_model(record, context.href_base)

    @strawberry.mutation(
        description="Change a customer by JSON Merge Patch (REST: PATCH /customer/{id})",
        extensions=requires(CUSTOMER.write),
    )
    async def patch_customer(
        self,
        info: Info[GraphQLContext, None],
        id: strawberry.ID,
        input: CustomerPatchInput,
        if_match: Annotated[str | None, strawberry.argument(description=IF_MATCH)] = None,
    ) -> PatchCustomerResult:
        context = info.context
        try:
            patch = input.to_merge_patch()
            record = await context.service.patch(id, PatchFormat.MERGE, patch, context.href_base, if_match)
        except DomainError as error:
            return error_result(error)
        return Customer.from_model(record, context.href_base)

    @strawberry.mutation(
        description="Delete a customer (REST: DELETE /customer/{id})", extensions=requires(CUSTOMER.write)
    )
    async def delete_customer(
        self,
        info: Info[GraphQLContext, None],
        id: strawberry.ID,
        if_match: Annotated[str | None, strawberry.argument(description=IF_MATCH)] = None,
    ) -> DeleteCustomerResult:
        context = info.context
        try:
            await context.service.delete(id, context.href_base, if_match)
        except DomainError as error:
            return error_result(error)
        return DeletedCustomer(id=id)
