"""HTTP views of the OAuth 2.0 interface: metadata (RFC 8414) and the token endpoint.

Thin, like api.py: parse the form and the client's credentials, call one grant, map the
result or refusal to RFC 6749 §5.1 / §5.2.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from flask import Blueprint, Response, jsonify, request

from auth_service import clients, errors, grants, sessions
from auth_service.api import client as client_address
from auth_service.context import Operation, deps, operation
from auth_service.models import OAuthClient
from shared.errors import ApiError, error_response
from shared.payload import storable

bp = Blueprint("oauth", __name__)

TOKEN_PATH = "/oauth/token"
REVOCATION_PATH = "/oauth/revoke"
FORM = "application/x-www-form-urlencoded"
AUTHORIZATION_PATH = "/oauth/authorize"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
BASIC_CHALLENGE = 'Basic realm="tokenpair"'


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    settings = deps().settings
    issuer = settings.issuer.rstrip("/")
    return jsonify(
        issuer=settings.issuer,
        token_endpoint=issuer + TOKEN_PATH,
        revocation_endpoint=issuer + REVOCATION_PATH,
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        jwks_uri=issuer + "/.well-known/jwks.json",
        grant_types_supported=list(GRANT_TYPES),
        token_endpoint_auth_methods_supported=list(AUTH_METHODS),
        scopes_supported=list(deps().policy.scopes),
        authorization_endpoint=issuer + AUTHORIZATION_PATH,
        response_types_supported=["code"],
        response_modes_supported=["query"],
        code_challenge_methods_supported=["S256"],  # PKCE is required of every client
        authorization_response_iss_parameter_supported=True,  # RFC 9207
    )


@bp.post(TOKEN_PATH)
def token() -> Response:
    form = _form()
    op = operation()
    client = _authenticated_client(op, form)
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise ApiError('"grant_type" is required')
    if grant_type == "authorization_code":
        issued = grants.authorization_code(
            op,
            client,
            _required(form, "code"),
            _required(form, "redirect_uri"),
            _required(form, "code_verifier"),
            client_address(),
        )
    elif grant_type == "refresh_token":
        presented = form.get("refresh_token")
        if presented is None:
            raise ApiError('"refresh_token" is required')
        issued = grants.refresh_token(op, client, presented, form.get("scope"), client_address())
    elif grant_type == "client_credentials":
        issued = grants.client_credentials(op, client, form.get("scope"), client_address())
    else:
        raise errors.UnsupportedGrantType(f"grant_type must be one of: {' '.join(GRANT_TYPES)}")
    return _token_response(issued)


def _required(form: dict[str, str], name: str) -> str:
    if name not in form:
        raise ApiError(f'"{name}" is required')
    return form[name]


@bp.post(REVOCATION_PATH)
def revoke() -> Response:
    """RFC 7009: revoke a refresh token's session; 200 for an unknown token (no oracle)."""
    form = _form()
    op = operation()
    client = _authenticated_client(op, form)
    presented = form.get("token")
    if presented is None:
        raise ApiError('"token" is required')
    # Any token_type_hint is fine: the lookup is the same. An access token (a JWT) is no
    # refresh token, so it is "unknown" here and lives until its exp, minutes away.
    sessions.revoke_for_client(op, presented, client.id)
    response = Response(status=200)
    response.headers["Cache-Control"] = "no-store"
    return response


def _form() -> dict[str, str]:
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


def _authenticated_client(op: Operation, form: dict[str, str]) -> OAuthClient:
    """Authenticate the client by HTTP Basic or by the body (RFC 6749 §2.3.1), not both."""
    header = request.headers.get("Authorization")
    if header is not None:
        if "client_secret" in form:
            raise ApiError("Use one client authentication method: Basic or the body")
        client_id, secret = _basic(header)
        if form.get("client_id", client_id) != client_id:
            raise ApiError("client_id in the body differs from the Basic credentials")
        return clients.authenticate(op, client_id, secret)
    body_id = form.get("client_id")
    if body_id is None:
        raise errors.InvalidClient("Client authentication is required (client_id)")
    return clients.authenticate(op, body_id, form.get("client_secret"))


def _basic(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise errors.InvalidClient("The token endpoint takes HTTP Basic client credentials")
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


def _token_response(issued: grants.Issued) -> Response:
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


# RFC 6749 §5.2: every refusal of the token endpoint is 400, except a failed client login.
_ERRORS: dict[type[Exception], str] = {
    errors.InvalidRequest: "invalid_request",
    errors.InvalidScope: "invalid_scope",
    errors.InvalidGrant: "invalid_grant",
    errors.UnauthorizedClient: "unauthorized_client",
    errors.UnsupportedGrantType: "unsupported_grant_type",
}


@bp.errorhandler(errors.AuthError)
def _oauth_error(error: errors.AuthError) -> Response:
    if isinstance(error, errors.Throttled):
        headers = {"Retry-After": str(error.retry_after)}
        return error_response(429, "too_many_requests", str(error), headers)
    if isinstance(error, errors.InvalidClient):
        headers = {"WWW-Authenticate": BASIC_CHALLENGE}
        return error_response(401, "invalid_client", str(error), headers)
    return error_response(400, _ERRORS[type(error)], str(error))
