"""A TMF resource as the rest of the application sees it: its model and what is derived from it.

`ResourceType` gathers, for one resource model (app.domain.customer), the create and update variants,
the query catalogue, the indexed columns, the server-owned and defaulted members and the lifecycle
attribute. `CUSTOMER_TYPE` is the Customer's; the functions below keep the customer's rules in the words
the services use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from app.domain.catalogue import Kind, Obj, catalogue, indexed
from app.domain.customer import Customer
from app.domain.errors import Invalid
from app.domain.model import (
    Linked,
    TmfModel,
    create_variant,
    defaults,
    instant_key,
    lifecycle_attribute,
    linked,
    not_patchable,
    parse_datetime,
    server_owned,
    stamped,
    update_variant,
)
from app.domain.validation import validate

__all__ = ["CUSTOMER", "CUSTOMER_TYPE", "SERVER_OWNED", "ResourceType", "instant_key", "parse_datetime"]


@dataclass(frozen=True)
class ResourceType:
    """A resource model and everything derived from it."""

    model: type[TmfModel]
    create: type[TmfModel] = field(init=False)
    update: type[TmfModel] = field(init=False)
    catalogue: Obj = field(init=False)
    columns: dict[tuple[str, ...], str] = field(init=False)
    server_owned: tuple[str, ...] = field(init=False)
    defaults: dict[str, Any] = field(init=False)
    lifecycle: str | None = field(init=False)
    stamped: tuple[str, ...] = field(init=False)
    links: tuple[str, Linked] | None = field(init=False)
    not_patchable: tuple[str, ...] = field(init=False)
    stored_columns: tuple[tuple[str, tuple[str, ...], bool], ...] = field(init=False)

    def __post_init__(self) -> None:
        derived = {
            "create": create_variant(self.model),
            "update": update_variant(self.model),
            "catalogue": catalogue(self.model),
            "columns": indexed(self.model),
            "server_owned": server_owned(self.model),
            "defaults": defaults(self.model),
            "lifecycle": lifecycle_attribute(self.model),
            "stamped": stamped(self.model),
            "links": linked(self.model),
            "not_patchable": not_patchable(self.model),
        }
        derived["stored_columns"] = _stored_columns(
            derived["columns"], derived["server_owned"], derived["catalogue"]
        )
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @property
    def name(self) -> str:
        return self.model.__name__

    def validate(self, doc: Any) -> None:
        """Raise Invalid, naming the first offending attribute path, unless `doc` is a valid create body
        (or the result of a write); server-owned members must not be in `doc`."""
        if not isinstance(doc, dict):
            raise Invalid("The body must be a JSON object", field="")
        for name in self.server_owned:
            if name in doc:
                raise Invalid(f"'{name}' is set by the server and cannot be given", field=name)
        # JSON escapes NUL as \u0000, orjson refuses integers beyond 64 bits unsigned, and an integer
        # beyond 64 bits signed has at least 19 digits: one encoding of the document finds every suspect
        # far faster than a walk, which then decides. A run of 19 digits is looked for with every digit
        # made 0 and everything else a space (a regular expression took 9 times as long).
        try:
            encoded = orjson.dumps(doc)
            suspect = b"\\u0000" in encoded or _LONG_DIGITS in encoded.translate(_DIGITS_AS_ZEROS)
        except TypeError:
            suspect = True
        problem = unstorable(doc) if suspect else None
        if problem is not None:
            where, why = problem
            raise Invalid(f"'{where}' {why}, which cannot be stored", field=where)
        validate(self.create, doc)

    def with_defaults(self, doc: dict[str, Any]) -> dict[str, Any]:
        """The stored form of a valid document: the defaulted members filled in when absent or empty."""
        missing = {name: value for name, value in self.defaults.items() if not doc.get(name)}
        return {**doc, **missing} if missing else doc

    def linked_parties(self, doc: dict[str, Any]) -> list[tuple[str, str]]:
        """(id, type) of each item of the linked array (`Linked`), in order, without repeats."""
        if self.links is None:
            return []
        name, marker = self.links
        items = doc.get(name)
        found = [
            (item[marker.id], item[marker.type])
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict)
            and isinstance(item.get(marker.id), str)
            and isinstance(item.get(marker.type), str)
        ]
        return list(dict.fromkeys(found))

    def indexed_columns(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Values of the indexed attributes of `doc`, by column (server-owned ones are set apart)."""
        values: dict[str, Any] = {}
        for column, path, instant in self.stored_columns:
            value: Any = doc
            for name in path:
                value = value.get(name) if isinstance(value, dict) else None
            if value is not None and instant:
                value = instant_key(parse_datetime(value))  # type: ignore[arg-type]
            values[column] = value
        return values


def _stored_columns(
    columns: dict[tuple[str, ...], str], server_owned: tuple[str, ...], node: Obj
) -> tuple[tuple[str, tuple[str, ...], bool], ...]:
    """(column, path, whether a date-time) of each indexed attribute a document gives (not server-owned)."""
    found = []
    for path, column in columns.items():
        if path[0] in server_owned:
            continue
        kind: Any = node
        for name in path:
            kind = kind.members[name]
        found.append((column, path, kind is Kind.DATETIME))
    return tuple(found)


_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_LONG_DIGITS = b"0" * 19
NUL = "\x00"
INT64 = range(-(2**63), 2**63)


def unstorable(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, why) of the first member that cannot be stored as sent, or None: a string or member name
    holding the NUL character (PostgreSQL's text and jsonb cannot hold it; refused on every database so
    both behave alike), or an integer beyond 64 bits (GraphQL's JSON scalar can carry one)."""
    if isinstance(value, str):
        return (path, "contains the NUL character (\\u0000)") if NUL in value else None
    if isinstance(value, int) and not isinstance(value, bool):
        return None if value in INT64 else (path, "is an integer beyond 64 bits")
    if isinstance(value, dict):
        for name, member in value.items():
            inner = f"{path}.{name}" if path else str(name)
            if NUL in name:
                return inner, "contains the NUL character (\\u0000)"
            found = unstorable(member, inner)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


CUSTOMER_TYPE = ResourceType(Customer)
CUSTOMER = CUSTOMER_TYPE.catalogue
SERVER_OWNED = CUSTOMER_TYPE.server_owned


def validate_customer(doc: Any) -> None:
    CUSTOMER_TYPE.validate(doc)


def with_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    return CUSTOMER_TYPE.with_defaults(doc)


def indexed_columns(doc: dict[str, Any]) -> dict[str, Any]:
    return CUSTOMER_TYPE.indexed_columns(doc)
