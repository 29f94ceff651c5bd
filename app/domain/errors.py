"""Domain errors: plain exceptions, mapped once per door (REST and GraphQL), and the TMF `Error` body
the REST door answers them with (its model feeds the OpenAPI document)."""

from __future__ import annotations

from sqlmodel import Field

from app.domain.customer import Extensible
from app.domain.model import Uri


class DomainError(Exception):
    """Base of every expected failure. `code` and `reason` feed the TMF Error body."""

    status = 400
    code = "BAD_REQUEST"
    reason = "Bad request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(DomainError):
    """The input breaks a rule; `field` names the offending attribute path."""

    code = "INVALID_VALUE"
    reason = "Invalid value"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidQuery(Invalid):
    code = "INVALID_QUERY"
    reason = "Invalid query parameter"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"
    reason = "Resource not found"


class PreconditionFailed(DomainError):
    status = 412
    code = "PRECONDITION_FAILED"
    reason = "Precondition failed"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    reason = "Unsupported media type"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"
    reason = "Conflict"


class ServiceUnavailable(Exception):
    """The database cannot be reached right now: a client should retry, not report a bug.

    Not a DomainError: a mutation answers its expected failures as union members, but an outage is no
    answer about the request, so both doors map it on its own (REST 503 with Retry-After, GraphQL an
    error with `extensions.code`)."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    reason = "Service unavailable"

    def __init__(
        self, message: str = "The database is unavailable; retry shortly", retry_after: int = 2
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class Error(Extensible):
    """Used when an API throws an Error, typically with a HTTP error response-code (3xx, 4xx, 5xx)"""

    code: str = Field(description="Application relevant detail, defined in the API or a common list.")
    reason: str = Field(
        description="Explanation of the reason for the error which can be shown to a client user."
    )
    message: str = Field(
        default=None,
        description="More details and corrective actions related to the error which can be shown to a "
        "client user.",
    )
    status: str = Field(default=None, description="HTTP Error code extension")
    referenceError: Uri = Field(default=None, description="URI of documentation describing the error.")
