"""The resource as GraphQL output types, derived from its model (app.domain.customer).

Every attribute is a field, camelCase, with the TMF `@` members named without their `@` (`type`).
Members a client sent that the model does not name come back in
`extensions`. Values are returned as stored: what the client sent comes back unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Self

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from app.domain.resource import CUSTOMER_TYPE
from app.security.principal import ACCOUNT
from app.services import CustomerRecord, customer_href
from schema.convert import from_document
from schema.derive import output_type


class _FromRecord:
    @classmethod
    def from_model(cls, record: CustomerRecord, href_base: str) -> Self:
        return from_document(
            cls, record.document, id=record.id, href=customer_href(href_base, record.id), etag=record.etag
        )


_ETAG: dict[str, tuple[Any, Any]] = {
    "etag": (
        str,
        strawberry.field(description="The REST ETag of this version; give it as `ifMatch` to mutations"),
    )
}


@strawberry.type
class _LinkedAccounts:
    @strawberry.field(
        description="The customer's TMF666 accounts: those its `account` lists and those that list it as a"
        " party of type Customer, in creation order"
    )
    async def accounts(
        self,
        info: Info[Any, Any],
        # Named explicitly: Strawberry camel-cases an unnamed argument's name on every call of the field.
        where: Annotated[
            Annotated["AccountWhere", strawberry.lazy("schema.accounts")] | None,  # noqa: F821, UP037
            strawberry.argument(name="where"),
        ] = None,
        first: Annotated[
            int | None, strawberry.argument(name="first", description="At most this many")
        ] = None,
    ) -> list[Annotated["Account", strawberry.lazy("schema.accounts")]]:  # noqa: F821, UP037
        if not info.context.principal.allows(ACCOUNT.read):
            raise GraphQLError(
                f"This field needs the scope '{ACCOUNT.read}', which the credential does not grant",
                extensions={"code": "FORBIDDEN"},
            )
        found: list[Any] = await info.context.accounts.accounts_of(self.id, where, first)  # type: ignore[attr-defined]
        return found


Customer: Any = output_type(CUSTOMER_TYPE.model, top=True, bases=(_FromRecord, _LinkedAccounts), extra=_ETAG)
