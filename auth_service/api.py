"""HTTP views of the auth service: parse, call one rule, map the result or refusal."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from auth_service import accounts, browser, errors, live_sessions, sessions
from auth_service.client_address import client_address
from auth_service.context import Operation, deps, operation
from auth_service.keystore import NoSigningKey
from auth_service.live_sessions import LiveSession
from shared.bearer import AccessToken, authenticate, bearer_error
from shared.errors import error_response
from shared.keys import jwks_document
from shared.payload import json_object, storable, string_field

bp = Blueprint("auth", __name__)


def client() -> str:
    """Return the address the throttles count this request by (AUTH_TRUSTED_PROXIES)."""
    return client_address(
        request.remote_addr,
        request.headers.getlist("X-Forwarded-For"),
        deps().settings.trusted_proxies,
    )


@bp.post("/auth/register")
def register() -> tuple[Response, int]:
    body = json_object()
    user = accounts.register(
        operation(), _required(body, "username"), _required(body, "password"), client()
    )
    return jsonify(id=user.id, username=user.username), 201


@bp.post("/auth/login")
def login() -> Response:
    body = json_object()
    pair = accounts.login(
        operation(),
        _required(body, "username"),
        _required(body, "password"),
        string_field(body, "scope", required=False),
        client(),
    )
    return _token_response(pair)


@bp.post("/auth/refresh")
def refresh() -> Response:
    body = json_object()
    if not _browser():
        return _token_response(
            sessions.refresh(operation(), _required(body, "refresh_token"), client())
        )
    try:
        pair = sessions.refresh(operation(), _cookie_token(body), client())
    except errors.InvalidGrant as error:
        # A dead cookie is worth nothing: the browser drops it with this answer.
        response = _auth_error(error)
        browser.expire_refresh_cookie(response)
        return response
    return _token_response(pair)


@bp.post("/auth/logout")
def logout() -> Response:
    body = json_object()
    response = Response(status=204)
    if not _browser():
        sessions.logout(operation(), _required(body, "refresh_token"))
        return response
    _no_token_in_body(body)
    presented = browser.refresh_cookie()
    if presented is not None:
        sessions.logout(operation(), presented)
    browser.expire_refresh_cookie(response)
    return response


@bp.post("/auth/logout-all")
def logout_all() -> tuple[str, int]:
    op, token = _authenticated()
    sessions.logout_all(op, token.sub)
    return "", 204


@bp.get("/auth/sessions")
def list_sessions() -> Response:
    op, token = _authenticated()
    return jsonify(
        sessions=[
            _session_json(s, current=s.id == token.sid)
            for s in live_sessions.active_sessions(op, token.sub)
        ]
    )


@bp.delete("/auth/sessions/<session_id>")
def delete_session(session_id: str) -> tuple[str, int]:
    op, token = _authenticated()
    if not storable(session_id):  # e.g. %00, which PostgreSQL cannot even compare
        raise errors.SessionNotFound("No active session with that id")
    sessions.revoke_session(op, token.sub, session_id)
    return "", 204


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    bound = deps()
    response = jsonify(jwks_document(bound.keys.public_keys()))
    response.cache_control.public = True
    response.cache_control.max_age = bound.settings.jwks_max_age
    return response


def _authenticated() -> tuple[Operation, AccessToken]:
    # A valid signature is not enough here: the session the token belongs to must be live, and
    # the token one of the user's own full login (not a third-party client's, not narrowed).
    token = authenticate()
    op = operation()
    if not live_sessions.is_live_session(op, token.sub, token.sid):
        raise bearer_error(401, "invalid_token", "The access token's session has ended")
    if not live_sessions.manages_the_account(op, token.client_id, token.scopes):
        full = " ".join(op.deps.policy.scopes)
        raise bearer_error(
            403,
            "insufficient_scope",
            f"Managing the account needs a first-party login token with the scope {full}",
            scope=full,
        )
    return op, token


def _browser() -> bool:
    return browser.is_browser_request(deps().settings)


def _no_token_in_body(body: dict[str, object]) -> None:
    # One place per mode: a page that also puts the token in a body has it where scripts read.
    if "refresh_token" in body:
        raise errors.InvalidRequest(
            "From a browser origin the refresh token travels only in its HttpOnly cookie"
        )


def _cookie_token(body: dict[str, object]) -> str:
    _no_token_in_body(body)
    presented = browser.refresh_cookie()
    if presented is None:
        raise errors.InvalidGrant("No refresh cookie was sent: log in first")
    return presented


def _required(body: dict[str, object], name: str) -> str:
    value = string_field(body, name)
    assert value is not None  # required=True raised otherwise
    return value


def _token_response(pair: sessions.TokenPair) -> Response:
    body: dict[str, object] = {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "scope": pair.scope,
    }
    in_cookie = _browser()
    if in_cookie:
        del body["refresh_token"]  # a page's script reads the body; it never sees this token
    response = jsonify(body)
    response.vary.add("Origin")  # the body and the cookie depend on it
    if in_cookie:
        browser.set_refresh_cookie(response, pair.refresh_token, pair.refresh_expires_in)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _session_json(session: LiveSession, *, current: bool) -> dict[str, object]:
    return {
        "id": session.id,
        "scope": session.scope,
        "created_at": session.created_at.isoformat(),
        "last_refreshed_at": session.last_refreshed_at.isoformat(),
        "expires_at": session.expires_at.isoformat(),
        "current": current,
    }


# Refusals of the rules -> the one error shape. ------------------------------------------------

_ERRORS: dict[type[Exception], tuple[int, str]] = {
    errors.InvalidRequest: (400, "invalid_request"),
    errors.InvalidScope: (400, "invalid_scope"),
    errors.UsernameTaken: (409, "conflict"),
    errors.InvalidGrant: (401, "invalid_grant"),
    errors.SessionNotFound: (404, "not_found"),
}


@bp.app_errorhandler(errors.AuthError)
def _auth_error(error: errors.AuthError) -> Response:
    if isinstance(error, errors.Throttled):
        headers = {"Retry-After": str(error.retry_after)}
        return error_response(429, "too_many_requests", str(error), headers)
    status, code = _ERRORS[type(error)]
    return error_response(status, code, str(error))


@bp.app_errorhandler(NoSigningKey)
def _no_signing_key(error: NoSigningKey) -> Response:
    return error_response(503, "temporarily_unavailable", "No signing key is available")
