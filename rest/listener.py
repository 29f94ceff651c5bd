"""ListenerController: the client side of the event contract, `/listener/customer*Event` -> 201."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post

from app.events import accept_listener_event
from rest.wire import API_PATH, json_body

TAGS = ["notification listeners (client side)"]


async def _accept(request: Request[Any, Any, Any], event_type: str) -> Response[bytes]:
    accept_listener_event(event_type, await json_body(request))
    return Response(content=b"", status_code=201)


class ListenerController(Controller):
    path = f"{API_PATH}/listener"
    tags = TAGS

    @post(
        "/customerCreateEvent",
        operation_id="listenToCustomerCreateEvent",
        summary="Client listener for CustomerCreateEvent",
    )
    async def create_event(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _accept(request, "CustomerCreateEvent")

    @post(
        "/customerAttributeValueChangeEvent",
        operation_id="listenToCustomerAttributeValueChangeEvent",
        summary="Client listener for CustomerAttributeValueChangeEvent",
    )
    async def attribute_value_change_event(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _accept(request, "CustomerAttributeValueChangeEvent")

    @post(
        "/customerStateChangeEvent",
        operation_id="listenToCustomerStateChangeEvent",
        summary="Client listener for CustomerStateChangeEvent",
    )
    async def state_change_event(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _accept(request, "CustomerStateChangeEvent")

    @post(
        "/customerDeleteEvent",
        operation_id="listenToCustomerDeleteEvent",
        summary="Client listener for CustomerDeleteEvent",
    )
    async def delete_event(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        return await _accept(request, "CustomerDeleteEvent")
