"""The TMF629 v4 /customer resource."""

from __future__ import annotations

from typing import Any

import orjson
from litestar import Request, Router, delete, get, patch, post
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp

from app.domain.patch import PatchFormat
from app.query.evaluate import project
from app.query.model import CustomerQuery, parse_rest_query
from app.services import CustomerRecord, CustomerService, customer_href
from rest.wire import (
    API_PATH,
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


def customer_bytes(record: CustomerRecord, base: str, fields: CustomerQuery | None = None) -> bytes:
    """The wire form as JSON bytes; without a projection the stored text is spliced, not re-encoded."""
    if fields is not None and fields.fields is not None:
        return orjson.dumps(project(record.resource(base), fields.fields))
    head = (
        b'{"id":'
        + orjson.dumps(record.id)
        + b',"href":'
        + orjson.dumps(customer_href(base, record.id))
        + b","
    )
    return head + record.doc_json[1:].encode()


def _single_fields(request: Request[Any, Any, Any]) -> CustomerQuery | None:
    params = query_params(request)
    if not params:
        return None
    settings = settings_of(request)
    return parse_rest_query(
        [(k, v) for k, v in params if k == "fields"],
        default_limit=settings.default_limit,
        max_limit=settings.max_limit,
    )


def customer_router(service: CustomerService) -> Router:
    """The five operations of /customer over `service` (bound here, not injected per request)."""
    queries = RestQueries()

    @get(operation_id="listCustomer", summary="List or find Customer objects")
    async def list_customer(request: Request[Any, Any, Any]) -> ASGIApp:
        rest = queries(request)
        query = rest.query
        base = api_base(request)
        # Without a projection the database may write the items as they go on the wire.
        page = await service.list(query, base if query.fields is None else None)
        if page.wire is not None:
            body = page.wire
        else:
            body = b"[" + b",".join([customer_bytes(r, base, query) for r in page.records]) + b"]"
        return page_response(
            rest,
            f"{base}/customer",
            body,
            page.count,
            page.total,
            page.offset,
            page.limit,
        )

    @get("/{customer_id:str}", operation_id="retrieveCustomer", summary="Retrieve a Customer by id")
    async def retrieve_customer(request: Request[Any, Any, Any], customer_id: str) -> ASGIApp:
        fields = _single_fields(request)
        record = await service.get(customer_id)
        if header(request, "if-none-match") in (record.etag, "*"):
            return not_modified(record.etag)
        return json_response(customer_bytes(record, api_base(request), fields), 200, {"ETag": record.etag})

    @post(operation_id="createCustomer", summary="Create a Customer")
    async def create_customer(request: Request[Any, Any, Any]) -> ASGIApp:
        base = api_base(request)
        record = await service.create(await json_body(request), base)
        headers = {"Location": customer_href(base, record.id), "ETag": record.etag}
        return json_response(customer_bytes(record, base), 201, headers)

    @patch("/{customer_id:str}", operation_id="patchCustomer", summary="Update partially a Customer")
    async def patch_customer(request: Request[Any, Any, Any], customer_id: str) -> ASGIApp:
        patch_format = PatchFormat.from_media_type(header(request, "content-type"))
        base = api_base(request)
        record = await service.patch(
            customer_id, patch_format, await json_body(request), base, header(request, "if-match")
        )
        return json_response(customer_bytes(record, base), 200, {"ETag": record.etag})

    @delete(
        "/{customer_id:str}",
        operation_id="deleteCustomer",
        summary="Delete a Customer",
        status_code=HTTP_204_NO_CONTENT,
    )
    async def delete_customer(request: Request[Any, Any, Any], customer_id: str) -> None:
        await service.delete(customer_id, api_base(request), header(request, "if-match"))

    return Router(
        path=f"{API_PATH}/customer",
        route_handlers=[list_customer, retrieve_customer, create_customer, patch_customer, delete_customer],
        tags=["customer"],
    )
