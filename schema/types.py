"""The resource as GraphQL output types, derived from its model (app.domain.customer).

Every attribute is a field, camelCase, with the TMF `@` members named without their `@` (`type`).
Members a client sent that the model does not name come back in
`extensions`. Values are returned as stored: what the client sent comes back unchanged.
"""

from __future__ import annotations

from typing import Any, Self

import strawberry

from app.domain.resource import CUSTOMER_TYPE
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

Customer: Any = output_type(CUSTOMER_TYPE.model, top=True, bases=(_FromRecord,), extra=_ETAG)
