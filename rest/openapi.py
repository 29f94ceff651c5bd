"""The REST OpenAPI document (OpenAPI 3.1), built from the model and the app's routes.

* Component schemas come from the TmfModel classes: the resource, its create variant and sub-resources
  (app.domain.customer, app.domain.resource), `Error` (app.domain.errors), `EventSubscription(Input)` and
  the event models (app.domain.events), so they carry the official names, types, formats, required lists
  and descriptions. Two are shaped for what the server does with them: `Customer_Update` is a JSON Merge
  Patch (RFC 7396: nothing required, `null` removes an optional member, objects merge), and
  `Customer_Projection` is what `fields` returns (only `id`, `href`, `@type` are sure to be there).
* Paths are made from the routes under the API base path: the TMF operations (`tmf_operations`, by
  operationId) get their parameters, bodies, headers and statuses here; any other route of the API (say,
  the hub's dead letters) is listed from its handler with generic bodies and the TMF errors. Routes
  outside the API base (`/health`, `/metrics`, `/graphql`) are left out: they are not TMF629, and GraphQL
  describes itself.
* `install(app)` makes the app serve this document at `{API_PATH}/docs/openapi.json` (and to every
  OpenAPI render plugin, such as the Swagger UI page). OPTIONS answers list each path's methods from the
  same routes (rest.middleware).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from litestar import Litestar
from litestar.routes import HTTPRoute
from pydantic.json_schema import models_json_schema

from app.domain.catalogue import Arr, Kind, Obj
from app.domain.errors import Error
from app.domain.events import EVENT_MODELS, EventSubscription, EventSubscriptionInput
from app.domain.resource import CUSTOMER_TYPE, ResourceType
from app.settings import Settings
from rest.wire import API_PATH

OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{model}"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"

# -- components ----------------------------------------------------------------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _clean(node: Any, members: bool = False) -> Any:
    """Drop what pydantic adds that the contract does not say: titles and `default: null` (`members`:
    `node` maps member names, which are kept whatever they are, to schemas)."""
    if isinstance(node, dict):
        return {
            key: _clean(value, members=key == "properties" and not members)
            for key, value in node.items()
            if members or (key != "title" and not (key == "default" and value is None))
        }
    if isinstance(node, list):
        return [_clean(item) for item in node]
    return node


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` or null (the merge patch's way of removing a member)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    description = schema.get("description")
    inner = {key: value for key, value in schema.items() if key != "description"}
    alternatives: dict[str, Any] = {"anyOf": [inner, {"type": "null"}]}
    return {"description": description, **alternatives} if description else alternatives


def _merge_patch(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The JSON Merge Patch form of an object schema: nothing required, the optional members nullable,
    nested objects (not array items: arrays are replaced whole) in their merge patch form too."""
    required = set(schema.get("required", ()))
    properties: dict[str, Any] = {}
    for name, member in schema.get("properties", {}).items():
        target = member.get("$ref")
        if target is not None:
            nested = _merge_patch(defs[target.rsplit("/", 1)[1]], defs)
            member = {**nested, **{k: v for k, v in member.items() if k != "$ref"}}
        properties[name] = member if name in required else _nullable(member)
    result = {key: value for key, value in schema.items() if key not in ("required", "properties")}
    return {**result, "properties": properties}


def _projection(resource: ResourceType, customer: dict[str, Any]) -> dict[str, Any]:
    """What `fields` returns: the members asked for, with the always-returned ones required."""
    always = [*resource.server_owned, *resource.defaults]
    return {
        "type": "object",
        "description": f"A {resource.name} reduced to the members named in `fields` (dotted paths keep "
        f"only those members of sub-resources); {', '.join(always)} are always returned.",
        "properties": {name: customer["properties"][name] for name in always},
        "required": always,
        "additionalProperties": True,
    }


