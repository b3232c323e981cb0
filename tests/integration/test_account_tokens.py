"""Which access tokens may manage the account: logout-all and the sessions endpoints.

Only a token of the first-party login that carries every scope acts for the user there; a
login narrowed to notes:read, or any third-party client's token, is 403 insufficient_scope.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import authorization_codes, clients
from auth_service.context import operation
from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of

URI = "https://app.example/cb"
FULL = "notes:read notes:write"
CHALLENGE = f'Bearer realm="tokenpair", error="insufficient_scope", scope="{FULL}"'
ENDPOINTS = ["logout-all", "list sessions", "delete a session"]


def call(client: FlaskClient, endpoint: str, access_token: str, other_sid: str) -> Any:
    """Call one account endpoint with *access_token*; a deletion aims at *other_sid*."""
    headers = bearer(access_token)
    if endpoint == "logout-all":
        return client.post("/auth/logout-all", headers=headers)
    if endpoint == "list sessions":
        return client.get("/auth/sessions", headers=headers)
    return client.delete(f"/auth/sessions/{other_sid}", headers=headers)


def assert_not_an_account_token(response: Any) -> None:
    assert_error(response, 403, "insufficient_scope")
    assert response.headers["WWW-Authenticate"] == CHALLENGE


def register_client(app: Flask, *, first_party: bool) -> str:
    with app.app_context():
        done = clients.register(
            operation(), "App", [URI], confidential=False, scope=None, first_party=first_party
        )
    return done.client.id


def client_token(app: Flask, client: FlaskClient, client_id: str, user: str, scope: str) -> str:
    """Return an access token *client_id* gets for *user* by the authorization code grant."""
    verifier = secrets.token_urlsafe(32)
    with app.app_context():
        op = operation()
        registered = clients.find(op, client_id)
        assert registered is not None
        challenge = authorization_codes.s256(verifier)
        code = authorization_codes.issue(op, registered, URI, challenge, user, scope)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": URI,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    answer = client.post("/oauth/token", data=form)
    assert answer.status_code == 200, answer.get_json()
    return str(answer.get_json()["access_token"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_notes_read_login_token_may_not_manage_the_account_and_changes_nothing(
    client: FlaskClient, auth: AuthActions, endpoint: str
) -> None:
    username = auth.register()
    full = auth.session(username)
    narrowed = auth.session(username, scope="notes:read")

    refused = call(
        client, endpoint, narrowed["access_token"], claims_of(full["access_token"])["sid"]
    )

    assert_not_an_account_token(refused)
    listed = client.get("/auth/sessions", headers=bearer(full["access_token"])).get_json()
    assert len(listed["sessions"]) == 2
    assert auth.refresh(full["refresh_token"]).status_code == 200
    assert auth.refresh(narrowed["refresh_token"]).status_code == 200


@pytest.mark.parametrize("scope", [FULL, "notes:read"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_third_party_clients_token_may_not_manage_the_account(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, endpoint: str, scope: str
) -> None:
    full = auth.tokens()
    user, sid = claims_of(full["access_token"])["sub"], claims_of(full["access_token"])["sid"]
    third_party = client_token(
        auth_app, client, register_client(auth_app, first_party=False), user, scope
    )

    refused = call(client, endpoint, third_party, sid)

    assert_not_an_account_token(refused)
    assert auth.refresh(full["refresh_token"]).status_code == 200


def test_a_first_party_clients_narrowed_token_may_not_manage_the_account(
    auth_app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = claims_of(auth.tokens()["access_token"])["sub"]
    app_id = register_client(auth_app, first_party=True)

    narrowed = client_token(auth_app, client, app_id, user, "notes:read")

    assert_not_an_account_token(client.get("/auth/sessions", headers=bearer(narrowed)))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("login", ["built-in client", "registered first-party client"])
def test_a_full_first_party_login_token_manages_the_account(
    auth_app: Flask, client: FlaskClient, auth: AuthActions, endpoint: str, login: str
) -> None:
    username = auth.register()
    other = auth.session(username)
    own = auth.session(username)["access_token"]
    if login == "registered first-party client":
        user = claims_of(own)["sub"]
        app_id = register_client(auth_app, first_party=True)
        own = client_token(auth_app, client, app_id, user, FULL)

    answer = call(client, endpoint, own, claims_of(other["access_token"])["sid"])

    assert answer.status_code == (200 if endpoint == "list sessions" else 204), answer.get_json()
    if endpoint != "list sessions":
        assert_error(auth.refresh(other["refresh_token"]), 401, "invalid_grant")


def test_a_narrowed_token_of_an_ended_session_is_still_401_not_403(
    client: FlaskClient, auth: AuthActions
) -> None:
    narrowed = auth.tokens(scope="notes:read")
    client.post("/auth/logout", json={"refresh_token": narrowed["refresh_token"]})

    answer = client.get("/auth/sessions", headers=bearer(narrowed["access_token"]))

    assert_error(answer, 401, "invalid_token")
