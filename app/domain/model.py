"""The toolkit a TMF resource is described with: one SQLModel class per resource and sub-resource.

A resource is written once, as `TmfModel` classes (app.domain.customer). Field names are the TMF member
names; the `@` members are Python names with their TMF name as alias (`type_` is `@type`). Each field
carries the description of the official swagger. A field without a default is required; an optional field
defaults to None but is typed without None, so an explicit `null` is refused: a member is either given
with a value or left out. Members the model does not name are allowed and kept (`extra="allow"`).

Markers in `Annotated[...]` metadata (ignored by pydantic) say what the storage and the doors derive:

* `Indexed(column, *path)`: the value (at `path` below the field) is also kept in an indexed column;
* `ServerOwned()`: set by the server, refused in a create or update body (`id`, `href`);
* `RequiredOnCreate()`: optional in the resource as the official schema says, but required by the
  contract in a create body and in the result of every write (`name`);
* `Lifecycle()`: the state attribute: a change of it is also a `...StateChangeEvent`;
* `Defaulted(value)`: filled in by the server when absent (`@type`), so always present in answers;
* `Linked(id, type)`: the items of the array (their `id` and `type` members) are also kept in a link
  table, so that links resolve by index in both directions (an account's parties);
* `NotPatchable()`: left out of the update body (the official `_Update` omits it): a patch may not set it;
* `Stamped()`: set by the server to the time of every write, a value sent is replaced (`lastModified`).

Everything else is derived from the classes: the create and update variants (`create_variant`,
`update_variant`), validation (app.domain.validation), the query catalogue (app.domain.catalogue), the
REST OpenAPI schemas (rest.openapi), the Strawberry types, inputs and filters (schema.derive) and the
event payloads (app.domain.events).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, get_args, get_origin

from pydantic import AfterValidator, ConfigDict, StringConstraints, WithJsonSchema
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from sqlmodel import SQLModel


class TmfModel(SQLModel):
    """A TMF resource or sub-resource: strict types, aliases for the `@` members, extra members kept."""

    model_config = ConfigDict(  # type: ignore[assignment]
        extra="allow", strict=True, validate_by_alias=True, validate_by_name=False, serialize_by_alias=True
    )
    # The GraphQL names of the derived output type, input type and filter, when they differ from the
    # class name (two sub-resources of one shape may share an input, as they did before the model).
    graphql_name: ClassVar[str | None] = None
    graphql_input_name: ClassVar[str | None] = None
    graphql_where_name: ClassVar[str | None] = None


# -- markers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indexed:
    column: str
    path: tuple[str, ...] = ()

    def __init__(self, column: str, *path: str) -> None:
        object.__setattr__(self, "column", column)
        object.__setattr__(self, "path", path)


@dataclass(frozen=True)
class ServerOwned:
    pass


@dataclass(frozen=True)
class RequiredOnCreate:
    pass


@dataclass(frozen=True)
class Lifecycle:
    pass


@dataclass(frozen=True)
class Defaulted:
    value: Any


@dataclass(frozen=True)
class Stamped:
    pass


@dataclass(frozen=True)
class NotPatchable:
    pass


@dataclass(frozen=True)
class Linked:
    id: str
    type: str


def markers(field: FieldInfo, kind: type) -> list[Any]:
    return [item for item in field.metadata if isinstance(item, kind)]


# -- value types ---------------------------------------------------------------------------------

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def parse_datetime(text: str) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime, or None when `text` is not one."""
    if not _RFC3339.match(text):
        return None
    head, sep, frac = text.partition(".")
    if sep:
        digits = re.match(r"\d+", frac)
        assert digits is not None
        frac = frac[: digits.end()][:6].ljust(6, "0") + frac[digits.end() :]
        text = f"{head}.{frac}"
    try:
        value = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
        value.astimezone(UTC)  # an instant before year 1 or after 9999 in UTC has no place in time order
    except (ValueError, OverflowError):
        return None
    return value


