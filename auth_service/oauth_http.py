"""The HTTP side every OAuth 2.0 endpoint shares: its form, client authentication, its answers.

The token, revocation and introspection endpoints all take a form (RFC 6749 §3.2), authenticate
the client the same way (§2.3.1) and refuse with the same §5.2 errors; each endpoint's module
stays a few thin views over its rules.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from flask import Response, jsonify, request

from auth_service import clients, errors, grants
from auth_service.clients import Client
from auth_service.context import Operation
from shared.errors import ApiError, error_response
from shared.payload import storable

FORM = "application/x-www-form-urlencoded"
BASIC_CHALLENGE = 'Basic realm="tokenpair"'


def form() -> dict[str, str]:
    """Return the form parameters, each once (RFC 6749 §3.2), or raise 400 saying what is wrong."""
    if request.mimetype != FORM:
        raise ApiError(f"The body must be sent with Content-Type: {FORM}")
    params: dict[str, str] = {}
    for name, values in request.form.lists():
        if len(values) > 1:
            raise ApiError(f'"{name}" must be sent only once')
        if not storable(values[0]) or not storable(name):
            raise ApiError(f'"{name}" must be valid Unicode text without NUL characters')
        if values[0]:  # §3.1: a parameter sent without a value is treated as omitted
            params[name] = values[0]
    return params


def authenticated_client(op: Operation, params: dict[str, str]) -> Client:
    """Authenticate the client by HTTP Basic or by the body (RFC 6749 §2.3.1), not both."""
    header = request.headers.get("Authorization")
    if header is not None:
        if "client_secret" in params:
            raise ApiError("Use one client authentication method: Basic or the body")
        client_id, secret = _basic(header)
        if params.get("client_id", client_id) != client_id:
            raise ApiError("client_id in the body differs from the Basic credentials")
        return clients.authenticate(op, client_id, secret)
    body_id = params.get("client_id")
    if body_id is None:
        raise errors.InvalidClient("Client authentication is required (client_id)")
    return clients.authenticate(op, body_id, params.get("client_secret"))


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise errors.InvalidClient("This endpoint takes HTTP Basic client credentials")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.InvalidClient("The Basic credentials are malformed") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise errors.InvalidClient("The Basic credentials are malformed")
    # §2.3.1: both are form-urlencoded before they are joined with the colon.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if not storable(client_id) or not storable(secret):
        raise errors.InvalidClient("The Basic credentials are malformed")
    return client_id, secret


def token_response(issued: grants.Issued) -> Response:
    """Return the RFC 6749 §5.1 answer for *issued*, never stored by a cache."""
    body: dict[str, object] = {
        "access_token": issued.access_token,
        "token_type": "Bearer",
        "expires_in": issued.expires_in,
        "scope": issued.scope,
    }
    if issued.refresh_token is not None:
        body["refresh_token"] = issued.refresh_token
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


# RFC 6749 §5.2: every refusal of an OAuth endpoint is 400, except a failed client login.
_ERRORS: dict[type[Exception], str] = {
    errors.InvalidRequest: "invalid_request",
    errors.InvalidScope: "invalid_scope",
    errors.InvalidGrant: "invalid_grant",
    errors.UnauthorizedClient: "unauthorized_client",
    errors.UnsupportedGrantType: "unsupported_grant_type",
}


def oauth_error(error: errors.AuthError) -> Response:
    """Map a refusal of the rules to its RFC 6749 §5.2 answer (register it on each blueprint)."""
    if isinstance(error, errors.Throttled):
        headers = {"Retry-After": str(error.retry_after)}
        return error_response(429, "too_many_requests", str(error), headers)
    if isinstance(error, errors.InvalidClient):
        headers = {"WWW-Authenticate": BASIC_CHALLENGE}
        return error_response(401, "invalid_client", str(error), headers)
    return error_response(400, _ERRORS[type(error)], str(error))
