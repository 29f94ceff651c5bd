"""Dead letters of a hub subscription: list, replay one or all, delete (operations, not in TMF629)."""

from __future__ import annotations

import orjson
from litestar import Controller, delete, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from app.events.deadletter import DeadLetterService
from rest.wire import API_PATH, json_response


class DeadLetterController(Controller):
    path = f"{API_PATH}/hub/{{subscription_id:str}}/deadLetter"
    tags = ["events subscription"]

    @get(operation_id="listDeadLetter", summary="List the dead deliveries of a listener")
    async def list_dead_letters(
        self, subscription_id: str, dead_letter_service: DeadLetterService
    ) -> ASGIApp:
        return json_response(orjson.dumps(await dead_letter_service.list(subscription_id)))

    @post(
        "/replay",
        operation_id="replayAllDeadLetter",
        summary="Deliver every dead letter again",
        status_code=HTTP_200_OK,  # what it answers, and what the OpenAPI document says (rest.openapi)
    )
    async def replay_all(self, subscription_id: str, dead_letter_service: DeadLetterService) -> ASGIApp:
        replayed = await dead_letter_service.replay(subscription_id)
        return json_response(orjson.dumps({"replayed": replayed}))

    @post(
        "/{delivery_id:str}/replay",
        operation_id="replayDeadLetter",
        summary="Deliver a dead letter again",
        status_code=HTTP_200_OK,
    )
    async def replay_one(
        self, subscription_id: str, delivery_id: str, dead_letter_service: DeadLetterService
    ) -> ASGIApp:
        replayed = await dead_letter_service.replay(subscription_id, delivery_id)
        return json_response(orjson.dumps({"replayed": replayed}))

    @delete(
        "/{delivery_id:str}",
        operation_id="deleteDeadLetter",
        summary="Delete a dead letter",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_dead_letter(
        self, subscription_id: str, delivery_id: str, dead_letter_service: DeadLetterService
    ) -> None:
        await dead_letter_service.delete(subscription_id, delivery_id)
