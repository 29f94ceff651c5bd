"""The attribute catalogue of a resource, derived from its model: what the query language, field
projection and hub filters know of the resource (member names, value kinds, arrays, indexed columns)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from pydantic import WithJsonSchema

from app.domain.model import Indexed, TmfModel, markers, nested_model, tmf_name, unwrap


class Kind(Enum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    ANY = "any"


@dataclass(frozen=True)
class Obj:
    """An object with named members (its model, when it has one)."""

    members: dict[str, Kind | Obj | Arr]
    model: type[TmfModel] | None = None


@dataclass(frozen=True)
class Arr:
    item: Obj


Node = Kind | Obj | Arr

_SCALARS = {str: Kind.STRING, int: Kind.INTEGER, float: Kind.NUMBER, bool: Kind.BOOLEAN}


def kind_of(annotation: Any, metadata: list[Any]) -> Kind:
    """The value kind of a scalar field: date-times and any-JSON values are told by their JSON schema."""
    for item in metadata:
        if isinstance(item, WithJsonSchema) and item.json_schema is not None:
            if item.json_schema.get("format") == "date-time":
                return Kind.DATETIME
            if item.json_schema == {}:
                return Kind.ANY
    kind = _SCALARS.get(annotation)
    if kind is None:
        raise TypeError(f"no query kind for {annotation!r}")
    return kind


def catalogue(model: type[TmfModel]) -> Obj:
    """The members of `model` by TMF name, with their kinds, nested objects and arrays."""
    members: dict[str, Node] = {}
    for name, field in model.model_fields.items():
        inner, is_list = unwrap(field.annotation)
        nested = nested_model(field.annotation)
        node: Node = catalogue(nested) if nested is not None else kind_of(inner, field.metadata)
        members[tmf_name(name, field)] = Arr(node) if is_list and isinstance(node, Obj) else node
    return Obj(members, model)


def indexed(model: type[TmfModel]) -> dict[tuple[str, ...], str]:
    """Attribute path -> the indexed column that also holds its value."""
    return {
        (tmf_name(name, field), *marker.path): marker.column
        for name, field in model.model_fields.items()
        for marker in markers(field, Indexed)
    }
