"""The TMF629 v4 Customer resource: its shape, its rules, and what is derived from them.

One description of the resource (`CUSTOMER`) drives validation, the query language (attribute
types and arrays) and field projection, so the three can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from app.domain.errors import Invalid


class Kind(Enum):
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    DATETIME = "date-time"
    ANY = "any"


@dataclass(frozen=True)
class Obj:
    """An object with named members; `required` members must be present and non-blank."""

    members: dict[str, Kind | Obj | Arr]
    required: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arr:
    item: Obj


Node = Kind | Obj | Arr

_EXT = {"@baseType": Kind.STRING, "@schemaLocation": Kind.STRING, "@type": Kind.STRING}
TIME_PERIOD = Obj({"startDateTime": Kind.DATETIME, "endDateTime": Kind.DATETIME})


def _ref(required: tuple[str, ...], **extra: Node) -> Obj:
    members: dict[str, Node] = {
        "id": Kind.STRING,
        "href": Kind.STRING,
        "name": Kind.STRING,
        **extra,
        **_EXT,
        "@referredType": Kind.STRING,
    }
    return Obj(members, required)


RELATED_PARTY = _ref(("id", "@referredType"), role=Kind.STRING)
MEDIUM_CHARACTERISTIC = Obj(
    {
        name: Kind.STRING
        for name in (
            "city",
            "contactType",
            "country",
            "emailAddress",
            "faxNumber",
            "phoneNumber",
            "postCode",
            "socialNetworkId",
            "stateOrProvince",
            "street1",
            "street2",
        )
    }
    | _EXT
)

CUSTOMER = Obj(
    {
        "id": Kind.STRING,
        "href": Kind.STRING,
        "name": Kind.STRING,
        "status": Kind.STRING,
        "statusReason": Kind.STRING,
        "account": Arr(_ref(("name",), description=Kind.STRING)),
        "agreement": Arr(_ref(("id",))),
        "characteristic": Arr(
            Obj({"name": Kind.STRING, "valueType": Kind.STRING, "value": Kind.ANY, **_EXT}, ("name", "value"))
        ),
        "contactMedium": Arr(
            Obj(
                {
                    "mediumType": Kind.STRING,
                    "preferred": Kind.BOOLEAN,
                    "characteristic": MEDIUM_CHARACTERISTIC,
                    "validFor": TIME_PERIOD,
                    **_EXT,
                },
                ("mediumType", "characteristic"),
            )
        ),
        "creditProfile": Arr(
            Obj(
                {
                    "creditProfileDate": Kind.DATETIME,
                    "creditRiskRating": Kind.INTEGER,
                    "creditScore": Kind.INTEGER,
                    "validFor": TIME_PERIOD,
                    **_EXT,
                },
                ("creditProfileDate", "validFor"),
            )
        ),
        "engagedParty": RELATED_PARTY,
        "paymentMethod": Arr(_ref(("id",))),
        "relatedParty": Arr(RELATED_PARTY),
        "validFor": TIME_PERIOD,
        **_EXT,
    },
    ("name", "engagedParty"),
)

SERVER_OWNED = ("id", "href")

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
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class _Checker:
    errors: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, path: str, message: str) -> None:
        self.errors.append((path, message))

    def check(self, node: Node, value: Any, path: str) -> None:
        if isinstance(node, Kind):
            self.check_scalar(node, value, path)
        elif isinstance(node, Arr):
            if not isinstance(value, list):
                self.fail(path, f"'{path}' must be an array")
                return
            for index, item in enumerate(value):
                self.check(node.item, item, f"{path}[{index}]")
        else:
            self.check_object(node, value, path)

    def check_object(self, node: Obj, value: Any, path: str) -> None:
        if not isinstance(value, dict):
            self.fail(path, f"'{path}' must be an object")
            return
        prefix = f"{path}." if path else ""
        for name in node.required:
            member = value.get(name)
            if member is None or (isinstance(member, str) and not member.strip()):
                self.fail(prefix + name, f"'{prefix}{name}' is mandatory and must not be blank")
        for name, member in value.items():
            sub = node.members.get(name)
            if sub is not None and member is not None:
                self.check(sub, member, prefix + name)
            elif sub is not None and name not in node.required:
                self.fail(prefix + name, f"'{prefix}{name}' must not be null")

    def check_scalar(self, kind: Kind, value: Any, path: str) -> None:
        if kind is Kind.STRING and not isinstance(value, str):
            self.fail(path, f"'{path}' must be a string")
        elif kind is Kind.INTEGER and (isinstance(value, bool) or not isinstance(value, int)):
            self.fail(path, f"'{path}' must be an integer")
        elif kind is Kind.BOOLEAN and not isinstance(value, bool):
            self.fail(path, f"'{path}' must be a boolean")
        elif kind is Kind.DATETIME and (not isinstance(value, str) or parse_datetime(value) is None):
            self.fail(path, f"'{path}' must be an RFC 3339 date-time, e.g. 2024-01-31T12:00:00Z")


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


def validate_customer(doc: Any) -> None:
    """Raise Invalid, naming the first offending attribute path, unless `doc` is a valid Customer.

    `id` and `href` belong to the server and must not be in `doc`.
    """
    if not isinstance(doc, dict):
        raise Invalid("The body must be a JSON object", field="")
    for name in SERVER_OWNED:
        if name in doc:
            raise Invalid(f"'{name}' is set by the server and cannot be given", field=name)
    # JSON escapes NUL as \u0000, and orjson refuses integers beyond 64 bits: one encoding of the
    # document rules both out far faster than a walk.
    try:
        suspect = b"\\u0000" in orjson.dumps(doc)
    except TypeError:
        suspect = True
    problem = unstorable(doc) if suspect else None
    if problem is not None:
        where, why = problem
        raise Invalid(f"'{where}' {why}, which cannot be stored", field=where)
    checker = _Checker()
    checker.check_object(CUSTOMER, doc, "")
    if checker.errors:
        path, message = checker.errors[0]
        others = len(checker.errors) - 1
        if others:
            message += f" (and {others} more problem{'s' if others > 1 else ''})"
        raise Invalid(message, field=path)


def with_defaults(doc: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a valid customer: `@type` defaults to Customer."""
    if not doc.get("@type"):
        doc = {**doc, "@type": "Customer"}
    return doc


def indexed_columns(doc: dict[str, Any]) -> dict[str, Any]:
    """Values of the often-filtered attributes, kept in their own indexed columns."""
    valid_for = doc.get("validFor") or {}
    start = valid_for.get("startDateTime")
    end = valid_for.get("endDateTime")
    return {
        "name": doc.get("name"),
        "status": doc.get("status"),
        "engaged_party_id": doc["engagedParty"]["id"],
        "valid_for_start": instant_key(parse_datetime(start)) if start else None,  # type: ignore[arg-type]
        "valid_for_end": instant_key(parse_datetime(end)) if end else None,  # type: ignore[arg-type]
    }
