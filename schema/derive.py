"""Strawberry types, inputs and filters derived from a resource's model (app.domain).

For each model class: an output type (`RelatedParty`), an input (`RelatedPartyInput`) and a filter
(`RelatedPartyWhere`); for the resource itself, a create input, a patch input, a `where` with `and`/`or`,
and an order enum of its single-valued attributes. GraphQL names are the TMF names without `@`
(`@type` is `type`); Python names are their snake_case (`type_` for
`type`). Each derived class keeps its Python -> TMF member names in `__tmf_members__`, which
`schema.convert` follows between Strawberry objects and TMF documents. Members a model does not name
travel in `extensions`.

Classes are made once per name: two sub-resources of one shape may share an input or a filter by naming
it the same (`graphql_input_name`), as `AgreementRef` and `PaymentMethodRef` share `EntityRefInput`.
"""

from __future__ import annotations

import inspect
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry import UNSET
from strawberry.types import Info
from strawberry.utils.str_converters import to_snake_case

from app.domain.catalogue import Kind, kind_of
from app.domain.model import Defaulted, ServerOwned, TmfModel, markers, nested_model, tmf_name, unwrap
from app.domain.resource import ResourceType
from schema.convert import DOCUMENT, plan
from schema.scalars import JSON, DateTime

EXTENSIONS_OUT = "Members the client sent that the model does not name, as sent"
EXTENSIONS_IN = "Members the model does not name (TMF extension by `@type`), stored and returned as sent"

_SCALAR_TYPES: dict[Kind, Any] = {
    Kind.STRING: str,
    Kind.INTEGER: int,
    Kind.NUMBER: float,
    Kind.BOOLEAN: bool,
    Kind.DATETIME: DateTime,
    Kind.ANY: JSON,
}


def graphql_name(tmf: str) -> str:
    return tmf.lstrip("@")


def python_name(tmf: str) -> str:
    name = to_snake_case(graphql_name(tmf))
    return "type_" if name == "type" else name


def _doc(model: type[TmfModel]) -> str:
    return " ".join(inspect.cleandoc(model.__doc__ or model.__name__).split())


def members(model: type[TmfModel]) -> list[tuple[str, Any]]:
    """(TMF name, field) in the order of the model, the TMF `@` members last."""
    fields = [(tmf_name(name, field), field) for name, field in model.model_fields.items()]
    return [m for m in fields if not m[0].startswith("@")] + [m for m in fields if m[0].startswith("@")]


def _field(tmf: str, description: str | None, default: Any = None) -> Any:
    return strawberry.field(name=graphql_name(tmf), description=description, default=default)


# Python -> TMF member names of every output type. One table serves them all: a name means one member.
OUTPUT_MEMBERS: dict[str, str] = {}


def _member_resolver(python: str, tmf: str) -> Any:
    def resolve(source: Any, info: Any) -> Any:
        if type(source) is dict:
            return source.get(tmf)
        return getattr(source, python)

    resolve.member = True  # type: ignore[attr-defined]  # plain data: resolvers.execution reads it at once
    return resolve


def resolve_members_directly(schema: Any) -> None:
    """Give every plain field of a built schema (a member: no resolver, no extension) GraphQL's own resolve
    function, in one call where Strawberry makes three per field. Sub-resources are answered from the
    stored JSON objects themselves (schema.convert.from_document leaves them as they are): a field reads
    its TMF member. Resources are objects of their type, read by attribute."""
    backref = "strawberry-definition"
    for graphql_type in schema._schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType):
            continue
        for graphql_field in graphql_type.fields.values():
            field = (graphql_field.extensions or {}).get(backref)
            if field is not None and field.is_basic_field and not field.is_subscription:
                python = field.python_name
                graphql_field.resolve = _member_resolver(python, OUTPUT_MEMBERS.get(python, python))


def extensions(root: Any, info: Info) -> JSON | None:
    """The members the type does not name, of a sub-resource's JSON object or of a resource object."""
    if type(root) is dict:
        doc = root
        known = plan(REGISTRY.classes[info._raw_info.parent_type.name]).known
    else:
        doc = root.__dict__.get(DOCUMENT)
        if doc is None:
            return None
        known = plan(type(root)).known
    return {name: value for name, value in doc.items() if name not in known} or None


class _Registry:
    """The derived classes, by GraphQL name."""

    def __init__(self) -> None:
        self.classes: dict[str, type] = {}

    def make(
        self,
        name: str,
        annotations: dict[str, Any],
        namespace: dict[str, Any],
        tmf: dict[str, str],
        decorator: Any,
        description: str,
        bases: tuple[type, ...] = (),
    ) -> type:
        found = self.classes.get(name)
        if found is not None:
            if found.__tmf_members__ != tmf:  # type: ignore[attr-defined]
                raise TypeError(f"{name} is derived from two models of different shapes")
            return found
        cls = type(name, bases, {**namespace, "__annotations__": annotations, "__tmf_members__": tmf})
        self.classes[name] = decorator(cls, name=name, description=description)
        return self.classes[name]


REGISTRY = _Registry()


def _value_type(field: Any, make_nested: Any) -> Any:
    nested = nested_model(field.annotation)
    inner, is_list = unwrap(field.annotation)
    value = make_nested(nested) if nested is not None else _SCALAR_TYPES[kind_of(inner, field.metadata)]
    return list[value] if is_list else value  # type: ignore[valid-type]


