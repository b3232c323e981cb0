"""In-memory stand-ins the unit tests share: a key source, valid claims, and a settable clock."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from shared.keys import PublicKey

ISSUER = "http://localhost:8001"
AUDIENCE = "tokenpair-resource"
DEFAULT_SCOPE = "notes:read notes:write"

# The `mint` fixture: keyword arguments in, a signed compact JWS out.
Mint = Callable[..., str]


class StaticKeySource:
    """A KeySource over a fixed set of keys, as a file or JWKS would give after loading."""

    def __init__(self, *keys: PublicKey) -> None:
        self.keys = {key.kid: key for key in keys}
        self.asked: list[str] = []

    def key_for(self, kid: str) -> PublicKey | None:
        self.asked.append(kid)
        return self.keys.get(kid)


def access_claims(**overrides: Any) -> dict[str, Any]:
    """Return the claims of a valid access token issued now, with *overrides* applied."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "scope": DEFAULT_SCOPE,
        "sid": "session-1",
    }
    claims.update(overrides)
    return claims


class MonotonicClock:
    """A stand-in for time.monotonic that only moves when the test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
