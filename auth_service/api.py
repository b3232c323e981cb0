"""HTTP views of the auth service: parse, call one service method, map the result."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, current_app, jsonify

from auth_service import service as rules
from auth_service.extensions import db
from auth_service.keystore import KeyRing, NoSigningKey
from auth_service.models import Session
from shared.bearer import authenticate
from shared.errors import error_response
from shared.keys import jwks_document
from shared.payload import json_object, storable, string_field

bp = Blueprint("auth", __name__)

SERVICES_EXTENSION = "tokenpair.auth"


def auth_service() -> rules.AuthService:
    """Return the business rules bound to this request's database session and clock."""
    deps = current_app.extensions[SERVICES_EXTENSION]
    return rules.AuthService(
        db.session(),
        issuer=deps["issuer"],
        passwords=deps["passwords"],
        policy=deps["policy"],
        now=deps["clock"](),
    )


@bp.post("/auth/register")
def register() -> tuple[Response, int]:
    body = json_object()
    user = auth_service().register(_required(body, "username"), _required(body, "password"))
    return jsonify(id=user.id, username=user.username), 201


@bp.post("/auth/login")
def login() -> Response:
    body = json_object()
    pair = auth_service().login(
        _required(body, "username"),
        _required(body, "password"),
        string_field(body, "scope", required=False),
    )
    return _token_response(pair)


@bp.post("/auth/refresh")
def refresh() -> Response:
    return _token_response(auth_service().refresh(_required(json_object(), "refresh_token")))


@bp.post("/auth/logout")
def logout() -> tuple[str, int]:
    auth_service().logout(_required(json_object(), "refresh_token"))
    return "", 204


@bp.post("/auth/logout-all")
def logout_all() -> tuple[str, int]:
    auth_service().logout_all(authenticate().sub)
    return "", 204


@bp.get("/auth/sessions")
def list_sessions() -> Response:
    token = authenticate()
    sessions = auth_service().active_sessions(token.sub)
    ttl = current_app.extensions[SERVICES_EXTENSION]["policy"].refresh_ttl
    return jsonify(sessions=[_session_json(s, ttl, current=s.id == token.sid) for s in sessions])


@bp.delete("/auth/sessions/<session_id>")
def delete_session(session_id: str) -> tuple[str, int]:
    user_id = authenticate().sub
    if not storable(session_id):  # e.g. %00, which PostgreSQL cannot even compare
        raise rules.SessionNotFound("No active session with that id")
    auth_service().revoke_session(user_id, session_id)
    return "", 204


@bp.get("/.well-known/jwks.json")
def jwks() -> Response:
    keys: KeyRing = current_app.extensions[SERVICES_EXTENSION]["keys"]
    response = jsonify(jwks_document(keys.public_keys()))
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["TOKENPAIR_SETTINGS"].jwks_max_age
    return response


def _required(body: dict[str, object], name: str) -> str:
    value = string_field(body, name)
    assert value is not None  # required=True raised otherwise
    return value


def _token_response(pair: rules.TokenPair) -> Response:
    response = jsonify(
        access_token=pair.access_token,
        token_type="Bearer",
        expires_in=pair.expires_in,
        refresh_token=pair.refresh_token,
        scope=pair.scope,
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _session_json(session: Session, refresh_ttl: timedelta, *, current: bool) -> dict[str, object]:
    return {
        "id": session.id,
        "scope": session.scope,
        "created_at": session.created_at.isoformat(),
        "last_refreshed_at": session.refreshed_at.isoformat(),
        "expires_at": session.idle_expires_at(refresh_ttl).isoformat(),
        "current": current,
    }


# Domain exceptions -> the one error shape. ---------------------------------------------------

_ERRORS: dict[type[Exception], tuple[int, str]] = {
    rules.InvalidRequest: (400, "invalid_request"),
    rules.InvalidScope: (400, "invalid_scope"),
    rules.UsernameTaken: (409, "conflict"),
    rules.InvalidGrant: (401, "invalid_grant"),
    rules.SessionNotFound: (404, "not_found"),
}


@bp.app_errorhandler(rules.AuthError)
def _auth_error(error: rules.AuthError) -> Response:
    if isinstance(error, rules.LoginThrottled):
        headers = {"Retry-After": str(error.retry_after)}
        return error_response(429, "too_many_requests", str(error), headers)
    status, code = _ERRORS[type(error)]
    return error_response(status, code, str(error))


@bp.app_errorhandler(NoSigningKey)
def _no_signing_key(error: NoSigningKey) -> Response:
    return error_response(503, "temporarily_unavailable", "No signing key is available")
