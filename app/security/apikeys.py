"""API keys: random machine credentials of which only a SHA-256 hash is stored.

A key is `tmf629_` followed by 43 characters of URL-safe randomness (256 bits). With that much entropy
a salted slow hash (bcrypt, argon2) buys nothing: nobody can search the key space, so a plain SHA-256
lets a request find its key with one indexed lookup. The key itself is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from app.domain.errors import Conflict, Invalid
from app.domain.ids import new_id
from app.security.principal import KNOWN_SCOPES, Principal
from app.store.base import Store
from app.store.tables import ApiKey

TABLE = ApiKey.__table__  # type: ignore[attr-defined]
COLUMNS = TABLE.c
PREFIX = "tmf629_"
LOOKUP_SQL = "SELECT name, scopes FROM api_key WHERE key_hash = ?"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_scopes(text: str) -> list[str]:
    """`customer:read,customer:write` (commas or spaces) as a list of known scope names."""
    scopes = [s for s in text.replace(",", " ").split() if s]
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise Invalid(f"unknown scope '{unknown[0]}' (known: {', '.join(KNOWN_SCOPES)})", field="scopes")
    return sorted(set(scopes))


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime


class ApiKeys:
    """Create, list, revoke and check API keys in the `api_key` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def create(self, name: str, scopes: list[str]) -> tuple[ApiKeyInfo, str]:
        """A new key for `name`: its description and the key, which is not kept anywhere."""
        name = name.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise Invalid("the key name must be 1-200 printable characters", field="name")
        key = PREFIX + secrets.token_urlsafe(32)
        info = ApiKeyInfo(name, key[: len(PREFIX) + 4], scopes, datetime.now(UTC).replace(tzinfo=None))

        def run(conn: Connection) -> bool:
            if conn.execute(select(COLUMNS.id).where(COLUMNS.name == name)).first() is not None:
                return False
            conn.execute(
                insert(TABLE).values(
                    id=new_id(),
                    name=name,
                    key_hash=hash_key(key),
                    prefix=info.prefix,
                    scopes=" ".join(scopes),
                    created_at=info.created_at,
                )
            )
            return True

        if not await self.store.write(run):
            raise Conflict(f"an API key named '{name}' exists; revoke it first or choose another name")
        return info, key

    async def list(self) -> list[ApiKeyInfo]:
        rows = await self.store.read(
            lambda conn: conn.execute(
                select(COLUMNS.name, COLUMNS.prefix, COLUMNS.scopes, COLUMNS.created_at).order_by(
                    COLUMNS.created_at, COLUMNS.name
                )
            ).all()
        )
        return [ApiKeyInfo(r[0], r[1], r[2].split(), r[3]) for r in rows]

    async def revoke(self, name: str) -> bool:
        """Delete the key: requests carrying it are refused from now on. False when there is none."""
        deleted = await self.store.write(
            lambda conn: conn.execute(delete(TABLE).where(COLUMNS.name == name)).rowcount
        )
        return bool(deleted)

    async def principal(self, key: str) -> Principal | None:
        """The principal of a key, or None when no stored key has its hash."""
        if not key.startswith(PREFIX) or len(key) > 200:
            return None
        # Looking the hash up leaks no timing about the key: a caller cannot choose a hash's prefix.
        row = await self.store.fetch_row(LOOKUP_SQL, (hash_key(key),))
        if row is None:
            return None
        return Principal(subject=f"api-key:{row[0]}", kind="api-key", scopes=frozenset(row[1].split()))
