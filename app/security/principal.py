"""Principals, scopes and the errors of security checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.errors import DomainError

HUB_WRITE = "hub:write"


@dataclass(frozen=True)
class ResourceScopes:
    """The scope names of one resource: `<name>:read` and `<name>:write`."""

    name: str

    @property
    def read(self) -> str:
        return f"{self.name}:read"

    @property
    def write(self) -> str:
        return f"{self.name}:write"


CUSTOMER = ResourceScopes("customer")
# Reserved for the accounts resource: accepted by `tmf629 apikey create` already.
ACCOUNT = ResourceScopes("account")
KNOWN_SCOPES = (CUSTOMER.read, CUSTOMER.write, ACCOUNT.read, ACCOUNT.write, HUB_WRITE)


class Unauthenticated(DomainError):
    """No credential, or one that does not verify: 401. The message never repeats the credential."""

    status = 401
    code = "UNAUTHORIZED"
    reason = "Unauthorized"


class Forbidden(DomainError):
    """A valid credential without the scope an operation needs: 403."""

    status = 403
    code = "FORBIDDEN"
    reason = "Forbidden"


class TooManyRequests(DomainError):
    status = 429
    code = "TOO_MANY_REQUESTS"
    reason = "Too many requests"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Principal:
    """Who made a request. `scopes` None means every scope (authentication is off)."""

    subject: str
    kind: str
    scopes: frozenset[str] | None
    expires_at: float | None = None

    def allows(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def require(self, scope: str) -> None:
        if not self.allows(scope):
            raise Forbidden(f"This operation needs the scope '{scope}', which the credential does not grant")


ANONYMOUS = Principal(subject="anonymous", kind="none", scopes=None)


# Where the REST gate leaves the admitted principal in the ASGI scope, for the GraphQL context to read.
PRINCIPAL_KEY = "tmf629.principal"


def principal_of(scope: Any) -> Principal:
    """The principal the gate admitted (anonymous when authentication is off)."""
    principal: Principal = scope.get(PRINCIPAL_KEY, ANONYMOUS)
    return principal
