"""Custom scalars: DateTime keeps the RFC 3339 text the client sent; JSON is Strawberry's own."""

from __future__ import annotations

from typing import Any, NewType

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON
from strawberry.types.scalar import ScalarDefinition

from app.domain.model import parse_datetime

DateTime = NewType("DateTime", str)


def _parse_datetime(value: Any) -> str:
    if not isinstance(value, str) or parse_datetime(value) is None:
        raise GraphQLError(
            f"{value!r} is not an RFC 3339 date-time with an offset, e.g. 2024-01-31T12:00:00Z"
        )
    return value


SCALAR_MAP: dict[object, ScalarDefinition] = {
    DateTime: strawberry.scalar(
        name="DateTime",
        description="An RFC 3339 date-time with an offset (e.g. 2024-01-31T12:00:00Z), returned as sent;"
        " compared as an instant in filters",
        specified_by_url="https://datatracker.ietf.org/doc/html/rfc3339#section-5.6",
        serialize=str,
        parse_value=_parse_datetime,
    )
}

__all__ = ["JSON", "SCALAR_MAP", "DateTime"]
