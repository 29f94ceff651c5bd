"""JWT bearer tokens from the operator's OAuth2/OIDC provider, verified with PyJWT.

* Only RS256 and ES256: `none` and the HMAC family are refused before any key is looked at, so a token
  "signed" with the public key as an HMAC secret never verifies.
* Keys come from a JWKS document, a URL (`jwt_jwks_url`) or a file (`jwt_jwks_file`). They are cached;
  a token naming an unknown `kid` makes the document be read again (a provider rotated its keys), at
  most once every `jwt_jwks_min_refresh_seconds`, so a stream of made-up kids cannot make us hammer
  the provider. The document is also re-read once it is an hour old.
* `iss`, `aud`, `exp` are required and checked, `nbf` when present, with 60 s of leeway.
* A verified token is remembered until it expires: the next requests with it cost a dict lookup
  instead of a signature check (an RSA verification costs about as much as serving a read).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson

from app.security.principal import Principal, Unauthenticated

logger = logging.getLogger("tmf629.security")

ALGORITHMS = {"RS256": "RSA", "ES256": "EC"}
LEEWAY_SECONDS = 60
KEYS_MAX_AGE_SECONDS = 3600.0
CACHE_SIZE = 10_000


class JwksKeys:
    """The provider's public keys, from a URL or a file, cached and re-read as the module says."""

    def __init__(self, *, url: str | None, file: str | None, min_refresh_seconds: float) -> None:
        if not url and not file:
            raise ValueError("TMF629_AUTH=jwt needs TMF629_JWT_JWKS_URL or TMF629_JWT_JWKS_FILE")
        self.url = url
        self.file = file
        self.min_refresh_seconds = min_refresh_seconds
        # kid -> (key, the `alg` its JWK names, if any)
        self._keys: dict[str | None, tuple[jwt.PyJWK, str | None]] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def _document(self) -> Any:
        if self.file:
            return orjson.loads(await asyncio.to_thread(Path(self.file).read_bytes))
        assert self.url is not None
        async with httpx.AsyncClient(timeout=5, follow_redirects=False, trust_env=False) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return orjson.loads(response.content)

    async def _reload(self) -> None:
        self._loaded_at = time.monotonic()
        try:
            document = await self._document()
            entries = document.get("keys", [])
        except Exception as error:  # unreachable, not JSON, not a JWKS: keep the keys we had
            logger.warning("could not read the JWKS from %s: %s", self.url or self.file, error)
            return
        keys: dict[str | None, tuple[jwt.PyJWK, str | None]] = {}
        for entry in entries if isinstance(entries, list) else []:
            # Public RSA and EC keys only: an "oct" (HMAC) key in the set is never used.
            if isinstance(entry, dict) and entry.get("kty") in ("RSA", "EC") and "d" not in entry:
                try:
                    key = jwt.PyJWK.from_dict(entry)
                except jwt.PyJWTError as error:
                    logger.warning("skipping a JWKS key (kid %r): %s", entry.get("kid"), error)
                    continue
                keys[key.key_id] = (key, entry.get("alg"))
        self._keys = keys

    async def find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        key = self._match(kid, algorithm)
        now = time.monotonic()
        stale = self._loaded_at is None or now - self._loaded_at > KEYS_MAX_AGE_SECONDS
        if key is not None and not stale:
            return key
        async with self._lock:
            loaded_at = self._loaded_at
            if loaded_at is None or stale or now - loaded_at >= self.min_refresh_seconds:
                await self._reload()
        return self._match(kid, algorithm)

    def _match(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        kty = ALGORITHMS[algorithm]
        if kid is None:
            # A token without a kid is accepted only while the set holds one key it could be.
            usable = (None, algorithm)
            candidates = [k for k, alg in self._keys.values() if k.key_type == kty and alg in usable]
            return candidates[0] if len(candidates) == 1 else None
        found = self._keys.get(kid)
        if found is None or found[0].key_type != kty or found[1] not in (None, algorithm):
            return None
        return found[0]


def token_scopes(claims: dict[str, Any]) -> frozenset[str]:
    """`scope` (space-separated, RFC 8693) or `scp` (a list, as Azure AD and Okta send it)."""
    scope = claims.get("scope")
    if isinstance(scope, str):
        return frozenset(scope.split())
    scp = claims.get("scp")
    if isinstance(scp, list):
        return frozenset(s for s in scp if isinstance(s, str))
    if isinstance(scp, str):
        return frozenset(scp.split())
    return frozenset()


class JwtVerifier:
    def __init__(self, keys: JwksKeys, *, issuer: str | None, audience: str | None) -> None:
        if not issuer or not audience:
            raise ValueError("TMF629_AUTH=jwt needs TMF629_JWT_ISSUER and TMF629_JWT_AUDIENCE")
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self._verified: dict[str, Principal] = {}

    async def verify(self, token: str) -> Principal:
        now = time.time()
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at is not None and now <= cached.expires_at + LEEWAY_SECONDS:
                return cached
            del self._verified[token]
        principal = await self._verify(token)
        if len(self._verified) >= CACHE_SIZE:
            self._forget_expired(now)
        self._verified[token] = principal
        return principal

    def _forget_expired(self, now: float) -> None:
        for token, principal in list(self._verified.items()):
            if principal.expires_at is None or now > principal.expires_at + LEEWAY_SECONDS:
                del self._verified[token]
        if len(self._verified) >= CACHE_SIZE:
            self._verified.clear()

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The bearer token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Unauthenticated("The JWT's algorithm is refused: only RS256 and ES256 are accepted")
        kid = header.get("kid")
        key = await self.keys.find(kid if isinstance(kid, str) else None, algorithm)
        if key is None:
            raise Unauthenticated("The JWT is signed by a key the service does not know")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The JWT has expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("The JWT is not valid yet (nbf)") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The JWT is not meant for this service (aud)") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The JWT comes from an issuer the service does not trust (iss)") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("The JWT's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"The JWT lacks the '{error.claim}' claim") from None
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Unauthenticated("The JWT could not be verified") from None
        subject = claims.get("sub")
        return Principal(
            subject=f"jwt:{subject}" if isinstance(subject, str) else "jwt",
            kind="jwt",
            scopes=token_scopes(claims),
            expires_at=float(claims["exp"]),
        )
