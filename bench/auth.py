"""The JWT of the "GET /customer/{id} with a JWT" scenario: a signing key made for the run, its JWKS file,
the settings that make the service accept it, and a token with `customer:read` valid for the run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://idp.bench.example"
AUDIENCE = "tmf629-bench"
KID = "bench-1"


def jwt_setup(workdir: Path) -> tuple[dict[str, str], str]:
    """(TMF629_* settings for the service, an `Authorization` header value)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": KID, "alg": "RS256", "use": "sig"}]}))
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "scope": "customer:read", "iat": now}
    token = jwt.encode({**claims, "exp": now + 3600}, key, algorithm="RS256", headers={"kid": KID})
    env = {
        "TMF629_AUTH": "jwt",
        "TMF629_JWT_JWKS_FILE": str(jwks),
        "TMF629_JWT_ISSUER": ISSUER,
        "TMF629_JWT_AUDIENCE": AUDIENCE,
    }
    return env, f"Bearer {token}"
