"""Runtime settings, read from the environment with the prefix TMF629_."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str) -> float:
    """`30s`, `15m`, `12h`, `7d` (or plain seconds) as seconds; a ValueError names the accepted forms."""
    text = value.strip().lower()
    unit = _DURATION_UNITS.get(text[-1:], None)
    number = text[:-1] if unit is not None else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"'{value}' is not a duration: use a positive number with s, m, h or d, e.g. 7d")
    return seconds


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMF629_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./tmf629.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    public_url: str | None = None
    trust_forwarded_headers: bool = False
    max_body_bytes: int = 1024 * 1024
    default_limit: int = Field(default=100, ge=1)
    max_limit: int = Field(default=1000, ge=1)
    # Unset: "*" while TMF629_AUTH=none, no cross-origin caller at all with auth on (app.security).
    cors_origins: str | None = None
    access_log: bool = False
    log_level: str = "warning"
    # Security (app.security; README "Security")
    auth: str = "none"
    allow_unauthenticated: bool = False
    allowed_hosts: str = "localhost,127.0.0.1,[::1]"
    jwt_jwks_url: str | None = None
    jwt_jwks_file: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_jwks_min_refresh_seconds: float = 30.0
    rate_limit: str | None = None
    hub_callback_allow: str = ""
    hub_max_subscriptions: int = Field(default=100, ge=0)
    # GraphQL
    graphql_introspection: bool = True
    graphql_max_depth: int = 10
    graphql_max_aliases: int = 30
    graphql_max_tokens: int = 2000
    graphql_max_first: int = 1000
    # The node_modules holding the OpenAPI UI's and GraphiQL's assets (`npm ci`; app.ui_assets).
    ui_assets_dir: Path = Path(__file__).resolve().parents[1] / "node_modules"
    # Events
    dispatcher_enabled: bool = True
    dispatch_timeout_seconds: float = 5.0
    dispatch_max_attempts: int = 60
    dispatch_backoff_base_seconds: float = 0.5
    dispatch_backoff_max_seconds: float = 10.0
    dispatch_poll_seconds: float = 0.5
    # A claimed delivery is retried by another replica when its claim is this old (at least timeout + 1 s).
    dispatch_lease_seconds: float = 15.0
    # Subscribers served at once by one dispatcher (each subscriber's events go out one at a time, in order).
    dispatch_concurrency: int = Field(default=32, ge=1)
    # Operations (README "Operations"): delivered events older than this are pruned (30s, 15m, 12h, 7d).
    event_retention: str = "7d"
    # PostgreSQL: vacuum the service's tables when the server's autovacuum is off (auto), always, or never
    # (app.store.upkeep).
    vacuum: Literal["auto", "on", "off"] = "auto"
    # GET /metrics, request metrics and X-Request-ID; off only to measure what they cost (make bench).
    observability: bool = True
    log_format: str = "text"  # or "json": one JSON object per line, with the request id

    @field_validator("event_retention")
    @classmethod
    def _valid_retention(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def event_retention_seconds(self) -> float:
        return parse_duration(self.event_retention)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cors_origin_list(self) -> list[str]:
        if self.cors_origins is None:
            return ["*"] if self.auth_methods == () else []
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def auth_methods(self) -> tuple[str, ...]:
        """The credentials accepted (`api-key`, `jwt`); empty when TMF629_AUTH=none."""
        methods = tuple(m.strip().lower() for m in self.auth.split(",") if m.strip())
        return tuple(m for m in methods if m != "none")
