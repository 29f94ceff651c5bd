"""Authenticator: the credential of a request (an API key or a JWT bearer token) -> a Principal."""

from __future__ import annotations

from app.security.apikeys import ApiKeys
from app.security.jwt import JwksKeys, JwtVerifier
from app.security.principal import ANONYMOUS, Principal, Unauthenticated
from app.settings import Settings
from app.store.base import Store

METHODS = ("api-key", "jwt")


class Authenticator:
    """Built once per app from the settings; ValueError (a start-up refusal) on a bad configuration."""

    def __init__(self, settings: Settings, store: Store) -> None:
        methods = settings.auth_methods
        unknown = [m for m in methods if m not in METHODS]
        if unknown:
            raise ValueError(f"TMF629_AUTH: unknown method '{unknown[0]}' (use none, api-key, jwt or a list)")
        self.methods = methods
        self.api_keys = ApiKeys(store) if "api-key" in methods else None
        self.jwt = (
            JwtVerifier(
                JwksKeys(
                    url=settings.jwt_jwks_url,
                    file=settings.jwt_jwks_file,
                    min_refresh_seconds=settings.jwt_jwks_min_refresh_seconds,
                ),
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
            )
            if "jwt" in methods
            else None
        )

    @property
    def enabled(self) -> bool:
        return bool(self.methods)

    def expected(self) -> str:
        forms = {"api-key": "an X-API-Key header", "jwt": "an Authorization: Bearer <JWT> header"}
        return " or ".join(forms[m] for m in self.methods)

    async def authenticate(self, authorization: str | None, api_key: str | None) -> Principal:
        """The principal of these credentials (any accepted one suffices); Unauthenticated otherwise."""
        if not self.enabled:
            return ANONYMOUS
        if api_key is not None and self.api_keys is not None:
            principal = await self.api_keys.principal(api_key.strip())
            if principal is None:
                raise Unauthenticated("The API key is not valid (unknown or revoked)")
            return principal
        if authorization and self.jwt is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return await self.jwt.verify(token.strip())
        raise Unauthenticated(f"Authentication is required: send {self.expected()}")
