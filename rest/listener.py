"""The client side of the event contract: `POST /listener/customer*Event` accepts an event -> 201."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, post
from litestar.handlers import HTTPRouteHandler

from app.domain.events import EVENT_TYPES
from app.events.hub import accept_listener_event
from rest.wire import API_PATH, json_body


def _listener(event_type: str) -> HTTPRouteHandler:
    @post(
        f"/{event_type[0].lower()}{event_type[1:]}",
        operation_id=f"listenTo{event_type}",
        summary=f"Client listener for {event_type}",
    )
    async def listen(request: Request[Any, Any, Any]) -> Response[bytes]:
        accept_listener_event(event_type, await json_body(request))
        return Response(content=b"", status_code=201)

    return listen


listener_router = Router(
    path=f"{API_PATH}/listener",
    route_handlers=[_listener(event_type) for event_type in EVENT_TYPES],
    tags=["notification listeners (client side)"],
)
