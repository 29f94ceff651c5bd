"""Mutation results: the success type or a typed error, as a union per mutation."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.domain.errors import DomainError, Invalid, NotFound, PreconditionFailed
from schema.types import Customer


@strawberry.interface(description="An expected failure of a mutation; nothing was changed")
class Error:
    message: str


@strawberry.type(description="The input breaks a rule of the Customer resource")
class ValidationError(Error):
    field: str | None = strawberry.field(
        description="The offending attribute path in GraphQL names, e.g. items[0].kind"
    )


@strawberry.type(description="There is no customer with this id")
class NotFoundError(Error):
    pass


@strawberry.type(description="`ifMatch` does not match the customer's current etag")
class PreconditionFailedError(Error):
    pass


@strawberry.type(description="The customer was deleted")
class DeletedCustomer:
    id: strawberry.ID


CreateCustomerResult = Annotated[Customer | ValidationError, strawberry.union("CreateCustomerResult")]
PatchCustomerResult = Annotated[
    Customer | ValidationError | NotFoundError | PreconditionFailedError,
    strawberry.union("PatchCustomerResult"),
]
DeleteCustomerResult = Annotated[
    DeletedCustomer | NotFoundError | PreconditionFailedError, strawberry.union("DeleteCustomerResult")
]


def graphql_path(field: str | None) -> str | None:
    """A TMF attribute path in GraphQL names: `party.@kind` -> `party.kind`."""
    return None if field is None else field.replace("@", "")


def error_result(error: DomainError) -> ValidationError | NotFoundError | PreconditionFailedError:
    """The typed error of an expected failure; anything else is unexpected and raised again."""
    if isinstance(error, Invalid):
        return ValidationError(message=error.message, field=graphql_path(error.field))
    if isinstance(error, NotFound):
        return NotFoundError(message=error.message)
    if isinstance(error, PreconditionFailed):
        return PreconditionFailedError(message=error.message)
    raise error
