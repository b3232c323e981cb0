"""flask-jwt-extended (FJE) configured to verify tokenpair access tokens safely: the recipe.

Copy this file into a service that already uses FJE's ``@jwt_required`` (it imports nothing of
tokenpair) and call ``configure(app, jwt.PyJWKClient(jwks_url), issuer=..., audience=...)``:

- the key is chosen by ``kid`` among the issuer's published keys (PyJWKClient fetches and caches
  the JWKS; an unknown kid refetches at most every JWKS_REFETCH_COOLDOWN seconds), and the
  token's ``alg`` must be that key's: no HMAC at all, no ``JWT_SECRET_KEY``;
- ``typ`` must be ``at+jwt``, ``iss``/``aud`` are checked, every RFC 9068 claim is required;
- the leeway is tokenpair's (5 s), tokens are read from the Authorization header only;
- every refusal is an RFC 6750 answer with ``WWW-Authenticate`` (FJE's default is a 422 or a
  401 without it), and an unreachable JWKS is a 503, never a 401 or a 500.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import jwt
from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, get_jwt, jwt_required

REALM = "tokenpair"
# Asymmetric algorithms only. FJE *appends* JWT_ALGORITHM (default HS256) to the decode list,
# so it is set to one of these too.
ALGORITHMS = ("RS256", "ES256", "EdDSA")
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")  # RFC 9068 §2.1 and §4
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "scope", "client_id")
STRING_CLAIMS = ("sub", "scope", "jti", "client_id")
MAX_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: a later exp cannot even be a date
LEEWAY = 5.0  # seconds of clock skew allowed, as tokenpair's RESOURCE_LEEWAY default
JWKS_REFETCH_COOLDOWN = 5.0  # seconds: PyJWKClient's cooldown_duration, as tokenpair's
# RFC 6750 §2.1, with the scheme spelled as FJE's header parser wants it ("Bearer").
BEARER = re.compile(r"Bearer +[A-Za-z0-9\-._~+/]+=*")


def bearer_answer(status: int, error: str | None, description: str, **params: str) -> Any:
    """An RFC 6750 §3 answer: the JSON error and a WWW-Authenticate header that agree."""
    fields = {"realm": REALM, **({"error": error} if error else {})}
    if error and error != "insufficient_scope":
        fields["error_description"] = description  # fixed texts only: never what a client sent
    challenge = ", ".join(f'{name}="{value}"' for name, value in {**fields, **params}.items())
    body = jsonify(error=error or "unauthorized", error_description=description)
    return body, status, {"WWW-Authenticate": f"Bearer {challenge}"}


def invalid_token(*_: Any) -> Any:
    return bearer_answer(401, "invalid_token", "The access token is invalid")


def configure(
    app: Flask, jwks: jwt.PyJWKClient, *, issuer: str, audience: str, leeway: float = LEEWAY
) -> JWTManager:
    """Make FJE verify like tokenpair: pinned keys and algorithm, typ, claims, RFC 6750."""
    app.config.update(
        JWT_DECODE_ALGORITHMS=list(ALGORITHMS),
        JWT_ALGORITHM="RS256",  # appended to the list above by FJE: never let it be HS256
        JWT_DECODE_ISSUER=issuer,
        JWT_DECODE_AUDIENCE=audience,
        JWT_DECODE_LEEWAY=leeway,
        JWT_IDENTITY_CLAIM="sub",
        JWT_TOKEN_LOCATION=["headers"],
    )
    manager = JWTManager(app)

    @manager.decode_key_loader
    def key_for(header: dict[str, Any], _unverified_claims: dict[str, Any]) -> Any:
        # The header is unverified: it only selects among the issuer's published keys. FJE maps
        # PyJWT's InvalidTokenError to invalid_token_loader; any other exception would be a 500.
        kid = header.get("kid")
        try:
            key = jwks.get_signing_key(kid) if isinstance(kid, str) else None
        except jwt.PyJWKClientConnectionError:
            raise  # an outage, not a bad token: 503 below
        except jwt.PyJWKClientError:
            key = None
        if key is None or key.key_type == "oct":
            raise jwt.InvalidTokenError("unknown signing key")
        if header.get("alg") != key.algorithm_name or key.algorithm_name not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError("the algorithm is the key's, not the token's")
        return key.key

    @manager.token_verification_loader
    def is_access_token(header: dict[str, Any], claims: dict[str, Any]) -> bool:
        typ = header.get("typ")
        return (
            isinstance(typ, str)
            and typ.lower() in ACCESS_TOKEN_TYPES
            and all(name in claims for name in REQUIRED_CLAIMS)
            and all(isinstance(claims[name], str) and claims[name] for name in STRING_CLAIMS)
            and isinstance(claims["exp"], int)
            and claims["exp"] <= MAX_TIMESTAMP
        )

    manager.token_verification_failed_loader(invalid_token)
    manager.invalid_token_loader(invalid_token)
    manager.expired_token_loader(
        lambda *_: bearer_answer(401, "invalid_token", "The access token expired")
    )
    # Only a missing header reaches FJE's unauthorized_loader: malformed ones stop below.
    manager.unauthorized_loader(
        lambda _: bearer_answer(401, None, "This endpoint needs a bearer access token")
    )

    @app.before_request
    def refuse_a_malformed_authorization_header() -> Any:
        header = request.headers.get("Authorization")
        if header is not None and not BEARER.fullmatch(header.strip()):
            message = "The Authorization header must be: Bearer <token>"
            return bearer_answer(400, "invalid_request", message)
        return None

    @app.errorhandler(jwt.PyJWKClientConnectionError)
    def keys_unavailable(_: Exception) -> Any:
        message = "The access token cannot be checked right now; try again shortly"
        body = jsonify(error="temporarily_unavailable", error_description=message)
        return body, 503, {"Retry-After": str(int(JWKS_REFETCH_COOLDOWN))}

    return manager


def scoped(scope: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@jwt_required()`` plus a scope the token must hold (403 insufficient_scope)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        @jwt_required()
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if scope and scope not in str(get_jwt().get("scope", "")).split():
                return bearer_answer(403, "insufficient_scope", f"needs {scope}", scope=scope)
            return view(*args, **kwargs)

        return wrapper

    return decorator