JSON_PATCH_SCHEMAS: dict[str, Any] = {
    "JsonPatch": {
        "type": "array",
        "description": "An RFC 6902 JSON Patch: operations applied in order, atomically.",
        "items": _ref("JsonPatchOperation"),
    },
    "JsonPatchOperation": {
        "type": "object",
        "description": "One RFC 6902 operation. `value` is needed by add, replace and test; `from` by move "
        "and copy. `id` and `href` cannot be changed, nor the whole resource replaced.",
        "required": ["op", "path"],
        "properties": {
            "op": {"type": "string", "enum": ["add", "remove", "replace", "move", "copy", "test"]},
            "path": {"type": "string", "description": "A JSON Pointer (RFC 6901) into the resource"},
            "from": {"type": "string", "description": "A JSON Pointer: the source of move and copy"},
            "value": {"description": "The value of add and replace, the expected value of test"},
        },
    },
}


_COMPONENTS: dict[type[Any], dict[str, Any]] = {}


def component_schemas(resource: ResourceType = CUSTOMER_TYPE) -> dict[str, Any]:
    """Every schema of the document, by name (built once per resource: it depends on the models only)."""
    if resource.model not in _COMPONENTS:
        _COMPONENTS[resource.model] = _component_schemas(resource)
    return copy.deepcopy(_COMPONENTS[resource.model])


def _component_schemas(resource: ResourceType) -> dict[str, Any]:
    models = [resource.model, resource.create, Error, EventSubscription, EventSubscriptionInput]
    models += list(EVENT_MODELS.values())
    _, top = models_json_schema([(m, "validation") for m in models], by_alias=True, ref_template=REF)
    schemas: dict[str, Any] = _clean(top["$defs"])
    update = _clean(resource.update.model_json_schema(by_alias=True, ref_template=REF))
    update.pop("$defs", None)
    create = schemas[resource.create.__name__]
    merge = _merge_patch({**update, "required": create.get("required", [])}, schemas)
    merge["description"] = (
        f"A JSON Merge Patch (RFC 7396) of a {resource.name}: only the members that change; `null` "
        "removes an optional member, objects merge, arrays are replaced whole. The result must be a "
        f"valid {resource.name}."
    )
    schemas[resource.update.__name__] = merge
    schemas[f"{resource.name}_Projection"] = _projection(resource, schemas[resource.name])
    return {**schemas, **copy.deepcopy(JSON_PATCH_SCHEMAS)}


# -- operations ----------------------------------------------------------------------------------

ERROR_STATUSES = {
    400: "Bad Request: the body, a parameter or a filter is invalid (`message` names it)",
    401: "Unauthorized: credentials are required (when the server requires them)",
    403: "Forbidden: the credentials do not allow this operation",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large: the body is over the server's limit",
    429: "Too Many Requests (when the server limits rates)",
    500: "Internal Server Error",
    503: "Service Unavailable: the database cannot be reached; retry after `Retry-After` seconds",
}
OPERATION_ERRORS = {
    "retrieveCustomer": {304: None},
    "patchCustomer": {
        412: "Precondition Failed: `If-Match` does not match the current ETag; nothing changed",
        415: "Unsupported Media Type: not one of the three PATCH media types",
    },
    "deleteCustomer": {412: "Precondition Failed: `If-Match` does not match the current ETag"},
}


def _paths(node: Obj, prefix: str = "") -> list[tuple[str, Kind, bool]]:
    """(dotted path, kind, whether it crosses an array) of every scalar attribute of a catalogue."""
    found: list[tuple[str, Kind, bool]] = []
    for name, member in node.members.items():
        path = f"{prefix}{name}"
        inner = member.item if isinstance(member, Arr) else member
        if isinstance(inner, Obj):
            found += [(p, k, a or isinstance(member, Arr)) for p, k, a in _paths(inner, f"{path}.")]
        else:
            found.append((path, inner, False))
    return found


