"""The TMF666 v4 event bodies and their payloads, as the official swagger describes them (generated once
from TMF666-Account-v4.0.0.swagger.json, like app.domain.account): the hub's events, the listeners'
bodies, and their OpenAPI schemas (rest/openapi_account.py)."""

from __future__ import annotations

from sqlmodel import Field

from app.domain.account import BillingAccount, FinancialAccount, PartyAccount, SettlementAccount
from app.domain.model import DateTimeText, TmfModel


class PartyAccountAttributeValueChangeEventPayload(TmfModel):
    """The event data structure"""

    partyAccount: PartyAccount = Field(default=None, description="The involved resource data for the event")


class PartyAccountStateChangeEventPayload(TmfModel):
    """The event data structure"""

    partyAccount: PartyAccount = Field(default=None, description="The involved resource data for the event")


class BillingAccountAttributeValueChangeEventPayload(TmfModel):
    """The event data structure"""

    billingAccount: BillingAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class BillingAccountStateChangeEventPayload(TmfModel):
    """The event data structure"""

    billingAccount: BillingAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class SettlementAccountAttributeValueChangeEventPayload(TmfModel):
    """The event data structure"""

    settlementAccount: SettlementAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class SettlementAccountStateChangeEventPayload(TmfModel):
    """The event data structure"""

    settlementAccount: SettlementAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class FinancialAccountCreateEventPayload(TmfModel):
    """The event data structure"""

    financialAccount: FinancialAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class FinancialAccountAttributeValueChangeEventPayload(TmfModel):
    """The event data structure"""

    financialAccount: FinancialAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class FinancialAccountStateChangeEventPayload(TmfModel):
    """The event data structure"""

    financialAccount: FinancialAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class FinancialAccountDeleteEventPayload(TmfModel):
    """The event data structure"""

    financialAccount: FinancialAccount = Field(
        default=None, description="The involved resource data for the event"
    )


class PartyAccountAttributeValueChangeEvent(TmfModel):
    """The notification data structure"""

    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    fieldPath: str = Field(
        default=None, description="The path identifying the object field concerned by this notification."
    )
    payload: PartyAccountAttributeValueChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class PartyAccountStateChangeEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: PartyAccountStateChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class BillingAccountAttributeValueChangeEvent(TmfModel):
    """The notification data structure"""

    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    fieldPath: str = Field(
        default=None, description="The path identifying the object field concerned by this notification."
    )
    payload: BillingAccountAttributeValueChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class BillingAccountStateChangeEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: BillingAccountStateChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class SettlementAccountAttributeValueChangeEvent(TmfModel):
    """The notification data structure"""

    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    fieldPath: str = Field(
        default=None, description="The path identifying the object field concerned by this notification."
    )
    payload: SettlementAccountAttributeValueChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class SettlementAccountStateChangeEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: SettlementAccountStateChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class FinancialAccountCreateEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: FinancialAccountCreateEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class FinancialAccountAttributeValueChangeEvent(TmfModel):
    """The notification data structure"""

    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    fieldPath: str = Field(
        default=None, description="The path identifying the object field concerned by this notification."
    )
    payload: FinancialAccountAttributeValueChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class FinancialAccountStateChangeEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: FinancialAccountStateChangeEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


class FinancialAccountDeleteEvent(TmfModel):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the Process flow")
    href: str = Field(default=None, description="Reference of the ProcessFlow")
    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explnatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")
    payload: FinancialAccountDeleteEventPayload = Field(
        default=None, description="The event payload linked to the involved resource object"
    )


# Every event body by its event type: the listeners validate what they accept against these.
ACCOUNT_EVENT_MODELS: dict[str, type[TmfModel]] = {
    model.__name__: model
    for model in (
        PartyAccountAttributeValueChangeEvent,
        PartyAccountStateChangeEvent,
        BillingAccountAttributeValueChangeEvent,
        BillingAccountStateChangeEvent,
        SettlementAccountAttributeValueChangeEvent,
        SettlementAccountStateChangeEvent,
        FinancialAccountCreateEvent,
        FinancialAccountAttributeValueChangeEvent,
        FinancialAccountStateChangeEvent,
        FinancialAccountDeleteEvent,
    )
}
