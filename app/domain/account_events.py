"""The TMF666 v4 event bodies: derived from the account models and the event types each resource's
registration names (app.domain.tmf666), with the resource under `payload` as TMF666's swagger has it.
The hub's events, the listeners' bodies and their OpenAPI schemas (rest/openapi_account.py) use them."""

from __future__ import annotations

from app.domain.events import event_model
from app.domain.model import TmfModel
from app.domain.tmf666 import ACCOUNT_MANAGEMENT

# Every event body by its event type: the listeners validate what they accept against these.
ACCOUNT_EVENT_MODELS: dict[str, type[TmfModel]] = {
    event_type: event_model(registration.model, event_type, ACCOUNT_MANAGEMENT.event_member)
    for registration in ACCOUNT_MANAGEMENT.resources
    for event_type in registration.event_types()
}
