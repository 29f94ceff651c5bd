"""The TMF629 events: their type names, and the models of the event bodies and hub subscriptions.

The event type names and the event models are derived from the resource model: `<Resource><Kind>Event`
for each kind, with an `event` payload holding the resource under its camelCase name. The notification
envelope (`Notification`) is the one of the TMF v4 swaggers; as there, an attribute value change event
carries `fieldPath` where the others carry the `id` and `href` of the resource. Nothing is required in
an event (the official schemas require nothing), but every member given must have its type, and the
resource in the payload is validated as the resource model. These models feed the listener endpoints'
validation (app.events.hub) and the REST OpenAPI document (rest.openapi).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Field

from app.domain.customer import Customer
from app.domain.model import DateTimeText, TmfModel

EVENT_KINDS = ("CreateEvent", "AttributeValueChangeEvent", "StateChangeEvent", "DeleteEvent")


def event_types(resource: type[TmfModel]) -> tuple[str, ...]:
    """The event type names of a resource: `CustomerCreateEvent`, ..."""
    return tuple(f"{resource.__name__}{kind}" for kind in EVENT_KINDS)


EVENT_TYPES = event_types(Customer)
CREATE_EVENT, CHANGE_EVENT, STATE_EVENT, DELETE_EVENT = EVENT_TYPES


class Notification(TmfModel):
    """The notification data structure"""

    eventId: str = Field(default=None, description="The identifier of the notification.")
    eventTime: DateTimeText = Field(default=None, description="Time of the event occurrence.")
    eventType: str = Field(default=None, description="The type of the notification.")
    correlationId: str = Field(default=None, description="The correlation id for this event.")
    domain: str = Field(default=None, description="The domain of the event.")
    title: str = Field(default=None, description="The title of the event.")
    description: str = Field(default=None, description="An explanatory of the event.")
    priority: str = Field(default=None, description="A priority.")
    timeOcurred: DateTimeText = Field(default=None, description="The time the event occured.")


class ResourceNotification(Notification):
    """The notification data structure"""

    id: str = Field(default=None, description="Identifier of the resource involved in the event")
    href: str = Field(default=None, description="Reference of the resource involved in the event")


class AttributeValueChangeNotification(Notification):
    """The notification data structure"""

    fieldPath: str = Field(
        default=None, description="The path identifying the object field concerned by this notification."
    )


def _model(name: str, base: type[TmfModel], doc: str, fields: dict[str, tuple[Any, Any]]) -> type[TmfModel]:
    namespace: dict[str, Any] = {"__module__": __name__, "__doc__": doc, "__annotations__": {}}
    for member, (annotation, field) in fields.items():
        namespace["__annotations__"][member] = annotation
        namespace[member] = field
    return type(name, (base,), namespace)


def event_model(resource: type[TmfModel], event_type: str, carrier: str = "event") -> type[TmfModel]:
    """The body of one event type: the envelope and `<carrier>: {<resource>: <the resource model>}`
    (TMF629 names the carrier `event`, TMF666 `payload`)."""
    member = resource.__name__[0].lower() + resource.__name__[1:]
    payload = _model(
        f"{event_type}Payload",
        TmfModel,
        "The event data structure",
        {member: (resource, Field(default=None, description="The involved resource data for the event"))},
    )
    base = (
        AttributeValueChangeNotification
        if event_type.endswith("AttributeValueChangeEvent")
        else ResourceNotification
    )
    return _model(
        event_type,
        base,
        "The notification data structure",
        {
            carrier: (
                payload,
                Field(default=None, description="The event payload linked to the involved resource object"),
            )
        },
    )


EVENT_MODELS: dict[str, type[TmfModel]] = {name: event_model(Customer, name) for name in EVENT_TYPES}


class EventSubscriptionInput(TmfModel):
    """Sets the communication endpoint address the service instance must use to deliver notification
    information"""

    callback: str = Field(description="The callback being registered.")
    query: str = Field(default=None, description="additional data to be passed")


class EventSubscription(EventSubscriptionInput):
    """Sets the communication endpoint address the service instance must use to deliver notification
    information"""

    id: str = Field(description="Id of the listener")
