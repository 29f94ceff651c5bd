"""The client side of the event contract: `POST /listener/customer*Event` accepts a valid event -> 201.

The body is validated against the event type's model (app.domain.events): a member of the wrong type,
a null, or a customer that is not a valid Customer is a 400 naming the attribute. As the v4 swagger
documents, the answer is an EventSubscription: the listener as a hub would know it, its `callback` this
endpoint's URL and its `id` the event's `eventId` (a new id when the event has none).
"""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Request, Router, post
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp

from app.domain.events import EVENT_TYPES
from app.domain.ids import new_id
from app.events.hub import accept_listener_event
from rest.wire import API_PATH, api_base, json_body, json_response


def _listener(event_type: str) -> HTTPRouteHandler:
    name = f"{event_type[0].lower()}{event_type[1:]}"

    @post(
        f"/{name}", operation_id=f"listenTo{event_type}", summary=f"Client listener for entity {event_type}"
    )
    async def listen(request: Request[Any, Any, Any]) -> ASGIApp:
        event = accept_listener_event(event_type, await json_body(request))
        event_id = event.get("eventId")
        body = {"id": event_id or new_id(), "callback": f"{api_base(request)}/listener/{name}"}
        return json_response(orjson.dumps(body), 201)

    return listen


listener_router = Router(
    path=f"{API_PATH}/listener",
    route_handlers=[_listener(event_type) for event_type in EVENT_TYPES],
    tags=["notification listeners (client side)"],
)
