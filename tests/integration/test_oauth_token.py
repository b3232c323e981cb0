"""The OAuth 2.0 token endpoint (RFC 6749 §3.2, §5), revocation (RFC 7009), metadata (RFC 8414)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import authorization_codes, clients, sessions
from auth_service.context import operation
from tests.integration.conftest import AuthActions, assert_error, claims_of

TOKEN = "/oauth/token"
URI = "https://app.example/cb"


@dataclass(frozen=True)
class Client:
    id: str
    secret: str | None


def register(app: Flask, *, confidential: bool, scope: str | None = None) -> Client:
    with app.app_context():
        done = clients.register(
            operation(), "Test client", [URI], confidential=confidential, scope=scope
        )
    return Client(done.client.id, done.secret)


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def oauth_session(app: Flask, auth: AuthActions, client: Client) -> str:
    """Open a session of a user for *client* (as the authorization code grant will); its token."""
    user = claims_of(auth.tokens()["access_token"])["sub"]
    with app.app_context():
        return sessions.open_session(operation(), user, "notes:read", client.id).refresh_token


@pytest.fixture
def public(auth_app: Flask) -> Client:
    return register(auth_app, confidential=False)


@pytest.fixture
def confidential(auth_app: Flask) -> Client:
    return register(auth_app, confidential=True)


def test_the_metadata_names_the_issuer_and_the_token_endpoint(client: FlaskClient) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").get_json()

    assert metadata["issuer"] == "http://localhost:8001"
    assert metadata["token_endpoint"] == "http://localhost:8001/oauth/token"
    assert metadata["jwks_uri"] == "http://localhost:8001/.well-known/jwks.json"
    assert metadata["revocation_endpoint"] == "http://localhost:8001/oauth/revoke"
    assert set(metadata["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
    }
    assert metadata["authorization_endpoint"] == "http://localhost:8001/oauth/authorize"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "password" not in metadata["grant_types_supported"]
    assert metadata["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]


def test_a_public_client_rotates_its_refresh_token_like_auth_refresh(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    first = oauth_session(auth_app, auth, public)
    form = {"grant_type": "refresh_token", "refresh_token": first, "client_id": public.id}

    answer = client.post(TOKEN, data=form)

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] != first
    assert answer.headers["Cache-Control"] == "no-store"
    assert claims_of(body["access_token"])["client_id"] == public.id
    # The same rotation rules: a retry inside the grace window gets the same child...
    assert client.post(TOKEN, data=form).get_json()["refresh_token"] == body["refresh_token"]
    # An OAuth client's token is not the first-party client's: /auth/refresh refuses it.
    assert auth.refresh(body["refresh_token"]).status_code == 401


def test_reusing_a_rotated_token_at_the_token_endpoint_revokes_the_session(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client, clock: Any
) -> None:
    first = oauth_session(auth_app, auth, public)
    form = {"grant_type": "refresh_token", "client_id": public.id}
    child = client.post(TOKEN, data={**form, "refresh_token": first}).get_json()["refresh_token"]
    clock.advance(11)  # past AUTH_REFRESH_REUSE_GRACE

    reuse = client.post(TOKEN, data={**form, "refresh_token": first})

    assert assert_error(reuse, 400, "invalid_grant")
    assert_error(client.post(TOKEN, data={**form, "refresh_token": child}), 400, "invalid_grant")


def test_a_refresh_token_works_only_for_the_client_it_was_issued_to(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    other = register(auth_app, confidential=False)
    token = oauth_session(auth_app, auth, public)
    first_party = auth.tokens()["refresh_token"]

    stolen = client.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": token, "client_id": other.id}
    )
    login_token = client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first_party, "client_id": public.id},
    )

    assert "another client" in assert_error(stolen, 400, "invalid_grant")["error_description"]
    assert_error(login_token, 400, "invalid_grant")
    own = {"grant_type": "refresh_token", "refresh_token": token, "client_id": public.id}
    assert client.post(TOKEN, data=own).status_code == 200  # the refused attempts used nothing


def test_a_refresh_asking_for_more_scope_is_invalid_scope_and_keeps_the_token(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    token = oauth_session(auth_app, auth, public)  # granted notes:read
    form = {"grant_type": "refresh_token", "refresh_token": token, "client_id": public.id}

    wider = client.post(TOKEN, data={**form, "scope": "notes:read notes:write"})

    assert_error(wider, 400, "invalid_scope")
    assert client.post(TOKEN, data={**form, "scope": "notes:read"}).status_code == 200


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_credentials_gives_a_confidential_client_a_token_for_itself(
    client: FlaskClient, confidential: Client, method: str
) -> None:
    assert confidential.secret is not None
    form = {"grant_type": "client_credentials", "scope": "notes:read"}
    if method == "client_secret_basic":
        answer = client.post(TOKEN, data=form, headers=basic(confidential.id, confidential.secret))
    else:
        form |= {"client_id": confidential.id, "client_secret": confidential.secret}
        answer = client.post(TOKEN, data=form)

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert "refresh_token" not in body and body["scope"] == "notes:read"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == claims["client_id"] == confidential.id
    assert "sid" not in claims


def test_client_credentials_is_refused_to_a_public_client_and_beyond_the_clients_scope(
    auth_app: Flask, client: FlaskClient, public: Client
) -> None:
    narrow = register(auth_app, confidential=True, scope="notes:read")
    assert narrow.secret is not None

    by_public = client.post(
        TOKEN, data={"grant_type": "client_credentials", "client_id": public.id}
    )
    too_wide = client.post(
        TOKEN,
        data={"grant_type": "client_credentials", "scope": "notes:write"},
        headers=basic(narrow.id, narrow.secret),
    )

    assert_error(by_public, 400, "unauthorized_client")
    assert_error(too_wide, 400, "invalid_scope")


@pytest.mark.parametrize(
    "credentials",
    ["wrong secret", "unknown client", "no credentials", "secret for a public client", "bearer"],
)
def test_failed_client_authentication_is_401_invalid_client_with_a_basic_challenge(
    client: FlaskClient, confidential: Client, public: Client, credentials: str
) -> None:
    form: dict[str, str] = {"grant_type": "client_credentials"}
    headers: dict[str, str] = {}
    if credentials == "wrong secret":
        headers = basic(confidential.id, "not-the-secret")
    elif credentials == "unknown client":
        headers = basic("nobody", "x")
    elif credentials == "secret for a public client":
        form |= {"client_id": public.id, "client_secret": "anything"}
    elif credentials == "bearer":
        headers = {"Authorization": "Bearer abc"}

    answer = client.post(TOKEN, data=form, headers=headers)

    assert_error(answer, 401, "invalid_client")
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="tokenpair"'


@pytest.mark.parametrize(
    ("form", "headers", "code"),
    [
        (
            {"grant_type": "password", "username": "u", "password": "p"},
            None,
            "unsupported_grant_type",
        ),
        ({}, None, "invalid_request"),
        ({"grant_type": "refresh_token"}, None, "invalid_request"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, None, "invalid_grant"),
        ("grant_type=client_credentials&grant_type=refresh_token", None, "invalid_request"),
        (
            {"grant_type": "client_credentials"},
            {"Content-Type": "application/json"},
            "invalid_request",
        ),
    ],
    ids=["password grant", "no grant type", "no refresh token", "unknown token", "twice", "json"],
)
def test_bad_token_requests_get_their_rfc6749_error(
    client: FlaskClient, public: Client, form: Any, headers: dict[str, str] | None, code: str
) -> None:
    if isinstance(form, dict):
        form = {**form, "client_id": public.id}
        answer = client.post(TOKEN, data=form, headers=headers)
    else:
        body = f"{form}&client_id={public.id}"
        answer = client.post(TOKEN, data=body, content_type="application/x-www-form-urlencoded")

    assert_error(answer, 400, code)


# Revocation (RFC 7009) ------------------------------------------------------------------------

REVOKE = "/oauth/revoke"


def test_a_client_revokes_its_refresh_token_and_the_session_ends(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    token = oauth_session(auth_app, auth, public)

    answer = client.post(
        REVOKE, data={"token": token, "token_type_hint": "refresh_token", "client_id": public.id}
    )

    assert answer.status_code == 200
    refresh = {"grant_type": "refresh_token", "refresh_token": token, "client_id": public.id}
    assert_error(client.post(TOKEN, data=refresh), 400, "invalid_grant")


def test_revoking_an_unknown_token_or_an_access_token_is_200_and_changes_nothing(
    client: FlaskClient, auth: AuthActions, confidential: Client
) -> None:
    assert confidential.secret is not None
    tokens = auth.tokens()
    headers = basic(confidential.id, confidential.secret)

    unknown = client.post(REVOKE, data={"token": "never-issued"}, headers=headers)
    access = client.post(REVOKE, data={"token": tokens["access_token"]}, headers=headers)

    assert unknown.status_code == access.status_code == 200
    assert auth.refresh(tokens["refresh_token"]).status_code == 200


def test_a_client_cannot_revoke_another_clients_refresh_token(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    other = register(auth_app, confidential=False)
    token = oauth_session(auth_app, auth, public)

    refused = client.post(REVOKE, data={"token": token, "client_id": other.id})

    assert_error(refused, 400, "unauthorized_client")
    refresh = {"grant_type": "refresh_token", "refresh_token": token, "client_id": public.id}
    assert client.post(TOKEN, data=refresh).status_code == 200


def test_revocation_needs_client_authentication_and_a_token(
    client: FlaskClient, public: Client
) -> None:
    unauthenticated = client.post(REVOKE, data={"token": "x"})
    without_token = client.post(REVOKE, data={"client_id": public.id})

    assert_error(unauthenticated, 401, "invalid_client")
    assert unauthenticated.headers["WWW-Authenticate"] == 'Basic realm="tokenpair"'
    assert_error(without_token, 400, "invalid_request")


# grant_type=authorization_code (the codes come from /oauth/authorize: here from the rule) -------


def issue_code(app: Flask, auth: AuthActions, client: Client, verifier: str) -> str:
    user = claims_of(auth.tokens()["access_token"])["sub"]
    with app.app_context():
        op = operation()
        registered = clients.find(op, client.id)
        assert registered is not None
        challenge = authorization_codes.s256(verifier)
        return authorization_codes.issue(op, registered, URI, challenge, user, "notes:read")


def test_the_code_grant_answers_a_token_pair_of_the_client_once(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = issue_code(auth_app, auth, public, verifier)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": URI,
        "code_verifier": verifier,
        "client_id": public.id,
    }

    answer = client.post(TOKEN, data=form)
    replay = client.post(TOKEN, data=form)

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    assert claims_of(body["access_token"])["client_id"] == public.id
    assert body["scope"] == "notes:read" and body["refresh_token"]
    assert "already used" in assert_error(replay, 400, "invalid_grant")["error_description"]
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert_error(client.post(TOKEN, data={**refresh, "client_id": public.id}), 400, "invalid_grant")


@pytest.mark.parametrize("missing", ["code", "redirect_uri", "code_verifier"])
def test_the_code_grant_without_a_parameter_is_invalid_request(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, public: Client, missing: str
) -> None:
    verifier = secrets.token_urlsafe(32)
    form = {
        "grant_type": "authorization_code",
        "code": issue_code(auth_app, auth, public, verifier),
        "redirect_uri": URI,
        "code_verifier": verifier,
        "client_id": public.id,
    }
    del form[missing]

    assert (
        missing
        in assert_error(client.post(TOKEN, data=form), 400, "invalid_request")["error_description"]
    )


def test_a_confidential_client_redeems_its_code_with_its_secret(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, confidential: Client
) -> None:
    assert confidential.secret is not None
    verifier = secrets.token_urlsafe(32)
    form = {
        "grant_type": "authorization_code",
        "code": issue_code(auth_app, auth, confidential, verifier),
        "redirect_uri": URI,
        "code_verifier": verifier,
    }

    unauthenticated = client.post(TOKEN, data={**form, "client_id": confidential.id})
    answer = client.post(TOKEN, data=form, headers=basic(confidential.id, confidential.secret))

    assert_error(unauthenticated, 401, "invalid_client")
    assert answer.status_code == 200, answer.get_json()
