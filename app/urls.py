"""Absolute URLs of the API, as clients must see them (both doors build hrefs the same way)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from app.settings import Settings

API_PATH = "/tmf-api/customerManagement/v4"


class ScopeHeaders:
    """The headers of an ASGI scope (names in lower case, as servers give them), looked up one name at a
    time: the first of repeats, as Litestar's `request.headers` answers. A handler reads one or two;
    `request.headers` builds a multidict of all of them, on every access (a twentieth of a GET by id)."""

    __slots__ = ("_raw",)

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self._raw: Iterable[tuple[bytes, bytes]] = scope["headers"]

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.encode("latin-1")
        for found, value in self._raw:
            if found == key:
                return value.decode("latin-1")
        return default


def api_base(settings: Settings, scope: Mapping[str, Any], path: str = API_PATH) -> str:
    """The base URL of the API at `path`: the configured public URL, else the scheme and host the request
    (its ASGI scope) came with (X-Forwarded-Proto/Host when the proxy in front is trusted)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + path
    scheme = scope.get("scheme", "http")
    headers = ScopeHeaders(scope)
    host = headers.get("host") or "localhost"
    if settings.trust_forwarded_headers:
        scheme = (headers.get("x-forwarded-proto") or scheme).split(",")[0].strip()
        host = (headers.get("x-forwarded-host") or host).split(",")[0].strip()
    return f"{scheme}://{host}{path}"
