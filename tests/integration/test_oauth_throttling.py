"""The token endpoint's per-address limit (AUTH_ADDRESS_MAX_REFRESHES), grant by grant.

Every grant of /oauth/token counts against one budget per client address; over it the answer
is 429 in the OAuth error shape with Retry-After, and the refused request changes nothing.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import authorization_codes, clients, sessions
from auth_service.context import operation
from tests.integration.conftest import AuthActions, assert_error, claims_of
from tests.support import FakeClock

TOKEN = "/oauth/token"
URI = "https://app.example/cb"
LIMIT = 2  # AUTH_ADDRESS_MAX_REFRESHES below
WINDOW = 60  # AUTH_ADDRESS_WINDOW default
ATTACKER, OTHER = "192.0.2.66", "198.51.100.7"


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {**auth_env, "AUTH_ADDRESS_MAX_REFRESHES": str(LIMIT)}


def post(client: FlaskClient, form: dict[str, str], address: str, **kw: Any) -> Any:
    """POST *form* to the token endpoint from the peer *address*."""
    return client.post(TOKEN, data=form, environ_base={"REMOTE_ADDR": address}, **kw)


def assert_throttled(response: Any) -> None:
    """Assert a 429 in the OAuth error shape with a Retry-After inside the window."""
    assert_error(response, 429, "too_many_requests")
    assert 1 <= int(response.headers["Retry-After"]) <= WINDOW
    assert response.headers["Cache-Control"] == "no-store"


class Grants:
    """Make one fresh, valid token request of a grant (each a new token or code)."""

    def __init__(self, app: Flask, auth: AuthActions) -> None:
        self.app, self.auth = app, auth
        with app.app_context():
            op = operation()
            self.public = clients.register(op, "Public", [URI], confidential=False, scope=None)
            self.confidential = clients.register(
                op, "Confidential", [URI], confidential=True, scope=None
            )

    def refresh_token(self) -> tuple[dict[str, str], dict[str, str]]:
        user = claims_of(self.auth.tokens()["access_token"])["sub"]
        client_id = self.public.client.id
        with self.app.app_context():
            token = sessions.open_session(operation(), user, "notes:read", client_id).refresh_token
        return {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}, {}

    def client_credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        pair = f"{self.confidential.client.id}:{self.confidential.secret}"
        basic = "Basic " + base64.b64encode(pair.encode()).decode()
        return {"grant_type": "client_credentials"}, {"Authorization": basic}

    def authorization_code(self) -> tuple[dict[str, str], dict[str, str]]:
        user = claims_of(self.auth.tokens()["access_token"])["sub"]
        verifier = secrets.token_urlsafe(32)
        with self.app.app_context():
            op = operation()
            registered = clients.find(op, self.public.client.id)
            assert registered is not None
            challenge = authorization_codes.s256(verifier)
            code = authorization_codes.issue(op, registered, URI, challenge, user, "notes:read")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": URI,
            "code_verifier": verifier,
            "client_id": self.public.client.id,
        }
        return form, {}


@pytest.fixture
def grants(auth_app: Flask, auth: AuthActions) -> Grants:
    return Grants(auth_app, auth)


GRANTS = ["refresh_token", "client_credentials", "authorization_code"]


@pytest.mark.parametrize("grant", GRANTS)
def test_the_request_over_the_limit_is_429_and_the_same_request_from_elsewhere_succeeds(
    client: FlaskClient, grants: Grants, grant: str
) -> None:
    make: Callable[[], tuple[dict[str, str], dict[str, str]]] = getattr(grants, grant)
    for _ in range(LIMIT):
        form, headers = make()
        assert post(client, form, ATTACKER, headers=headers).status_code == 200

    form, headers = make()
    over = post(client, form, ATTACKER, headers=headers)

    assert_throttled(over)
    elsewhere = post(client, form, OTHER, headers=headers)
    assert elsewhere.status_code == 200, elsewhere.get_json()
    assert elsewhere.get_json()["access_token"]


def test_refused_requests_count_too(client: FlaskClient, grants: Grants) -> None:
    bad = {"grant_type": "refresh_token", "refresh_token": "never-issued"}
    bad["client_id"] = grants.public.client.id
    for _ in range(LIMIT):
        assert_error(post(client, bad, ATTACKER), 400, "invalid_grant")

    form, _ = grants.refresh_token()

    assert_throttled(post(client, form, ATTACKER))


def test_a_throttled_refresh_leaves_its_token_usable_after_the_window(
    client: FlaskClient, grants: Grants, clock: FakeClock
) -> None:
    for _ in range(LIMIT):
        form, _ = grants.refresh_token()
        post(client, form, ATTACKER)
    form, _ = grants.refresh_token()
    over = post(client, form, ATTACKER)
    assert_throttled(over)

    clock.advance(int(over.headers["Retry-After"]))
    again = post(client, form, ATTACKER)

    assert again.status_code == 200, again.get_json()
    assert again.get_json()["refresh_token"] != form["refresh_token"]
