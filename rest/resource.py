"""REST for any registered resource: `resource_router(service)` is the list/retrieve/create/patch/delete
of one TMF resource, `api_routers(...)` a whole API (its resources, hub and listeners).

The wire rules are the customer's (rest.customer): TMF630 query parameters, `fields`, 206 only for a page
the client asked for, `Link`, `X-Total-Count`/`X-Result-Count`, PATCH media types, ETags. Operation ids
are the TMF specification's (`listBillingAccount`, `retrieveBillingAccount`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from litestar import Request, Router, delete, get, patch, post
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from app.domain.ids import new_id
from app.domain.patch import PatchFormat
from app.domain.tmf666 import Api
from app.events.hub import HubService
from app.query.evaluate import project
from app.query.model import CustomerQuery, parse_rest_query
from app.resources import ResourceRecord, ResourceService, accept_event
from rest.wire import (
    RestQueries,
    api_base,
    header,
    json_body,
    json_response,
    not_modified,
    page_response,
    query_params,
    settings_of,
)


def resource_bytes(record: ResourceRecord, base: str, query: CustomerQuery | None = None) -> bytes:
    """The wire form as JSON bytes; without a projection the stored text is spliced, not re-encoded."""
    if query is not None and query.fields is not None:
        return orjson.dumps(project(record.resource(base), query.fields))
    head = b'{"id":' + orjson.dumps(record.id) + b',"href":' + orjson.dumps(record.href(base)) + b","
    return head + record.doc_json[1:].encode()


def _capitalised(name: str) -> str:
    return name[0].upper() + name[1:]


def resource_router(service: ResourceService) -> Router:
    """The five operations of the service's resource, at `<api path>/<resource name>`."""
    api_path = service.api.path
    name = service.kind
    title = _capitalised(name)
    resource_type = service.type
    queries = RestQueries(resource_type)

    def base_of(request: Request[Any, Any, Any]) -> str:
        return api_base(request, api_path)

    def parse(request: Request[Any, Any, Any], params: Sequence[tuple[str, str]]) -> CustomerQuery:
        settings = settings_of(request)
        return parse_rest_query(
            params, default_limit=settings.default_limit, max_limit=settings.max_limit, resource=resource_type
        )

    @get(operation_id=f"list{title}", summary=f"List or find {title} objects")
    async def list_resource(request: Request[Any, Any, Any]) -> ASGIApp:
        rest = queries(request)
        query = rest.query
        page = await service.list(query)
        base = base_of(request)
        body = b"[" + b",".join(resource_bytes(r, base, query) for r in page.records) + b"]"
        return page_response(
            rest, f"{base}/{name}", body, len(page.records), page.total, page.offset, page.limit
        )

    @get("/{resource_id:str}", operation_id=f"retrieve{title}", summary=f"Retrieves a {title} by ID")
    async def retrieve_resource(request: Request[Any, Any, Any], resource_id: str) -> ASGIApp:
        params = query_params(request)
        query = parse(request, [(k, v) for k, v in params if k == "fields"]) if params else None
        record = await service.get(resource_id)
        if header(request, "if-none-match") in (record.etag, "*"):
            return not_modified(record.etag)
        return json_response(resource_bytes(record, base_of(request), query), 200, {"ETag": record.etag})

    @post(operation_id=f"create{title}", summary=f"Creates a {title}")
    async def create_resource(request: Request[Any, Any, Any]) -> ASGIApp:
        base = base_of(request)
        record = await service.create(await json_body(request), base)
        headers = {"Location": record.href(base), "ETag": record.etag}
        return json_response(resource_bytes(record, base), 201, headers)

    @patch("/{resource_id:str}", operation_id=f"patch{title}", summary=f"Updates partially a {title}")
    async def patch_resource(request: Request[Any, Any, Any], resource_id: str) -> ASGIApp:
        patch_format = PatchFormat.from_media_type(header(request, "content-type"))
        base = base_of(request)
        record = await service.patch(
            resource_id, patch_format, await json_body(request), base, header(request, "if-match")
        )
        return json_response(resource_bytes(record, base), 200, {"ETag": record.etag})

    @delete(
        "/{resource_id:str}",
        operation_id=f"delete{title}",
        summary=f"Deletes a {title}",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_resource(request: Request[Any, Any, Any], resource_id: str) -> None:
        await service.delete(resource_id, base_of(request), header(request, "if-match"))

    return Router(
        path=f"{api_path}/{name}",
        route_handlers=[list_resource, retrieve_resource, create_resource, patch_resource, delete_resource],
        tags=[name],
    )


def hub_router(api_path: str, hub: HubService) -> Router:
    """registerListener / unregisterListener on the hub of the API at `api_path`."""

    @post(operation_id="registerListener", summary="Register a listener")
    async def register_listener(request: Request[Any, Any, Any]) -> ASGIApp:
        subscription = await hub.subscribe(await json_body(request))
        base = api_base(request, api_path)
        headers = {"Location": f"{base}/hub/{subscription.id}"}
        return json_response(orjson.dumps(subscription.resource()), 201, headers)

    @get("/{subscription_id:str}", operation_id="retrieveListener", summary="Retrieve a registered listener")
    async def retrieve_listener(subscription_id: str) -> ASGIApp:
        return json_response(orjson.dumps((await hub.get(subscription_id)).resource()))

    @delete(
        "/{subscription_id:str}",
        operation_id="unregisterListener",
        summary="Unregister a listener",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def unregister_listener(subscription_id: str) -> None:
        await hub.unsubscribe(subscription_id)

    return Router(
        path=f"{api_path}/hub",
        route_handlers=[register_listener, retrieve_listener, unregister_listener],
        tags=["events subscription"],
    )


def listener_router(api: Api) -> Router:
    """The client side of the hub's contract: `/listener/<eventType>` accepts that event (201)."""

    def listener(event_type: str) -> Any:
        path = "/" + event_type[0].lower() + event_type[1:]

        @post(path, operation_id=f"listenTo{event_type}", summary=f"Client listener for {event_type}")
        async def listen(request: Request[Any, Any, Any]) -> ASGIApp:
            # As the swagger documents (and TMF629's listeners do): the answer is an EventSubscription,
            # the listener as a hub would know it, its `id` the event's `eventId`.
            event = accept_event(api, event_type, await json_body(request))
            base = api_base(request, api.path)
            event_id = event.get("eventId")
            body = {
                "id": event_id if isinstance(event_id, str) else new_id(),
                "callback": f"{base}/listener{path}",
            }
            return json_response(orjson.dumps(body), 201)

        return listen

    return Router(
        path=f"{api.path}/listener",
        route_handlers=[listener(event_type) for event_type in api.event_types()],
        tags=["notification listeners (client side)"],
    )
