"""Absolute URLs of the API, as clients must see them (both doors build hrefs the same way)."""

from __future__ import annotations

from collections.abc import Mapping

from app.settings import Settings

API_PATH = "/tmf-api/customerManagement/v4"


def api_base(settings: Settings, scheme: str, headers: Mapping[str, str], path: str = API_PATH) -> str:
    """The base URL of the API at `path`: the configured public URL, else the scheme and host the request
    came with (X-Forwarded-Proto/Host when the proxy in front is trusted)."""
    if settings.public_url:
        return settings.public_url.rstrip("/") + path
    host = headers.get("host") or "localhost"
    if settings.trust_forwarded_headers:
        scheme = headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = headers.get("x-forwarded-host", host).split(",")[0].strip()
    return f"{scheme}://{host}{path}"
