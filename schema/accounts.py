"""TMF666 accounts in GraphQL, derived from their models (app.domain.account) like the Customer.

* `interface Account`: the members the four account resources share, plus `etag` and `customers`.
* `PartyAccount`, `BillingAccount`, `SettlementAccount`, `FinancialAccount`: each resource's own output
  type, implementing `Account`.
* `AccountWhere` (typed operators per attribute, `kind: [AccountKind!]`, `and`/`or`), `AccountOrder`,
  `AccountConnection`, the create inputs (`BillingAccountCreateInput`...) and `AccountPatchInput`.

A `where` on accounts names the party account's attributes (a superset of the billing and settlement
accounts' and of the financial account's): a condition on a member an account lacks does not hold for it.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, ClassVar, Self

import strawberry
from graphql import GraphQLError
from strawberry import UNSET
from strawberry.types import Info

from app.domain.account import ACCOUNT_COMMON as COMMON
from app.domain.errors import InvalidQuery
from app.domain.tmf666 import ACCOUNT_KINDS, ACCOUNT_MANAGEMENT
from app.query.model import CustomerQuery
from app.resources import ResourcePage, ResourceRecord
from app.security.principal import CUSTOMER
from schema.connection import OrderDirection, PageInfo, decode_cursor, encode_cursor
from schema.convert import from_document
from schema.derive import _value_type, input_type, members, order_enum, output_type, python_name, where_type
from schema.filters import FILTER_OF_KIND, CustomerWhere, _ToFilter
from schema.inputs import _CreateBody, _MergePatch
from schema.scalars import JSON
from schema.types import Customer

ACCOUNTS = [r for r in ACCOUNT_MANAGEMENT.resources if r.account_kind]
PARTY_ACCOUNT = ACCOUNT_MANAGEMENT.resource("partyAccount")
# The model account filters and orders are compiled on (see the module docstring).
ACCOUNT_FILTER_TYPE = PARTY_ACCOUNT.type
ALWAYS = ("id", "href", "name", "@type")

AccountKind: Any = strawberry.enum(
    Enum("AccountKind", {kind: name for kind, name in ACCOUNT_KINDS.items()}),  # type: ignore[misc]
    description="The four TMF666 account resources",
)


def forbidden_unless(info: Info[Any, Any], scope: str) -> None:
    if not info.context.principal.allows(scope):
        raise GraphQLError(
            f"This field needs the scope '{scope}', which the credential does not grant",
            extensions={"code": "FORBIDDEN"},
        )


def _resolve_type(obj: Any, info: Any, abstract_type: Any) -> str:
    """The GraphQL type of an account object: its class's (one lookup; Strawberry's default tries casts,
    generics and isinstance in turn for every account of a page)."""
    return str(type(obj).__strawberry_definition__.name)


_resolve_type.plain = True  # type: ignore[attr-defined]  # needs no resolve info (resolvers.execution)


def _interface() -> type:
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    fields = dict(members(PARTY_ACCOUNT.model))
    for member in COMMON:
        field = fields[member]
        py = python_name(member)
        value = strawberry.ID if member == "id" else _value_type(field, output_type)
        annotations[py] = value if member in ALWAYS else value | None
        namespace[py] = strawberry.field(name=member.lstrip("@"), description=field.description)
    annotations["etag"] = str
    namespace["etag"] = strawberry.field(
        description="The REST ETag of this version; give it as `ifMatch` to mutations"
    )
    annotations["extensions"] = JSON | None
    namespace["extensions"] = strawberry.field(
        default=None, description="Members the client sent that the model does not name, as sent"
    )

    async def customers(
        self: Any,
        info: Info[Any, Any],
        where: Annotated[CustomerWhere | None, strawberry.argument(name="where")] = None,
        first: Annotated[
            int | None, strawberry.argument(name="first", description="At most this many")
        ] = None,
    ) -> list[Customer]:
        forbidden_unless(info, CUSTOMER.read)
        records = await info.context.accounts.customers_of(self.id, where, first)
        return [Customer.from_model(record, info.context.href_base) for record in records]

    namespace["customers"] = strawberry.field(
        resolver=customers,
        description="The customers linked to this account (the account lists them as parties of type"
        " Customer, or they list it in their `account`), in creation order",
    )
    namespace["__annotations__"] = annotations
    namespace["resolve_type"] = staticmethod(_resolve_type)
    cls = type("Account", (), namespace)
    return strawberry.interface(cls, name="Account", description="The members every TMF666 account shares")


Account: Any = _interface()


class _FromRecord:
    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        """Whether `obj` is an account of this type: objects are built of their own class (account_of)."""
        return type(obj) is cls

    @classmethod
    def from_record(cls, record: ResourceRecord, href_base: str) -> Self:
        return from_document(
            cls, record.document, id=record.id, href=record.href(href_base), etag=record.etag
        )


_ETAG: dict[str, tuple[Any, Any]] = {
    "etag": (
        str,
        strawberry.field(description="The REST ETag of this version; give it as `ifMatch` to mutations"),
    )
}
# The financial account has no `paymentStatus` of its own; the interface's field answers its extension.
_PAYMENT_STATUS: dict[str, tuple[Any, Any]] = {
    "payment_status": (str | None, strawberry.field(name="paymentStatus", default=None))
}


def _account_type(registration: Any) -> Any:
    extra = dict(_ETAG)
    if "paymentStatus" not in dict(members(registration.model)):
        extra.update(_PAYMENT_STATUS)
    return output_type(registration.model, top=True, bases=(Account, _FromRecord), extra=extra)


ACCOUNT_TYPES: dict[str, Any] = {r.name: _account_type(r) for r in ACCOUNTS}
PartyAccount, BillingAccount, SettlementAccount, FinancialAccount = (ACCOUNT_TYPES[r.name] for r in ACCOUNTS)


def account_of(record: ResourceRecord, href_base: str) -> Any:
    """The GraphQL object of a stored account, of its own type."""
    return ACCOUNT_TYPES[record.kind].from_record(record, href_base)


# -- filters, order, connection ------------------------------------------------------------------


@strawberry.input
class _AccountKinds:
    related_fields: ClassVar[dict[str, str]] = {"customers": "customers"}

    kind: list[AccountKind] | None = strawberry.field(  # type: ignore[valid-type]
        default=UNSET,
        description="Only accounts of these kinds (at the top level of a `where`; refused inside and/or)",
    )
    customers: CustomerWhere | None = strawberry.field(
        default=UNSET, description="Some linked customer matches"
    )


class _ToAccountFilter(_ToFilter):
    filtered_resource: ClassVar[Any] = ACCOUNT_FILTER_TYPE
    not_criteria: ClassVar[tuple[str, ...]] = ("kind",)

    def kinds(self) -> tuple[str, ...]:
        """The account kinds a `where` asks for (all four when it names none)."""
        chosen = getattr(self, "kind", UNSET)
        if chosen is UNSET or chosen is None:
            return tuple(ACCOUNT_KINDS.values())
        if not chosen:
            raise InvalidQuery("'where.kind' is empty: leave it out for every kind", field="where.kind")
        return tuple(dict.fromkeys(kind.value for kind in chosen))


AccountWhere: Any = where_type(
    PARTY_ACCOUNT.model,
    FILTER_OF_KIND,
    name="AccountWhere",
    combinable=True,
    bases=(_ToAccountFilter, _AccountKinds),
)
AccountOrderField: Any = order_enum(ACCOUNT_FILTER_TYPE, name="AccountOrderField")


@strawberry.input(description="One sort key; missing values sort last, ties keep creation order")
class AccountOrder:
    field: AccountOrderField
    direction: OrderDirection = OrderDirection.ASC

    def to_sort_key(self) -> Any:
        from app.query.model import SortKey

        return SortKey(tuple(self.field.value.split(".")), self.direction is OrderDirection.DESC)


def account_query(
    where: Any,
    order_by: list[AccountOrder] | None,
    first: int | None,
    after: str | None,
    *,
    default_first: int,
    max_first: int,
) -> CustomerQuery:
    """The query model of the `accounts` arguments; raises InvalidQuery."""
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
class AccountEdge:
    cursor: str
    node: Account  # type: ignore[valid-type]


@strawberry.type(description="A page of accounts in order, and how many match in all")
class AccountConnection:
    total_count: int = strawberry.field(description="Accounts matching `where`, in all pages")
    page_info: PageInfo
    edges: list[AccountEdge]

    @strawberry.field(description="The accounts of this page (the nodes of `edges`)")
    def nodes(self) -> list[Account]:  # type: ignore[valid-type]
        return [edge.node for edge in self.edges]

    @classmethod
    def from_page(cls, page: ResourcePage, href_base: str) -> AccountConnection:
        edges = [
            AccountEdge(cursor=encode_cursor(page.offset + index), node=account_of(record, href_base))
            for index, record in enumerate(page.records)
        ]
        info = PageInfo(
            has_next_page=page.offset + len(edges) < page.total,
            has_previous_page=page.offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(total_count=page.total, page_info=info, edges=edges)


# -- inputs --------------------------------------------------------------------------------------

CREATE_INPUTS: dict[str, Any] = {
    r.name: input_type(r.type.create, name=f"{r.title}CreateInput", required=True, bases=(_CreateBody,))
    for r in ACCOUNTS
}
AccountPatchInput: Any = input_type(PARTY_ACCOUNT.type.update, name="AccountPatchInput", bases=(_MergePatch,))


@strawberry.type(description="A TMF666 account event: the account as the hub sends it")
class AccountEvent:
    event_id: strawberry.ID
    event_type: str = strawberry.field(description="One of the event types TMF666 names")
    event_time: str
    field_path: str | None = strawberry.field(
        default=None, description="The changed attribute paths, comma-separated (attribute value changes)"
    )
    kind: AccountKind  # type: ignore[valid-type]
    account: JSON = strawberry.field(description="The account after the change (before it, for a delete)")

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Self:
        ((name, resource),) = event[ACCOUNT_MANAGEMENT.event_member].items()
        return cls(
            event_id=strawberry.ID(event["eventId"]),
            event_type=event["eventType"],
            event_time=event["eventTime"],
            field_path=event.get("fieldPath"),
            kind=AccountKind(name),
            account=resource,
        )
