"""HubController: TMF629 v4 event subscriptions (registerListener / unregisterListener)."""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Controller, Request, delete, get, post
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from app.events.hub import HubService
from rest.wire import API_PATH, api_base, json_body, json_response


class HubController(Controller):
    path = f"{API_PATH}/hub"
    tags = ["events subscription"]

    @post(operation_id="registerListener", summary="Register a listener")
    async def register_listener(self, request: Request[Any, Any, Any], hub_service: HubService) -> ASGIApp:
        subscription = await hub_service.subscribe(await json_body(request))
        location = f"{api_base(request)}/hub/{subscription.id}"
        return json_response(orjson.dumps(subscription.resource()), 201, {"Location": location})

    @get("/{subscription_id:str}", operation_id="retrieveListener", summary="Retrieve a registered listener")
    async def retrieve_listener(self, subscription_id: str, hub_service: HubService) -> ASGIApp:
        subscription = await hub_service.get(subscription_id)
        return json_response(orjson.dumps(subscription.resource()))

    @delete(
        "/{subscription_id:str}",
        operation_id="unregisterListener",
        summary="Unregister a listener",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unregister_listener(self, subscription_id: str, hub_service: HubService) -> None:
        await hub_service.unsubscribe(subscription_id)