def filter_syntax(resource: ResourceType) -> str:
    """The TMF630 filter syntax, with examples taken from the resource's own attributes."""
    kinds = {path: (kind, across) for path, kind, across in _paths(resource.catalogue)}
    indexed = [".".join(path) for path in resource.columns if len(path) > 1]
    nested = next((p for p in indexed if kinds[p][0] is Kind.STRING), "id")
    across = next((p for p, (k, a) in kinds.items() if a and k is Kind.STRING and "@" not in p), nested)
    instant = next((p for p in indexed if kinds[p][0] is Kind.DATETIME), nested)
    return f"""
Every query parameter but `fields`, `offset`, `limit` and `sort` is a filter (TMF630):

* `attr=value` is equality; `attr=v1,v2` or a repeated `attr` is OR; several criteria are ANDed;
* dotted paths reach into sub-resources: `{nested}=500`, `{across}=x`; on arrays a criterion matches
  when any element does;
* operators as suffixes: `.eq`, `.ne`, `.gt`, `.gte`, `.lt`, `.lte` (`{instant}.gte=2024-01-01T00:00:00Z`);
  values compare by the attribute's type (date-times as instants, integers as numbers, booleans as
  booleans); a missing attribute matches no criterion;
* `sort=name,-{instant}`: `-` sorts descending; the default order is creation order.

An unknown attribute or operator, or a malformed value, is a 400 naming the parameter.
""".strip()


def _header(description: str, schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"description": description, "required": required, "schema": schema}


ETAG = _header("The version of the resource: give it back in If-Match / If-None-Match", {"type": "string"})
LOCATION = _header("The URL of the new resource (its `href`)", {"type": "string", "format": "uri"})
COUNTS = {
    "X-Total-Count": _header("Number of items matching the filter", {"type": "integer", "minimum": 0}),
    "X-Result-Count": _header("Number of items in this body", {"type": "integer", "minimum": 0}),
}
LINK = _header(
    "RFC 8288 links (first, prev, next, last) to the other pages, when the body holds only part of the "
    "matches",
    {"type": "string"},
    required=False,
)


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema}}


def _response(description: str, schema: dict[str, Any] | None = None, **headers: Any) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if headers:
        response["headers"] = {name.replace("_", "-"): header for name, header in headers.items()}
    if schema is not None:
        response["content"] = _json(schema)
    return response


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
    }


def _links(*operation_ids: str) -> dict[str, Any]:
    """OpenAPI links from a created resource to the operations on it (the stateful tests follow them)."""
    return {
        operation_id[0].upper() + operation_id[1:]: {
            "operationId": operation_id,
            "parameters": {"id": "$response.body#/id"},
        }
        for operation_id in operation_ids
    }