def instant_key(value: datetime) -> str:
    """A text form of an instant whose lexical order is its time order (UTC, fixed width)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _rfc3339(text: str) -> str:
    if parse_datetime(text) is None:
        raise PydanticCustomError("rfc3339", "must be an RFC 3339 date-time, e.g. 2024-01-31T12:00:00Z")
    return text


def _not_null(value: Any) -> Any:
    if value is None:
        raise PydanticCustomError("not_null", "is mandatory and must not be blank")
    return value


def _uri(text: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$", text):
        raise PydanticCustomError("uri", "must be an absolute URI, e.g. https://example.org/schema.json")
    return text


# Text kept exactly as sent: a date-time stays the client's text, compared as an instant in queries.
DateTimeText = Annotated[
    str, AfterValidator(_rfc3339), WithJsonSchema({"type": "string", "format": "date-time"})
]
# A string that must hold something other than white space (required members).
NonBlank = Annotated[str, StringConstraints(pattern=r"\S")]
# An absolute URI (a schema location).
Uri = Annotated[str, AfterValidator(_uri), WithJsonSchema({"type": "string", "format": "uri"})]
# A number as the official schemas type amounts (`number`, format `float`).
Float = Annotated[float, WithJsonSchema({"type": "number", "format": "float"})]
# Any JSON value but null (a characteristic's value).
AnyValue = Annotated[Any, AfterValidator(_not_null), WithJsonSchema({})]


# -- fields of a model ---------------------------------------------------------------------------


def tmf_name(name: str, field: FieldInfo) -> str:
    return field.alias or name


def unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the item or value type, whether it is a list) of a field annotation."""
    if get_origin(annotation) is list:
        return get_args(annotation)[0], True
    return annotation, False


def nested_model(annotation: Any) -> type[TmfModel] | None:
    inner, _ = unwrap(annotation)
    return inner if isinstance(inner, type) and issubclass(inner, TmfModel) else None


def server_owned(model: type[TmfModel]) -> tuple[str, ...]:
    return tuple(tmf_name(n, f) for n, f in model.model_fields.items() if markers(f, ServerOwned))


def lifecycle_attribute(model: type[TmfModel]) -> str | None:
    return next((tmf_name(n, f) for n, f in model.model_fields.items() if markers(f, Lifecycle)), None)


def linked(model: type[TmfModel]) -> tuple[str, Linked] | None:
    """(the attribute, its marker) of the model's linked array, if it has one."""
    return next(
        ((tmf_name(n, f), m) for n, f in model.model_fields.items() for m in markers(f, Linked)), None
    )


def not_patchable(model: type[TmfModel]) -> tuple[str, ...]:
    return tuple(tmf_name(n, f) for n, f in model.model_fields.items() if markers(f, NotPatchable))


def stamped(model: type[TmfModel]) -> tuple[str, ...]:
    return tuple(tmf_name(n, f) for n, f in model.model_fields.items() if markers(f, Stamped))


def defaults(model: type[TmfModel]) -> dict[str, Any]:
    return {tmf_name(n, f): m.value for n, f in model.model_fields.items() for m in markers(f, Defaulted)}


# -- variants ------------------------------------------------------------------------------------


def _variant(model: type[TmfModel], suffix: str, required: bool | None) -> type[TmfModel]:
    """`model` less its server-owned members; `required` True adds the RequiredOnCreate members to the
    required ones, None keeps the required members as they are, False makes every member optional."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {"__module__": model.__module__, "__doc__": model.__doc__}
    for name, field in model.model_fields.items():
        if markers(field, ServerOwned) or (required is False and markers(field, NotPatchable)):
            continue
        field = FieldInfo.merge_field_infos(field)
        if required and markers(field, RequiredOnCreate):
            field.default = ...
        elif required is False and field.is_required():
            field.default = None
        annotations[name] = (
            Annotated[(field.annotation, *field.metadata)] if field.metadata else field.annotation
        )
        field.metadata = []
        namespace[name] = field
    namespace["__annotations__"] = annotations
    return type(f"{model.__name__}_{suffix}", (TmfModel,), namespace)


def create_variant(model: type[TmfModel]) -> type[TmfModel]:
    """The body of a create (`Customer_Create`): no server-owned members; the contract's required ones."""
    return _variant(model, "Create", required=True)


def update_variant(model: type[TmfModel]) -> type[TmfModel]:
    """The body of a merge patch (`Customer_Update`): no server-owned members, nothing required."""
    return _variant(model, "Update", required=False)
