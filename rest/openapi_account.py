"""The TMF666 OpenAPI document (OpenAPI 3.1), built from the registered models and the app's routes with
the builder of the customer document (rest.openapi), served at `<TMF666 base>/docs/openapi.json`.

* Component schemas: every registered resource, its create variant and its merge patch (`_Update`, which
  requires nothing), `Error`, `EventSubscription(Input)` and the TMF666 event bodies
  (app.domain.account_events), with the official names, members, types, required lists and descriptions.
* Paths: the routes under the TMF666 base path, each TMF operation (`listBillingAccount`...) described
  as the customer ones are (paging, headers, PATCH media types, ETags, the TMF errors).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from litestar import Litestar, Request, Router, get
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp
from pydantic.json_schema import models_json_schema

from app.domain.account_events import ACCOUNT_EVENT_MODELS
from app.domain.errors import Error
from app.domain.events import EVENT_MODELS, EventSubscription, EventSubscriptionInput
from app.domain.tmf666 import Api
from app.settings import Settings
from rest.openapi import (
    ERROR_STATUSES,
    JSON_PATCH_SCHEMAS,
    OPENAPI_VERSION,
    REF,
    _clean,
    _generic,
    _json,
    _merge_patch,
    _projection,
    _ref,
    _response,
    _security,
    tmf_operations,
)
from rest.wire import json_response


def account_component_schemas(api: Api) -> dict[str, Any]:
    models: list[Any] = []
    for registration in api.resources:
        models += [registration.type.model, registration.type.create]
    models += [Error, EventSubscription, EventSubscriptionInput, *ACCOUNT_EVENT_MODELS.values()]
    _, top = models_json_schema([(m, "validation") for m in models], by_alias=True, ref_template=REF)
    schemas: dict[str, Any] = _clean(top["$defs"])
    for registration in api.resources:
        resource = registration.type
        update = _clean(resource.update.model_json_schema(by_alias=True, ref_template=REF))
        update.pop("$defs", None)
        merge = _merge_patch(
            {**update, "required": schemas[resource.create.__name__].get("required", [])}, schemas
        )
        merge["description"] = (
            f"A JSON Merge Patch (RFC 7396) of a {resource.name}: only the members that change; `null` "
            "removes an optional member, objects merge, arrays are replaced whole. The result must be a "
            f"valid {resource.name}."
        )
        schemas[resource.update.__name__] = merge
        schemas[f"{resource.name}_Projection"] = _projection(resource, schemas[resource.name])
    return {**schemas, **copy.deepcopy(JSON_PATCH_SCHEMAS)}


def account_operations(api: Api) -> dict[str, dict[str, Any]]:
    """The described operations by operationId: each resource's five, the hub's and the listeners'."""
    operations: dict[str, dict[str, Any]] = {}
    for registration in api.resources:
        described = tmf_operations(registration.type)
        operations.update({k: v for k, v in described.items() if not k.startswith("listenTo")})
    subscription = _ref("EventSubscription")
    for event_type in api.event_types():
        operations[f"listenTo{event_type}"] = {
            "description": f"Example of a client listener for receiving the notification {event_type}.",
            "requestBody": {
                "description": "The event data",
                "required": True,
                "content": _json(_ref(event_type)),
            },
            "responses": {201: _response("Notified", subscription)},
        }
    return operations


def _errors(operation_id: str | None) -> dict[int, Any]:
    statuses = dict(ERROR_STATUSES)
    if operation_id and operation_id.startswith("patch"):
        statuses[412] = "Precondition Failed: `If-Match` does not match the current ETag; nothing changed"
        statuses[415] = "Unsupported Media Type: not one of the three PATCH media types"
    if operation_id and operation_id.startswith("delete"):
        statuses[412] = "Precondition Failed: `If-Match` does not match the current ETag"
    return {status: _response(text, _ref("Error")) for status, text in statuses.items()}


def build_account_document(app: Litestar, api: Api, settings: Settings | None = None) -> dict[str, Any]:
    """The OpenAPI document of `api` as `app` serves it."""
    described = account_operations(api)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    routes = [r for r in app.routes if isinstance(r, HTTPRoute) and r.path_format.startswith(f"{api.path}/")]
    for route in routes:
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            for method in sorted(handler.http_methods):
                operation_id = handler.operation_id if isinstance(handler.operation_id, str) else None
                spec = described.get(operation_id or "")
                operation = copy.deepcopy(spec) if spec is not None else _generic(handler, method)
                operation["responses"] = {
                    str(status): value
                    for status, value in {**operation["responses"], **_errors(operation_id)}.items()
                }
                head: dict[str, Any] = {}
                handler_tags = handler.resolve_tags()
                if handler_tags:
                    head["tags"] = handler_tags
                    tags.update(dict.fromkeys(handler_tags))
                if handler.summary:
                    head["summary"] = handler.summary
                if operation_id:
                    head["operationId"] = operation_id
                path = route.path_format[len(api.path) :]
                path = re.sub(r"\{[^}]+\}$", "{id}", path) if spec is not None else path
                paths.setdefault(path, {})[method.lower()] = {**head, **operation}
    security = _security(settings)
    components: dict[str, Any] = {"schemas": account_component_schemas(api)}
    if security:
        components["securitySchemes"] = security["securitySchemes"]
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "TMF666 Account Management",
            "version": "4.0.0",
            "description": "TMF666 Account Management v4 (TM Forum) over the same store as TMF629, with the "
            "TMF630 query language, JSON Merge Patch and JSON Patch, ETags and the event hub. Every error "
            "has the `Error` body.",
        },
        "servers": [{"url": api.path}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": components,
    }
    if security:
        document["security"] = security["security"]
    # The customer document's event schemas are TMF629's; none of them belongs here.
    assert not set(EVENT_MODELS) & set(components["schemas"])
    return document


def account_docs_router(api: Api) -> Router:
    """`GET <api>/docs/openapi.json`, built once from the app's routes at the first request."""
    built: dict[str, bytes] = {}

    @get("/openapi.json", include_in_schema=False, operation_id=f"{api.name}OpenAPI")
    async def openapi_document(request: Request[Any, Any, Any]) -> ASGIApp:
        if "document" not in built:
            import orjson

            settings: Settings = request.app.state.settings
            built["document"] = orjson.dumps(build_account_document(request.app, api, settings))
        return json_response(built["document"])

    return Router(path=f"{api.path}/docs", route_handlers=[openapi_document])