def tmf_operations(resource: ResourceType = CUSTOMER_TYPE) -> dict[str, dict[str, Any]]:
    """The described operations by operationId: what the route handlers do not say themselves."""
    name = resource.name
    one = _ref(name)
    read = {"anyOf": [one, _ref(f"{name}_Projection")]}
    fields = _parameter(
        "fields",
        "query",
        "Comma-separated attributes to return (dotted paths into sub-resources); id, href and @type are "
        "always returned",
        {"type": "string"},
    )
    if_match = _parameter(
        "If-Match",
        "header",
        "Only if the resource's ETag is one of these (or `*`): 412 otherwise",
        {"type": "string"},
    )
    error_free = {"description": "Identifier of the " + name, "schema": {"type": "string"}}
    identifier = {"name": "id", "in": "path", "required": True, **error_free}
    patch_body = {
        "description": f"The changes to the {name}",
        "required": True,
        "content": {
            MERGE_PATCH: {"schema": _ref(resource.update.__name__)},
            JSON: {"schema": _ref(resource.update.__name__)},
            JSON_PATCH: {"schema": _ref("JsonPatch")},
        },
    }
    subscription = _ref("EventSubscription")
    operations: dict[str, dict[str, Any]] = {
        f"list{name}": {
            "description": f"This operation lists or finds {name} entities.\n\n{filter_syntax(resource)}",
            "parameters": [
                fields,
                _parameter(
                    "offset",
                    "query",
                    "Index of the first item to return (default 0)",
                    {"type": "integer", "minimum": 0},
                ),
                _parameter(
                    "limit",
                    "query",
                    "Number of items to return (the server's default page size when absent; capped to its "
                    "maximum)",
                    {"type": "integer", "minimum": 1},
                ),
                _parameter(
                    "sort",
                    "query",
                    "Attributes to sort by; `-` before one for descending order",
                    {"type": "string"},
                ),
            ],
            "responses": {
                200: _response(
                    "Success: every match, or (when neither `limit` nor `offset` was sent) the default page "
                    "with a `next` link",
                    {"type": "array", "items": read},
                    **COUNTS,
                    Link=LINK,
                ),
                206: _response(
                    "Partial Content: the client asked for a page (`limit` or `offset`) and the body holds "
                    "only part of the matches",
                    {"type": "array", "items": read},
                    **COUNTS,
                    Link={**LINK, "required": True},
                ),
            },
        },
        f"create{name}": {
            "description": f"This operation creates a {name} entity.",
            "requestBody": {
                "description": f"The {name} to be created",
                "required": True,
                "content": _json(_ref(resource.create.__name__)),
            },
            "responses": {
                201: {
                    **_response("Created", one, Location=LOCATION, ETag=ETAG),
                    "links": _links(f"retrieve{name}", f"patch{name}", f"delete{name}"),
                }
            },
        },
        f"retrieve{name}": {
            "description": f"This operation retrieves a {name} entity. Attribute selection is enabled.",
            "parameters": [
                identifier,
                fields,
                _parameter(
                    "If-None-Match",
                    "header",
                    "304 without a body when the resource's ETag is one of these (or `*`)",
                    {"type": "string"},
                ),
            ],
            "responses": {
                200: _response("Success", read, ETag=ETAG),
                304: _response("Not Modified: the ETag given in If-None-Match is current", None, ETag=ETAG),
            },
        },
        f"patch{name}": {
            "description": f"This operation updates partially a {name} entity: JSON Merge Patch "
            "(`application/merge-patch+json`, or `application/json`) or JSON Patch "
            "(`application/json-patch+json`). The result is validated as a whole; a failed JSON Patch "
            "`test` is a 409.",
            "parameters": [identifier, if_match],
            "requestBody": patch_body,
            "responses": {200: _response("Updated", one, ETag=ETAG)},
        },
        f"delete{name}": {
            "description": f"This operation deletes a {name} entity.",
            "parameters": [identifier, if_match],
            "responses": {204: _response("Deleted")},
        },
        "registerListener": {
            "description": "Sets the communication endpoint address the service instance must use to "
            "deliver information about its health state, execution state, failures and metrics. The "
            "`query` takes `eventType=...` and the filters of the list operation.",
            "requestBody": {
                "description": "Data containing the callback endpoint to deliver the information",
                "required": True,
                "content": _json(_ref("EventSubscriptionInput")),
            },
            "responses": {
                201: {
                    **_response("Subscribed", subscription, Location=LOCATION),
                    "links": _links("retrieveListener", "unregisterListener"),
                }
            },
        },
        "retrieveListener": {
            "description": "The registered listener.",
            "parameters": [{**identifier, "description": "The id of the registered listener"}],
            "responses": {200: _response("Success", subscription)},
        },
        "unregisterListener": {
            "description": "Resets the communication endpoint address the service instance must use to "
            "deliver information about its health state, execution state, failures and metrics.",
            "parameters": [{**identifier, "description": "The id of the registered listener"}],
            "responses": {204: _response("Deleted")},
        },
    }
    for event_type in EVENT_MODELS:
        operations[f"listenTo{event_type}"] = {
            "description": f"Example of a client listener for receiving the notification {event_type}. "
            "The body is validated against the event schema.",
            "requestBody": {
                "description": "The event data",
                "required": True,
                "content": _json(_ref(event_type)),
            },
            "responses": {201: _response("Notified", subscription)},
        }
    return operations


def _errors(operation_id: str | None) -> dict[int, Any]:
    extra = OPERATION_ERRORS.get(operation_id or "", {})
    statuses = {**ERROR_STATUSES, **{s: d for s, d in extra.items() if d is not None}}
    return {status: _response(text, _ref("Error")) for status, text in statuses.items()}


def _generic(handler: Any, method: str) -> dict[str, Any]:
    """An operation of the API that `tmf_operations` does not describe, from what its handler says."""
    status = handler.status_code
    operation: dict[str, Any] = {
        "responses": {status: _response("Success", None if status == 204 else {})},
    }
    if handler.description or handler.fn.__doc__:
        operation["description"] = handler.description or handler.fn.__doc__.strip()
    reads_body = {"data", "request"} & set(handler.parsed_fn_signature.parameters)
    if method in ("POST", "PUT", "PATCH") and reads_body:
        operation["requestBody"] = {"required": False, "content": _json({})}
    return operation


