"""Token introspection (RFC 7662): POST /oauth/introspect, for confidential clients only.

A resource server that asks here learns what local verification cannot tell it: whether the
token's session is still live (a logout, a revoked session or a removed client ends it at
once, not at the access token's exp). The rule:

- an access token is active iff the verifier accepts it (the resource service's checks:
  signature, kid, alg, typ, iss, aud, exp/nbf, required claims) and its session is live
  (``live_sessions.is_live_session``, the check of /auth/sessions); a client_credentials token has
  no session and is active while its client is registered;
- a refresh token is active iff it is the live token of a live session of the calling client
  (§4: another client's token is inactive, so its owner, user and scope stay unrevealed);
- anything else is ``{"active": false}`` and nothing more.

``token_type_hint`` is accepted and ignored (§2.1 allows it): both lookups are cheap, and the
answer never depends on the hint. The verifier reads the auth service's own key ring, which
cannot be unreachable; should a verifier report its keys unavailable, the answer is 503 with
Retry-After rather than a false "inactive" that would make a resource server drop a good token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from auth_service import chain, clients, errors, live_sessions, oauth_http
from auth_service.clients import Client
from auth_service.context import Operation, operation
from shared.bearer import InvalidToken, KeysUnavailable
from shared.errors import ApiError

bp = Blueprint("introspection", __name__)

INTROSPECTION_PATH = "/oauth/introspect"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
INACTIVE: dict[str, Any] = {"active": False}


@bp.post(INTROSPECTION_PATH)
def introspect() -> Response:
    """RFC 7662 §2: what the token is, or {"active": false}; 401 for any caller not confidential."""
    form = oauth_http.form()
    op = operation()
    client = oauth_http.authenticated_client(op, form)
    if not client.confidential:
        # §2.1 requires authorization; a public client has no credentials to present.
        raise errors.InvalidClient("Introspection is for confidential clients only")
    presented = form.get("token")
    if presented is None:
        raise ApiError('"token" is required')
    try:
        answer = describe(op, client, presented)
    except KeysUnavailable as error:
        raise ApiError(
            "The token cannot be checked right now; try again shortly",
            status=503,
            code="temporarily_unavailable",
            headers={"Retry-After": str(error.retry_after)},
        ) from None
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def describe(op: Operation, client: Client, presented: str) -> dict[str, Any]:
    """Return the RFC 7662 §2.2 answer for *presented*, asked by *client*."""
    access = _access_token(op, presented)
    if access is not None:
        return access
    link = live_sessions.live_link(op, presented)
    if link is None or link.client_id != client.id:
        return dict(INACTIVE)
    idle_expiry = chain.idle_expires_at(link.issued_at, link.expires_at, op.deps.policy.refresh_ttl)
    return {
        "active": True,
        "scope": link.scope,
        "client_id": link.client_id,
        "sub": link.user_id,
        "exp": int(idle_expiry.timestamp()),
        "token_type": "refresh_token",
    }


def _access_token(op: Operation, presented: str) -> dict[str, Any] | None:
    try:
        token = op.deps.verifier.verify(presented)
    except InvalidToken:
        return None
    if token.sid is not None:
        live = live_sessions.is_live_session(op, token.sub, token.sid)
    else:  # client_credentials: the client is its own subject, and has no session
        live = token.sub == token.client_id and clients.find(op, token.client_id) is not None
    if not live:
        return dict(INACTIVE)
    claims = token.claims
    return {
        "active": True,
        "scope": claims["scope"],
        "client_id": token.client_id,
        "sub": token.sub,
        "exp": token.expires_at,
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "iss": claims["iss"],
        "aud": claims["aud"],
        "jti": token.jti,
        "token_type": "Bearer",
    }


bp.register_error_handler(errors.AuthError, oauth_http.oauth_error)
