"""In-memory stand-ins the unit tests share: key sources, a key set store, valid claims, a clock."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from resource_service.keysource import FetchedKeySet
from shared.bearer import KeysUnavailable
from shared.keys import PublicKey, jwks_document

ISSUER = "http://localhost:8001"
JWKS_URL = "https://auth.example/.well-known/jwks.json"
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
        "client_id": "tokenpair-first-party",
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


class UnavailableKeySource:
    """A KeySource whose issuer is unreachable and which holds no key set at all."""

    def key_for(self, kid: str) -> PublicKey | None:
        raise KeysUnavailable(retry_after=3)


class MemoryKeySetStore:
    """A KeySetStore in a dict, shared by several key sources as the database is by workers."""

    def __init__(self) -> None:
        self.sets: dict[str, FetchedKeySet] = {}
        self.saves = 0

    def load(self, url: str) -> FetchedKeySet | None:
        return self.sets.get(url)

    def save(self, url: str, fetched: FetchedKeySet) -> None:
        self.saves += 1
        kept = self.sets.get(url)
        if kept is None or kept.fetched_at <= fetched.fetched_at:
            self.sets[url] = fetched


def jwks_response(
    body: Any, *, status: int = 200, cache_control: str | None = None
) -> requests.Response:
    """Return a requests.Response as the network would have delivered it."""
    response = requests.models.Response()
    response.status_code = status
    response.url = JWKS_URL
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers["Content-Type"] = "application/json"
    if cache_control is not None:
        response.headers["Cache-Control"] = cache_control
    return response


class FakeIssuer:
    """The issuer's JWKS endpoint: serves whatever keys the test publishes, or fails on demand."""

    def __init__(self, *keys: PublicKey) -> None:
        self.keys = list(keys)
        self.cache_control: str | None = None
        self.failure: Exception | requests.Response | None = None
        self.fetched: list[str] = []

    def __call__(self, url: str) -> requests.Response:
        self.fetched.append(url)
        if isinstance(self.failure, Exception):
            raise self.failure
        if self.failure is not None:
            return self.failure
        return jwks_response(jwks_document(self.keys), cache_control=self.cache_control)