def _link_sub_resources(paths: dict[str, dict[str, Any]], described: set[str]) -> None:
    """Link what a create answers to the other routes below the created resource (say, the hub's dead
    letters below `/hub/{subscription_id}`), so that clients and the stateful tests can reach them."""
    for path, item in paths.items():
        for operation in item.values():
            created = operation["responses"].get("201", {})
            if "links" not in created:
                continue
            for other_path, other_item in paths.items():
                head = re.match(rf"^{re.escape(path)}/\{{([^}}]+)\}}/", other_path)
                if head is None:
                    continue
                for other in other_item.values():
                    if other.get("operationId") and other["operationId"] not in described:
                        name = other["operationId"][0].upper() + other["operationId"][1:]
                        created["links"][name] = {
                            "operationId": other["operationId"],
                            "parameters": {head.group(1): "$response.body#/id"},
                        }


# -- the document --------------------------------------------------------------------------------


def _doc_path(route: HTTPRoute, described: bool) -> str:
    path = route.path_format[len(API_PATH) :] or "/"
    # The TMF operations on one resource name its identifier `id`, as the official swagger does.
    return re.sub(r"\{[^}]+\}$", "{id}", path) if described else path


def api_routes(app: Litestar) -> list[HTTPRoute]:
    return [
        route
        for route in app.routes
        if isinstance(route, HTTPRoute) and route.path_format.startswith(f"{API_PATH}/")
    ]


SECURITY_SCHEMES = {
    "api-key": (
        "apiKey",
        {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An API key (`tmf629 apikey`)",
        },
    ),
    "jwt": (
        "bearer",
        {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A JWT of the identity provider",
        },
    ),
}


def _security(settings: Settings | None) -> dict[str, Any]:
    """The credentials the server asks for (TMF629_AUTH), any one of them: nothing when auth is off."""
    methods = [
        SECURITY_SCHEMES[m] for m in (settings.auth_methods if settings else ()) if m in SECURITY_SCHEMES
    ]
    if not methods:
        return {}
    return {"security": [{name: []} for name, _ in methods], "securitySchemes": dict(methods)}


def build_document(
    app: Litestar, settings: Settings | None = None, resource: ResourceType = CUSTOMER_TYPE
) -> dict[str, Any]:
    """The whole OpenAPI document of `app`'s TMF API (with the credentials `settings` require)."""
    described = tmf_operations(resource)
    paths: dict[str, dict[str, Any]] = {}
    tags: dict[str, None] = {}
    for route in api_routes(app):
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
                path = _doc_path(route, spec is not None)
                if spec is None:
                    params = re.findall(r"\{([^}]+)\}", path)
                    if params:
                        head["parameters"] = [
                            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                            for p in params
                        ]
                paths.setdefault(path, {})[method.lower()] = {**head, **operation}
    _link_sub_resources(paths, set(described))
    config = app.openapi_config
    info = {
        "title": config.title if config else "TMF629 Customer Management",
        "version": config.version if config else "4.0.0",
        "description": "TMF629 Customer Management v4 (TM Forum), with the TMF630 query language, "
        "JSON Merge Patch and JSON Patch, ETags and the event hub. Every error has the `Error` body.",
    }
    security = _security(settings)
    components: dict[str, Any] = {"schemas": component_schemas(resource)}
    if security:
        components["securitySchemes"] = security["securitySchemes"]
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": info,
        "servers": [{"url": API_PATH}],
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": components,
    }
    if security:
        document["security"] = security["security"]
    return document


def install(app: Litestar, settings: Settings | None = None) -> None:
    """Serve `build_document(app, settings)` as the app's OpenAPI document."""
    from litestar._openapi.plugin import OpenAPIPlugin  # the document is the plugin's to serve

    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = build_document(app, settings)  # noqa: SLF001 - what every render plugin is given
