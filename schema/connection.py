"""`customers`: ordering, cursors, and the connection of one page of customers."""

from __future__ import annotations

import base64
import binascii
import re
from enum import Enum
from typing import Any

import strawberry

from app.domain.errors import InvalidQuery
from app.domain.resource import CUSTOMER_TYPE
from app.query.model import CustomerQuery, SortKey
from app.services import CustomerPage
from schema.derive import order_enum
from schema.filters import CustomerWhere
from schema.types import Customer

CustomerOrderField: Any = order_enum(CUSTOMER_TYPE)


@strawberry.enum
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="One sort key; missing values sort last, ties keep creation order")
class CustomerOrder:
    field: CustomerOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_sort_key(self) -> SortKey:
        return SortKey(tuple(self.field.value.split(".")), self.direction is OrderDirection.DESC)


_CURSOR = re.compile(r"^offset:(\d{1,12})$")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The offset after the item of `cursor`; raises InvalidQuery naming `after`."""
    try:
        match = _CURSOR.match(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (binascii.Error, UnicodeError, ValueError):
        match = None
    if match is None:
        raise InvalidQuery(f"'after': {cursor!r} is not a cursor of this API", field="after")
    return int(match.group(1)) + 1


def customer_query(
    where: CustomerWhere | None,
    order_by: list[CustomerOrder] | None,
    first: int | None,
    after: str | None,
    *,
    default_first: int,
    max_first: int,
) -> CustomerQuery:
    """The query model of the `customers` arguments; raises InvalidQuery."""
    if first is not None and not 0 <= first <= max_first:
        raise InvalidQuery(f"'first' must be between 0 and {max_first}", field="first")
    return CustomerQuery(
        filter=where.to_filter() if where is not None else None,
        fields=None,
        sort=tuple(order.to_sort_key() for order in order_by or ()),
        offset=decode_cursor(after) if after is not None else 0,
        limit=min(default_first, max_first) if first is None else first,
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


@strawberry.type(description="A page of customers in order, and how many match in all")
class CustomerConnection:
    total_count: int = strawberry.field(description="Customers matching `where`, in all pages")
    page_info: PageInfo
    edges: list[CustomerEdge]

    @strawberry.field(description="The customers of this page (the nodes of `edges`)")
    def nodes(self) -> list[Customer]:
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: CustomerPage, href_base: str) -> CustomerConnection:
        edges = [
            CustomerEdge(
                cursor=encode_cursor(page.offset + index), node=Customer.from_model(record, href_base)
            )
            for index, record in enumerate(page.records)
        ]
        info = PageInfo(
            has_next_page=page.offset + len(edges) < page.total,
            has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(total_count=page.total, page_info=info, edges=edges)