def output_type(
    model: type[TmfModel],
    *,
    top: bool = False,
    bases: tuple[type, ...] = (),
    extra: dict[str, tuple[Any, Any]] | None = None,
) -> type:
    """The output type of `model`. At the top (the resource), the required and defaulted members are
    non-null and the server-owned ones are ID/String and non-null; `extra` adds fields the model does not
    have (name -> (annotation, strawberry field)), after `id` and `href`."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    tmf: dict[str, str] = {}
    for name, field in members(model):
        py = python_name(name)
        value = _value_type(field, output_type)
        always = top and (
            field.is_required() or bool(markers(field, Defaulted) or markers(field, ServerOwned))
        )
        if top and name == "id":
            value = strawberry.ID
        annotations[py] = value if always else value | None
        namespace[py] = (
            strawberry.field(name=graphql_name(name), description=field.description)
            if always
            else _field(name, field.description)
        )
        tmf[py] = name
        if py == "href":
            for extra_name, (annotation, extra_field) in (extra or {}).items():
                annotations[extra_name] = annotation
                namespace[extra_name] = extra_field
    namespace["extensions"] = strawberry.field(resolver=extensions, description=EXTENSIONS_OUT)
    for py, member in tmf.items():
        if OUTPUT_MEMBERS.setdefault(py, member) != member:
            raise TypeError(f"'{py}' names two members, '{member}' and '{OUTPUT_MEMBERS[py]}'")
    name = model.graphql_name or model.__name__
    return REGISTRY.make(name, annotations, namespace, tmf, strawberry.type, _doc(model), bases)


def input_type(
    model: type[TmfModel], *, name: str | None = None, required: bool = False, bases: tuple[type, ...] = ()
) -> type:
    """The input of `model`: every member optional (absent is UNSET), unless `required` (a create body),
    where the members the model requires are non-null. Sub-resource inputs serve create and patch alike;
    the service applies the model's rules to the resulting document and names what is wrong."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    tmf: dict[str, str] = {}
    for member, field in members(model):
        py = python_name(member)
        value = _value_type(field, input_type)
        if required and field.is_required():
            annotations[py] = value
            namespace[py] = strawberry.field(name=graphql_name(member), description=field.description)
        else:
            annotations[py] = value | None
            namespace[py] = _field(member, field.description, UNSET)
        tmf[py] = member
    annotations["extensions"] = JSON | None
    namespace["extensions"] = strawberry.field(default=UNSET, description=EXTENSIONS_IN)
    name = name or model.graphql_input_name or f"{model.__name__}Input"
    needed = [graphql_name(m) for m, f in members(model) if f.is_required()]
    description = _doc(model) + (f" Required: {', '.join(needed)}." if needed else "")
    return REGISTRY.make(name, annotations, namespace, tmf, strawberry.input, description, bases)


def where_type(
    model: type[TmfModel],
    filters: dict[Kind, type],
    *,
    name: str | None = None,
    combinable: bool = False,
    bases: tuple[type, ...] = (),
) -> type:
    """Conditions on `model`: an operator filter per scalar member (by its kind), a nested `where` per
    object or array member (on an array, a condition holds when ANY element matches). Server-owned
    members that are not stored (`href`) cannot be filtered. `combinable` adds `and`/`or`."""
    annotations: dict[str, Any] = {}
    namespace: dict[str, Any] = {}
    tmf: dict[str, str] = {}
    for member, field in members(model):
        if markers(field, ServerOwned) and member != "id":
            continue
        py = python_name(member)
        nested = nested_model(field.annotation)
        if nested is not None:
            value = where_type(nested, filters)
        else:
            value = filters[kind_of(unwrap(field.annotation)[0], field.metadata)]
        annotations[py] = value | None
        namespace[py] = _field(member, None, UNSET)
        tmf[py] = member
    name = name or model.graphql_where_name or f"{model.__name__}Where"
    description = f"Conditions on {model.__name__}" + ("; all given members must hold" if combinable else "")
    if not combinable:
        return REGISTRY.make(name, annotations, namespace, tmf, strawberry.input, description, bases)
    # `and` and `or` take lists of this very type: made before decoration, then annotated with itself.
    cls = type(name, bases, {**namespace, "__annotations__": annotations, "__tmf_members__": tmf})
    cls.__annotations__["and_"] = list[cls] | None  # type: ignore[valid-type]
    cls.and_ = strawberry.field(name="and", default=UNSET, description="Every one of these holds")  # type: ignore[attr-defined]
    cls.__annotations__["or_"] = list[cls] | None  # type: ignore[valid-type]
    cls.or_ = strawberry.field(name="or", default=UNSET, description="At least one of these holds")  # type: ignore[attr-defined]
    REGISTRY.classes[name] = strawberry.input(cls, name=name, description=description + " (see `and`/`or`)")
    return REGISTRY.classes[name]


def order_enum(resource: ResourceType, name: str | None = None) -> type[Enum]:
    """The attributes the resource can be ordered by: single-valued, not inside arrays, stored."""
    values: dict[str, str] = {}

    def walk(model: type[TmfModel], prefix: tuple[str, ...]) -> None:
        for member, field in members(model):
            if not prefix and markers(field, ServerOwned) and member != "id":
                continue
            nested = nested_model(field.annotation)
            if unwrap(field.annotation)[1]:
                continue
            if nested is not None:
                walk(nested, (*prefix, member))
            else:
                path = (*prefix, member)
                values["_".join(to_snake_case(graphql_name(p)) for p in path).upper()] = ".".join(path)

    walk(resource.model, ())
    enum = Enum(name or f"{resource.name}OrderField", values)  # type: ignore[misc]
    return strawberry.enum(
        enum, description=f"Attributes {resource.name} can be ordered by (single-valued, not inside arrays)"
    )
