"""Validation of a TMF document on its model (pydantic-core), with errors that name the attribute path.

The model validates; the document is stored as sent (the model instance is not kept). The first problem
is reported as a domain `Invalid` naming its path (`items[0].detail`), with the count of
the others.

SQLModel builds its instances through Python (`SQLModel.__init__`, once per nested object), which would
cost more than the rules themselves; validation therefore runs on a plain pydantic mirror of each model,
derived from its fields (same annotations, constraints and config). Its core schema is then checked with
every object as a typed dict rather than a model: the same fields, aliases, constraints, strictness and
extra members, but no instance is built, with every absent member filled with its default (that was a
third of the time of validating a create).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic_core import SchemaValidator

from app.domain.errors import Invalid
from app.domain.model import TmfModel, nested_model, tmf_name, unwrap

_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
}
_BLANK = ("missing", "string_pattern_mismatch", "not_null")


def dotted(loc: tuple[int | str, ...]) -> str:
    """('items', 0, 'detail') -> 'items[0].detail'"""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _field_at(model: type[TmfModel], loc: tuple[int | str, ...]) -> FieldInfo | None:
    field: FieldInfo | None = None
    current: type[TmfModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None:
            return None
        field = next((f for n, f in current.model_fields.items() if tmf_name(n, f) == part), None)
        if field is None:
            return None
        current = nested_model(field.annotation)
    return field


def describe(model: type[TmfModel], error: Any) -> str:
    """The message of one pydantic error, in the project's words."""
    path = dotted(error["loc"])
    kind = error["type"]
    if kind in _BLANK:
        return f"'{path}' is mandatory and must not be blank"
    if error.get("input", ...) is None:
        field = _field_at(model, error["loc"])
        if field is not None and field.is_required():
            return f"'{path}' is mandatory and must not be blank"
        return f"'{path}' must not be null"
    if kind == "too_short":
        return f"'{path}' must hold at least {error['ctx']['min_length']} item(s)"
    expected = _EXPECTED.get(kind)
    if expected is not None:
        return f"'{path}' must be {expected}"
    return f"'{path}' {error['msg']}"


@cache
def _mirror(model: type[TmfModel]) -> type[BaseModel]:
    """A plain pydantic model with the fields and configuration of `model` (nested models mirrored)."""
    fields: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        annotation = field.annotation
        nested = nested_model(annotation)
        if nested is not None:
            inner = _mirror(nested)
            annotation = list[inner] if unwrap(annotation)[1] else inner  # type: ignore[valid-type]
        copy = FieldInfo.merge_field_infos(field)
        copy.annotation = annotation
        fields[name] = (Annotated[(annotation, *field.metadata)] if field.metadata else annotation, copy)
    config = {k: v for k, v in model.model_config.items() if k not in ("table", "registry")}
    return create_model(model.__name__, __config__=config, **fields)  # type: ignore[call-overload,no-any-return]


def _as_typed_dicts(schema: Any) -> Any:
    """A core schema with each model schema made a typed-dict schema of the same fields: a member with a
    default (None, for every optional member here) is simply not required."""
    if isinstance(schema, list):
        return [_as_typed_dicts(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("type") != "model":
        return {key: _as_typed_dicts(value) for key, value in schema.items()}
    fields = {}
    for name, field in schema["schema"]["fields"].items():
        inner = field["schema"]
        required = inner["type"] != "default"
        if not required:
            assert inner["default"] is None, f"{name}: only None defaults are left out"
            inner = inner["schema"]
        entry = {"type": "typed-dict-field", "schema": _as_typed_dicts(inner), "required": required}
        if "validation_alias" in field:
            entry["validation_alias"] = field["validation_alias"]
        fields[name] = entry
    # The model's config (strict, extra members allowed) goes with it: the typed dict's rules are the same.
    return {"type": "typed-dict", "fields": fields, "config": schema["config"], "ref": schema["ref"]}


@cache
def validator(model: type[TmfModel]) -> SchemaValidator:
    mirror = _mirror(model)
    return SchemaValidator(_as_typed_dicts(mirror.__pydantic_core_schema__), mirror.model_config)  # type: ignore[arg-type]


def validate(model: type[TmfModel], doc: Any) -> None:
    """Raise Invalid, naming the first offending attribute path, unless `doc` is valid for `model`."""
    try:
        validator(model).validate_python(doc)
    except ValidationError as failure:
        errors = failure.errors()
        message = describe(model, errors[0])
        others = len(errors) - 1
        if others:
            message += f" (and {others} more problem{'s' if others > 1 else ''})"
        raise Invalid(message, field=dotted(errors[0]["loc"])) from None
