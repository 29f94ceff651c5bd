"""The TMF629 event types: what a change of a customer is called on the hub and in subscriptions."""

from __future__ import annotations

CREATE_EVENT = "CustomerCreateEvent"
CHANGE_EVENT = "CustomerAttributeValueChangeEvent"
STATE_EVENT = "CustomerStateChangeEvent"
DELETE_EVENT = "CustomerDeleteEvent"
EVENT_TYPES = (CREATE_EVENT, CHANGE_EVENT, STATE_EVENT, DELETE_EVENT)
