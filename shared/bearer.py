"""Access-token verification (RFC 9068 profile) and RFC 6750 bearer answers for Flask views."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

import jwt
from cachetools import LRUCache
from flask import current_app, g, request

from shared.access_token import ACCEPTED_TYPES, REQUIRED_CLAIMS
from shared.errors import ApiError
from shared.keys import PublicKey
from shared.metrics import VERIFICATION_FAILURES

REALM = "tokenpair"
VERIFIER_EXTENSION = "tokenpair.verifier"
VERIFIED_CACHE_SIZE = 4096  # tokens remembered per process: a few MB at most
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z, the last second a datetime can hold

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; the scheme is case-insensitive.
_AUTHORIZATION = re.compile(r"bearer +([A-Za-z0-9\-._~+/]+=*)", re.IGNORECASE)

F = TypeVar("F", bound=Callable[..., Any])


class KeySource(Protocol):
    """Where a verifier finds the public key for a kid: a file, a JWKS URL, the issuer itself."""

    def key_for(self, kid: str) -> PublicKey | None:
        """Return the pinned key with this kid, None if none is, or raise KeysUnavailable."""
        ...


class KeysUnavailable(Exception):
    """The key source cannot tell whether a kid is trusted (no usable key set, issuer unreachable).

    Not a verdict on the token: the answer is 503 with Retry-After, so that no client throws
    away a good token because of an outage.
    """

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"public keys unavailable; retry in {retry_after} s")
        self.retry_after = retry_after


class InvalidToken(Exception):
    """The token must not be accepted; the description is safe to show the client."""

    def __init__(self, description: str, *, reason: str = "invalid", expired: bool = False) -> None:
        super().__init__(description)
        self.description = description
        self.expired = expired
        self.reason = "expired" if expired else reason  # a metrics label: a few fixed values


@dataclass(frozen=True)
class AccessToken:
    """The verified claims a view may rely on."""

    sub: str
    scopes: frozenset[str]
    expires_at: int
    jti: str
    sid: str | None
    client_id: str
    claims: dict[str, Any]

    @functools.cached_property
    def scope(self) -> str:
        """Return the granted scopes, space separated and sorted (once: the verifier keeps it)."""
        return " ".join(sorted(self.scopes))


# PyJWT's exceptions, most specific first, and what the client is told.
_DESCRIPTIONS: list[tuple[type[jwt.PyJWTError], str, str]] = [
    (jwt.InvalidSignatureError, "signature", "The access token signature is invalid"),
    (jwt.InvalidAudienceError, "audience", "The access token is not meant for this audience"),
    (jwt.InvalidIssuerError, "issuer", "The access token has an unexpected issuer"),
    (jwt.ImmatureSignatureError, "not_yet_valid", "The access token is not valid yet"),
    (jwt.DecodeError, "malformed", "The access token is malformed"),
]


@dataclass(frozen=True)
class _Verified:
    token: AccessToken
    key: PublicKey
    not_before: float  # the later of nbf and iat


class AccessTokenVerifier:
    """Verify access tokens against a pinned key set: one decode, every check.

    A client presents the same access token many times in its short life, so verified tokens
    are remembered (per process, bounded, keyed by the exact token string). A remembered
    token is re-checked on every request for what can change: the time (exp, nbf, iat, with
    the same leeway) and the key set (its key must still be pinned, unchanged). Its
    signature, typ, iss, aud and claim types cannot change: they are the same bytes.
    """

    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway: float = 0,
        clock: Callable[[], float] = time.time,
        cache_size: int = VERIFIED_CACHE_SIZE,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._leeway = leeway
        self._clock = clock
        self._verified: LRUCache[str, _Verified] = LRUCache(maxsize=cache_size)
        self._lock = threading.Lock()

    def verify(self, token: str) -> AccessToken:
        """Return the token's claims, raise InvalidToken saying why not, or KeysUnavailable."""
        with self._lock:
            remembered = self._verified.get(token)
        if remembered is not None and _still_pinned(self._keys, remembered.key):
            now = self._clock()
            if remembered.token.expires_at <= now - self._leeway:
                raise InvalidToken("The access token expired", expired=True)
            if remembered.not_before <= now + self._leeway:
                return remembered.token
        # Not seen, its key changed or went away, or the clock moved back: verify in full.
        return self._verify_fully(token)

    def _verify_fully(self, token: str) -> AccessToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The access token is malformed", reason="malformed") from None
        key = self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The access token expired", expired=True) from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(
                f"The access token lacks the {error.claim} claim", reason="missing_claim"
            ) from None
        except jwt.PyJWTError as error:
            raise _invalid(error) from None
        access = _access_token(claims)
        not_before = max(float(claims["nbf"]), float(claims["iat"]))
        with self._lock:
            self._verified[token] = _Verified(access, key, not_before)
        return access

    def _key_for(self, header: dict[str, Any]) -> PublicKey:
        # Everything in the header is unverified: it only selects among keys we already trust.
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCEPTED_TYPES:
            raise InvalidToken(
                "The token is not an access token (typ must be at+jwt)", reason="wrong_type"
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The access token names no signing key (kid)", reason="unknown_key")
        key = self._keys.key_for(kid)
        if key is None:
            raise InvalidToken(
                "The access token was signed by an unknown key", reason="unknown_key"
            )
        if header.get("alg") != key.alg:
            raise InvalidToken(
                f"The access token must be signed with {key.alg}", reason="algorithm"
            )
        return key


def _still_pinned(keys: KeySource, key: PublicKey) -> bool:
    found = keys.key_for(key.kid)
    # The key sources hand out the objects they parsed: identity settles it without comparing.
    return found is key or found == key


def _invalid(error: jwt.PyJWTError) -> InvalidToken:
    for kind, reason, description in _DESCRIPTIONS:
        if isinstance(error, kind):
            return InvalidToken(description, reason=reason)
    return InvalidToken("The access token is invalid")


def _access_token(claims: dict[str, Any]) -> AccessToken:
    sub, scope, sid = claims["sub"], claims["scope"], claims.get("sid")
    if not isinstance(sub, str) or not sub:
        raise InvalidToken("The access token's sub must be a non-empty string")
    client_id = claims["client_id"]
    if not isinstance(client_id, str) or not client_id:
        raise InvalidToken("The access token's client_id must be a non-empty string")
    if not isinstance(scope, str):
        raise InvalidToken("The access token's scope must be a string")
    if not isinstance(claims["jti"], str) or not isinstance(claims["exp"], int):
        raise InvalidToken("The access token's jti or exp has the wrong type")
    if claims["exp"] > MAX_TIMESTAMP:  # /api/me shows exp as a datetime; no issuer means this
        raise InvalidToken("The access token's exp is out of range")
    return AccessToken(
        sub=sub,
        scopes=frozenset(scope.split()),
        expires_at=claims["exp"],
        jti=claims["jti"],
        sid=sid if isinstance(sid, str) else None,
        client_id=client_id,
        claims=claims,
    )


def bearer_challenge(**params: str) -> str:
    """Return an RFC 6750 WWW-Authenticate value with the realm and the given parameters."""
    # Values are our own fixed texts, never client input; a quote would break the quoted-string.
    assert all('"' not in value and "\\" not in value for value in params.values())
    parts = [f'realm="{REALM}"'] + [f'{name}="{value}"' for name, value in params.items()]
    return "Bearer " + ", ".join(parts)


def bearer_error(status: int, code: str, description: str, **params: str) -> ApiError:
    """Return the ApiError for a failed bearer check, header and body in agreement."""
    if code == "insufficient_scope":
        challenge = bearer_challenge(error=code, **params)
    else:
        challenge = bearer_challenge(error=code, error_description=description, **params)
    return ApiError(description, status=status, code=code, headers={"WWW-Authenticate": challenge})


def token_from_request() -> str:
    """Return the bearer token of the current request, or raise the RFC 6750 answer."""
    header = request.headers.get("Authorization")
    if header is None:
        raise ApiError(
            "This endpoint needs a bearer access token",
            status=401,
            code="unauthorized",
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    match = _AUTHORIZATION.fullmatch(header.strip())
    if match is None:
        raise bearer_error(
            400, "invalid_request", "The Authorization header must be: Bearer <token>"
        )
    return match.group(1)


def authenticate(*scopes: str) -> AccessToken:
    """Verify the request's bearer token and its scopes, or raise the RFC 6750 answer."""
    verifier: AccessTokenVerifier = current_app.extensions[VERIFIER_EXTENSION]
    try:
        token = verifier.verify(token_from_request())
    except InvalidToken as error:
        VERIFICATION_FAILURES.labels(current_app.name, error.reason).inc()
        raise bearer_error(401, "invalid_token", error.description) from None
    except KeysUnavailable as error:
        VERIFICATION_FAILURES.labels(current_app.name, "keys_unavailable").inc()
        # No WWW-Authenticate: other credentials would get the same answer (RFC 9110 §11.6.1).
        raise ApiError(
            "The access token cannot be checked right now; try again shortly",
            status=503,
            code="temporarily_unavailable",
            headers={"Retry-After": str(error.retry_after)},
        ) from None
    missing = [scope for scope in scopes if scope not in token.scopes]
    if missing:
        needed = " ".join(scopes)
        raise bearer_error(
            403, "insufficient_scope", f"This request needs the scope {needed}", scope=needed
        )
    return token


def require_token(*scopes: str) -> Callable[[F], F]:
    """Decorate a view so it runs only with a valid access token holding *scopes*."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.access_token = authenticate(*scopes)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def current_token() -> AccessToken:
    """Return the access token the current request was authenticated with."""
    return cast(AccessToken, g.access_token)
