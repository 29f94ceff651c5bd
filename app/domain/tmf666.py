"""The TMF666 Account Management API as registrations: each resource is its model plus this entry.

A `Registration` names a resource on the wire (`billingAccount`: the collection path, the member of an
event's payload, the `kind` of its rows) and the events the official swagger names for it. Everything
else (storage, REST, hub filters, GraphQL) is generic machinery that reads these entries: adding a
resource to an API is a model in app.domain.account and one line here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.account import (
    BillFormat,
    BillingAccount,
    BillingCycleSpecification,
    BillPresentationMedia,
    FinancialAccount,
    PartyAccount,
    SettlementAccount,
)
from app.domain.model import TmfModel
from app.domain.resource import ResourceType

CREATE, CHANGE, STATE, DELETE = "Create", "AttributeValueChange", "StateChange", "Delete"


@dataclass(frozen=True)
class Registration:
    """One resource of an API: its wire name, its model, the events it emits and, for the accounts, the
    GraphQL `AccountKind` it is listed under."""

    name: str
    model: type[TmfModel]
    events: tuple[str, ...] = ()  # of CREATE, CHANGE, STATE, DELETE
    account_kind: str | None = None
    type: ResourceType = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", ResourceType(self.model))

    @property
    def title(self) -> str:
        """`BillingAccount`: the model's name, the `@type` default and the stem of event types."""
        return self.model.__name__

    def event_type(self, change: str) -> str | None:
        """`BillingAccountStateChangeEvent`, or None when the swagger names no such event."""
        return f"{self.title}{change}Event" if change in self.events else None

    def event_types(self) -> tuple[str, ...]:
        return tuple(f"{self.title}{change}Event" for change in self.events)


@dataclass(frozen=True)
class Api:
    """A TMF API served from the shared store: its base path and its resources."""

    name: str
    path: str
    resources: tuple[Registration, ...]
    # The member of an event body that carries the resource (TMF666's swagger: `payload`).
    event_member: str = "payload"

    def resource(self, name: str) -> Registration:
        return next(r for r in self.resources if r.name == name)

    def event_types(self) -> tuple[str, ...]:
        return tuple(name for r in self.resources for name in r.event_types())

    def registration_of_event(self, event_type: str) -> Registration | None:
        return next((r for r in self.resources if event_type in r.event_types()), None)


ACCOUNT_MANAGEMENT = Api(
    name="accountManagement",
    path="/tmf-api/accountManagement/v4",
    resources=(
        Registration("partyAccount", PartyAccount, (CHANGE, STATE), account_kind="PARTY"),
        Registration("billingAccount", BillingAccount, (CHANGE, STATE), account_kind="BILLING"),
        Registration("settlementAccount", SettlementAccount, (CHANGE, STATE), account_kind="SETTLEMENT"),
        Registration(
            "financialAccount", FinancialAccount, (CREATE, CHANGE, STATE, DELETE), account_kind="FINANCIAL"
        ),
        Registration("billingCycleSpecification", BillingCycleSpecification),
        Registration("billFormat", BillFormat),
        Registration("billPresentationMedia", BillPresentationMedia),
    ),
)
ACCOUNT_KINDS = {r.account_kind: r.name for r in ACCOUNT_MANAGEMENT.resources if r.account_kind}
