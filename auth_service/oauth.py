"""HTTP views of the OAuth 2.0 interface: metadata (RFC 8414) and the token endpoint.

Thin, like api.py: parse the form and the client's credentials, call one grant, map the
result or refusal to RFC 6749 §5.1 / §5.2.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from auth_service import errors, grants, introspection, oauth_http, sessions
from auth_service.api import client as client_address
from auth_service.context import deps, operation
from shared.errors import ApiError

bp = Blueprint("oauth", __name__)

TOKEN_PATH = "/oauth/token"
REVOCATION_PATH = "/oauth/revoke"
AUTHORIZATION_PATH = "/oauth/authorize"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> Response:
    settings = deps().settings
    issuer = settings.issuer.rstrip("/")
    return jsonify(
        issuer=settings.issuer,
        token_endpoint=issuer + TOKEN_PATH,
        revocation_endpoint=issuer + REVOCATION_PATH,
        revocation_endpoint_auth_methods_supported=list(AUTH_METHODS),
        introspection_endpoint=issuer + introspection.INTROSPECTION_PATH,
        introspection_endpoint_auth_methods_supported=list(introspection.AUTH_METHODS),
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
    form = oauth_http.form()
    op = operation()
    client = oauth_http.authenticated_client(op, form)
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
    return oauth_http.token_response(issued)


def _required(form: dict[str, str], name: str) -> str:
    if name not in form:
        raise ApiError(f'"{name}" is required')
    return form[name]


@bp.post(REVOCATION_PATH)
def revoke() -> Response:
    """RFC 7009: revoke a refresh token's session; 200 for an unknown token (no oracle)."""
    form = oauth_http.form()
    op = operation()
    client = oauth_http.authenticated_client(op, form)
    presented = form.get("token")
    if presented is None:
        raise ApiError('"token" is required')
    # Any token_type_hint is fine: the lookup is the same. An access token (a JWT) is no
    # refresh token, so it is "unknown" here and lives until its exp, minutes away.
    sessions.revoke_for_client(op, presented, client.id)
    response = Response(status=200)
    response.headers["Cache-Control"] = "no-store"
    return response


bp.register_error_handler(errors.AuthError, oauth_http.oauth_error)
