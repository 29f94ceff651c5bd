"""Between Strawberry objects and TMF JSON documents, field by field.

Each derived type (schema.derive) maps its Python field names to TMF member names in `__tmf_members__`
(`date_of_birth` -> `dateOfBirth`, `type_` -> `@type`). Members a type does not name travel in its
`extensions` field (a JSON object). Each type's plan is worked out once from its Strawberry definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.types.base import StrawberryList, StrawberryOptional, has_object_definition
from strawberry.types.unset import UnsetType

from app.domain.errors import Invalid

T = TypeVar("T")

EXTENSIONS = "extensions"
DOCUMENT = "_document"  # where a resource object keeps its TMF document (its `extensions` are read from it)


@dataclass(frozen=True)
class Member:
    python: str
    tmf: str
    nested: type | None  # the Strawberry object or input type of an object member or of array items
    is_list: bool


@dataclass(frozen=True)
class Plan:
    members: tuple[Member, ...]
    known: frozenset[str]
    extensible: bool
    by_tmf: dict[str, Member]  # the members by TMF name
    # The members whose class has no None of its own, set to None: an object's fields before its values.
    absent: dict[str, None]


_PLANS: dict[type, Plan] = {}
_NOT_SET = object()


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(annotation, StrawberryOptional | StrawberryList):
        is_list = is_list or isinstance(annotation, StrawberryList)
        annotation = annotation.of_type
    return annotation, is_list


def plan(cls: type) -> Plan:
    """The members of a Strawberry type whose fields are plain data (fields with resolvers are skipped)."""
    found = _PLANS.get(cls)
    if found is None:
        members = []
        extensible = False
        for field in cls.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            if field.python_name == EXTENSIONS:
                extensible = True
                continue
            if field.base_resolver is not None:
                continue
            inner, is_list = _unwrap(field.type)
            nested = inner if has_object_definition(inner) else None
            tmf = cls.__tmf_members__.get(field.python_name, field.python_name)  # type: ignore[attr-defined]
            members.append(Member(field.python_name, tmf, nested, is_list))
        found = Plan(
            tuple(members),
            frozenset(m.tmf for m in members),
            extensible,
            {m.tmf: m for m in members},
            dict.fromkeys(m.python for m in members if cls.__dict__.get(m.python, _NOT_SET) is not None),
        )
        _PLANS[cls] = found
    return found


def from_document(cls: type[T], doc: dict[str, Any], **given: Any) -> T:
    """The resource object of the output type `cls` from a TMF JSON object; `given` fields are set as
    they are. Its sub-resources stay JSON objects, whose fields read them by member name
    (schema.derive.resolve_members_directly), so nothing is built for what a query does not select, and
    its `extensions` are worked out from `doc` when asked for. The object is filled in directly (its class
    has no other initialisation): members absent from `doc` are null (most from their class's default)."""
    layout = plan(cls)
    instance = object.__new__(cls)
    values = instance.__dict__
    values.update(layout.absent)
    by_tmf = layout.by_tmf
    for name, value in doc.items():
        member = by_tmf.get(name)
        if member is None:
            continue
        if value is not None and member.nested is not None:
            if not member.is_list:
                value = value if isinstance(value, dict) else None
            elif isinstance(value, list):
                value = [item for item in value if isinstance(item, dict)]
            else:
                value = None
        values[member.python] = value
    values.update(given)
    if layout.extensible:
        values[DOCUMENT] = doc
    return instance


def to_document(obj: Any, *, keep_null: bool, path: str = "") -> dict[str, Any]:
    """The TMF JSON object of an input. Absent (UNSET) fields are left out; fields set to null are kept
    as null when `keep_null` (a merge patch removes them) and left out otherwise. Array items never keep
    null: a merge patch replaces arrays whole."""
    layout = plan(type(obj))
    doc: dict[str, Any] = {}
    for member in layout.members:
        value = getattr(obj, member.python)
        if isinstance(value, UnsetType) or (value is None and not keep_null):
            continue
        where = f"{path}{member.tmf}"
        if value is not None and member.nested is not None:
            if member.is_list:
                value = [
                    to_document(item, keep_null=False, path=f"{where}[{i}].") for i, item in enumerate(value)
                ]
            else:
                value = to_document(value, keep_null=keep_null, path=f"{where}.")
        doc[member.tmf] = value
    extra = getattr(obj, EXTENSIONS, None) if layout.extensible else None
    if isinstance(extra, UnsetType) or extra is None:
        return doc
    if not isinstance(extra, dict):
        raise Invalid(f"'{path}extensions' must be a JSON object", field=f"{path}extensions")
    for name, value in extra.items():
        if name in layout.known:
            raise Invalid(
                f"'{path}extensions' cannot set '{name}': it is a named attribute, set it with its own field",
                field=f"{path}extensions.{name}",
            )
        doc[name] = value
    return doc
