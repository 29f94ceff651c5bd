"""Database outages: which driver errors mean "the database is away", and one log line per transition.

A store wraps each statement: an error that says the server cannot be reached (refused, reset, shut
down, a connection that died under a statement) becomes `ServiceUnavailable`, which the doors answer
with 503 / `SERVICE_UNAVAILABLE`; anything else is a bug and stays what it is. `Outage` remembers
whether the database is down, so a thousand failing requests log one "down" line and the first
success after them one "back" line, instead of a traceback each.
"""

from __future__ import annotations

import errno
import logging
import socket
import sqlite3
import time

from sqlalchemy import exc as sa_exc

from app.domain.errors import ServiceUnavailable

logger = logging.getLogger("tmf629.store")

# Messages of asyncpg's InterfaceError that mean the connection, not the statement, is broken.
_BROKEN_CONNECTION = ("connection is closed", "connection was closed", "another operation is in progress")
_SQLITE_UNREACHABLE = ("unable to open database file", "disk i/o error")
_NETWORK_ERRNOS = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT, errno.EPIPE}


def _is_unreachable_one(error: BaseException) -> bool:
    if isinstance(error, ServiceUnavailable | ConnectionError | TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free: the server hangs
        return True
    if isinstance(error, socket.gaierror) or (isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS):
        return True  # the server's name does not resolve, or its network is unreachable
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_UNREACHABLE)
    module = type(error).__module__
    if module.startswith("asyncpg"):
        import asyncpg

        if isinstance(
            error,
            asyncpg.PostgresConnectionError  # SQLSTATE class 08 and a connection that no longer exists
            | asyncpg.CannotConnectNowError  # 57P03: starting up or shutting down
            | asyncpg.AdminShutdownError  # 57P01
            | asyncpg.CrashShutdownError,  # 57P02
        ):
            return True
        if isinstance(error, asyncpg.InterfaceError):
            message = str(error).lower()
            return any(broken in message for broken in _BROKEN_CONNECTION)
    return False


def is_unreachable(error: BaseException) -> bool:
    """Whether `error` (or what it wraps: SQLAlchemy's `orig`, `__cause__`) says the database is away."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _is_unreachable_one(current):
            return True
        pending.extend((getattr(current, "orig", None), current.__cause__, current.__context__))
    return False


class Outage:
    """Whether the database is down, as the statements of this process last found it."""

    def __init__(self, name: str, retry_after: int = 2) -> None:
        self.name = name
        self.retry_after = retry_after
        self.down = False
        self._since = 0.0

    def check(self, error: BaseException) -> None:
        """Raise ServiceUnavailable (from `error`) when `error` means the database is away; else return."""
        if isinstance(error, ServiceUnavailable):
            raise error
        if not is_unreachable(error):
            return
        if not self.down:
            self.down = True
            self._since = time.monotonic()
            first_line = (str(error).splitlines() or [""])[0][:200]  # not SQLAlchemy's SQL and parameters
            logger.error("database unavailable (%s): %s: %s", self.name, type(error).__name__, first_line)
        raise ServiceUnavailable(retry_after=self.retry_after) from error

    def recovered(self) -> None:
        """A statement succeeded: if the database was down, say once that it is back."""
        if self.down:
            self.down = False
            logger.warning(
                "database available again (%s) after %.1f s", self.name, time.monotonic() - self._since
            )
