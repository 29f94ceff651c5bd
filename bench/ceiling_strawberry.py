"""The GraphQL ceiling: a bare Strawberry schema on Litestar answering from memory.

`customer(id)`, and `customers(first, after)`: a page of customers with their nested objects, its total
(TMF629_BENCH_CUSTOMERS, as many as the service holds) and its page info. ParserCache and ValidationCache
installed, async resolvers building typed objects from dicts, the same field names as the service's
schema; no database. Serve with
`uvicorn bench.ceiling_strawberry:app --loop uvloop --http httptools --no-access-log`.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import strawberry
from litestar import Litestar
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.litestar import make_graphql_controller
from strawberry.scalars import JSON

from bench.data import API_PATH, customer_body

_DOCUMENT = {**customer_body(0), "@type": "Customer"}
_PAGE_DOCUMENTS = [
    (f"customer-{index}", {**customer_body(index), "@type": "Customer"}) for index in range(1000)
]


@strawberry.type
class RelatedParty:
    id: strawberry.ID
    name: str | None
    role: str | None
    referred_type: str

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RelatedParty:
        return cls(
            id=strawberry.ID(doc["id"]),
            name=doc.get("name"),
            role=doc.get("role"),
            referred_type=doc["@referredType"],
        )


@strawberry.type
class MediumCharacteristic:
    email_address: str | None
    phone_number: str | None
    street1: str | None
    city: str | None
    post_code: str | None
    country: str | None


@strawberry.type
class ContactMedium:
    medium_type: str
    preferred: bool | None
    characteristic: MediumCharacteristic


@strawberry.type
class Characteristic:
    name: str
    value_type: str | None
    value: JSON


@strawberry.type
class TimePeriod:
    start_date_time: str | None
    end_date_time: str | None


@strawberry.type
class Customer:
    id: strawberry.ID
    href: str
    name: str
    status: str | None
    status_reason: str | None
    engaged_party: RelatedParty
    contact_medium: list[ContactMedium]
    characteristic: list[Characteristic]
    valid_for: TimePeriod | None

    @classmethod
    def from_doc(cls, customer_id: str, href: str, doc: dict[str, Any]) -> Customer:
        valid_for = doc.get("validFor")
        return cls(
            id=strawberry.ID(customer_id),
            href=href,
            name=doc["name"],
            status=doc.get("status"),
            status_reason=doc.get("statusReason"),
            engaged_party=RelatedParty.from_doc(doc["engagedParty"]),
            contact_medium=[
                ContactMedium(
                    medium_type=m["mediumType"],
                    preferred=m.get("preferred"),
                    characteristic=MediumCharacteristic(
                        email_address=m["characteristic"].get("emailAddress"),
                        phone_number=m["characteristic"].get("phoneNumber"),
                        street1=m["characteristic"].get("street1"),
                        city=m["characteristic"].get("city"),
                        post_code=m["characteristic"].get("postCode"),
                        country=m["characteristic"].get("country"),
                    ),
                )
                for m in doc.get("contactMedium", [])
            ],
            characteristic=[
                Characteristic(name=c["name"], value_type=c.get("valueType"), value=c["value"])
                for c in doc.get("characteristic", [])
            ],
            valid_for=TimePeriod(
                start_date_time=valid_for.get("startDateTime"), end_date_time=valid_for.get("endDateTime")
            )
            if valid_for
            else None,
        )


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class CustomerEdge:
    cursor: str
    node: Customer


@strawberry.type
class CustomerConnection:
    total_count: int
    page_info: PageInfo
    edges: list[CustomerEdge]

    @strawberry.field
    def nodes(self) -> list[Customer]:
        return [edge.node for edge in self.edges]


def _cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


@strawberry.type
class Query:
    @strawberry.field
    async def customer(self, id: strawberry.ID) -> Customer | None:
        href = f"http://127.0.0.1{API_PATH}/customer/{id}"
        return Customer.from_doc(str(id), href, _DOCUMENT)

    @strawberry.field
    async def customers(self, first: int = 100, after: str | None = None) -> CustomerConnection:
        offset = int(base64.b64decode(after).decode().split(":")[1]) + 1 if after else 0
        total = int(os.environ.get("TMF629_BENCH_CUSTOMERS", "10000"))
        page = _PAGE_DOCUMENTS[offset : min(offset + first, total)]
        edges = [
            CustomerEdge(
                cursor=_cursor(offset + index),
                node=Customer.from_doc(cid, f"http://127.0.0.1{API_PATH}/customer/{cid}", doc),
            )
            for index, (cid, doc) in enumerate(page)
        ]
        info = PageInfo(
            has_next_page=offset + len(edges) < total,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return CustomerConnection(total_count=total, page_info=info, edges=edges)


schema = strawberry.Schema(query=Query, extensions=[ParserCache(maxsize=None), ValidationCache(maxsize=None)])
GraphQLController = make_graphql_controller(schema, path="/graphql", graphql_ide=None)
app = Litestar(route_handlers=[GraphQLController], logging_config=None, debug=False)
