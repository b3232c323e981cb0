"""Token introspection (RFC 7662): what a confidential client learns, and what nobody else does."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import clients
from auth_service.context import bind, deps, operation
from shared.bearer import AccessTokenVerifier, KeysUnavailable
from shared.keys import PublicKey
from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.integration.test_oauth_token import TOKEN, Client, basic, oauth_session, register
from tests.support import FakeClock

INTROSPECT = "/oauth/introspect"
INACTIVE = {"active": False}


@pytest.fixture
def resource_server(auth_app: Flask) -> Client:
    """A confidential client, as a resource server that introspects is."""
    return register(auth_app, confidential=True)


class Introspector:
    def __init__(self, client: FlaskClient, caller: Client) -> None:
        assert caller.secret is not None
        self.client, self.headers = client, basic(caller.id, caller.secret)

    def __call__(self, token: str, **extra: str) -> dict[str, object]:
        answer = self.client.post(INTROSPECT, data={"token": token, **extra}, headers=self.headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Pragma"] == "no-cache"
        return dict(answer.get_json())


@pytest.fixture
def introspect(client: FlaskClient, resource_server: Client) -> Introspector:
    return Introspector(client, resource_server)


def test_the_metadata_names_the_introspection_endpoint(client: FlaskClient) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").get_json()

    assert metadata["introspection_endpoint"] == "http://localhost:8001/oauth/introspect"
    assert metadata["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]


def test_a_live_access_token_is_active_with_its_claims(
    auth: AuthActions, introspect: Introspector
) -> None:
    access = auth.tokens(scope="notes:read")["access_token"]
    claims = claims_of(access)

    answer = introspect(access)

    assert answer == {
        "active": True,
        "scope": "notes:read",
        "client_id": "tokenpair-first-party",
        "sub": claims["sub"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "nbf": claims["nbf"],
        "iss": "http://localhost:8001",
        "aud": "tokenpair-resource",
        "jti": claims["jti"],
        "token_type": "Bearer",
    }


def test_an_access_token_is_inactive_once_its_session_ends_though_its_signature_is_good(
    client: FlaskClient, auth: AuthActions, introspect: Introspector
) -> None:
    tokens = auth.tokens()
    assert introspect(tokens["access_token"])["active"] is True

    logout = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})

    assert logout.status_code == 204
    assert introspect(tokens["access_token"]) == INACTIVE


def test_an_access_token_is_inactive_once_the_user_revokes_its_session(
    client: FlaskClient, auth: AuthActions, introspect: Introspector
) -> None:
    access = auth.tokens()["access_token"]
    sid = claims_of(access)["sid"]

    revoked = client.delete(f"/auth/sessions/{sid}", headers=bearer(access))

    assert revoked.status_code == 204
    assert introspect(access) == INACTIVE


def test_an_access_token_past_its_exp_is_inactive(
    auth: AuthActions, introspect: Introspector, clock: FakeClock
) -> None:
    access = auth.tokens()["access_token"]
    lifetime = claims_of(access)["exp"] - claims_of(access)["iat"]

    clock.advance(lifetime - 1)
    still = introspect(access)
    clock.advance(1)

    assert still["active"] is True
    assert introspect(access) == INACTIVE


def test_a_client_credentials_token_is_active_while_its_client_is_registered(
    auth_app: Flask, client: FlaskClient, introspect: Introspector
) -> None:
    worker = register(auth_app, confidential=True)
    assert worker.secret is not None
    issued = client.post(
        TOKEN, data={"grant_type": "client_credentials"}, headers=basic(worker.id, worker.secret)
    ).get_json()

    before = introspect(issued["access_token"])
    with auth_app.app_context():
        clients.remove(operation(), worker.id)

    assert before["active"] is True
    assert before["sub"] == before["client_id"] == worker.id
    assert introspect(issued["access_token"]) == INACTIVE


def test_the_callers_live_refresh_token_is_active_and_a_rotated_one_is_not(
    auth_app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    resource_server: Client,
    introspect: Introspector,
    clock: FakeClock,
) -> None:
    assert resource_server.secret is not None
    first = oauth_session(auth_app, auth, resource_server)

    answer = introspect(first, token_type_hint="refresh_token")
    rotated = client.post(
        TOKEN,
        data={"grant_type": "refresh_token", "refresh_token": first},
        headers=basic(resource_server.id, resource_server.secret),
    ).get_json()

    with auth_app.app_context():
        refresh_ttl = deps().policy.refresh_ttl
    assert answer == {
        "active": True,
        "scope": "notes:read",
        "client_id": resource_server.id,
        "sub": claims_of(rotated["access_token"])["sub"],
        "exp": int((clock() + refresh_ttl).timestamp()),
        "token_type": "refresh_token",
    }
    assert introspect(first) == INACTIVE
    assert introspect(rotated["refresh_token"])["active"] is True


def test_another_clients_refresh_token_is_inactive_and_reveals_nothing(
    auth_app: Flask, auth: AuthActions, introspect: Introspector
) -> None:
    other = register(auth_app, confidential=False)
    theirs = oauth_session(auth_app, auth, other)
    first_party = auth.tokens()["refresh_token"]

    assert introspect(theirs) == INACTIVE
    assert introspect(first_party) == INACTIVE


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "something_else"])
def test_the_hint_changes_no_answer(auth: AuthActions, introspect: Introspector, hint: str) -> None:
    access = auth.tokens()["access_token"]

    assert introspect(access, token_type_hint=hint)["active"] is True
    assert introspect("never-issued", token_type_hint=hint) == INACTIVE


@pytest.mark.parametrize(
    "token", ["never-issued", "a.b.c", "é" * 300, "x" * 4000, "Bearer x", "%00", "{}"]
)
def test_junk_is_inactive_not_an_error(introspect: Introspector, token: str) -> None:
    assert introspect(token) == INACTIVE


def test_client_secret_post_works_like_basic(
    client: FlaskClient, auth: AuthActions, resource_server: Client
) -> None:
    assert resource_server.secret is not None
    access = auth.tokens()["access_token"]
    form = {"token": access, "client_id": resource_server.id}

    answer = client.post(INTROSPECT, data={**form, "client_secret": resource_server.secret})

    assert answer.status_code == 200 and answer.get_json()["active"] is True


@pytest.mark.parametrize(
    "credentials", ["public client", "wrong secret", "unknown client", "none", "bearer"]
)
def test_only_an_authenticated_confidential_client_may_introspect(
    auth_app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    resource_server: Client,
    credentials: str,
) -> None:
    access = auth.tokens()["access_token"]
    form, headers = {"token": access}, {}
    if credentials == "public client":
        form["client_id"] = register(auth_app, confidential=False).id
    elif credentials == "wrong secret":
        headers = basic(resource_server.id, "not-the-secret")
    elif credentials == "unknown client":
        headers = basic("nobody", "x")
    elif credentials == "bearer":
        headers = bearer(access)

    answer = client.post(INTROSPECT, data=form, headers=headers)

    assert_error(answer, 401, "invalid_client")
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="tokenpair"'


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", "application/x-www-form-urlencoded"),
        ("token=a&token=b", "application/x-www-form-urlencoded"),
        ('{"token": "a"}', "application/json"),
        ("token=%00", "application/x-www-form-urlencoded"),
    ],
    ids=["no token", "twice", "json", "nul"],
)
def test_a_bad_request_is_400_invalid_request(
    client: FlaskClient, resource_server: Client, body: str, content_type: str
) -> None:
    assert resource_server.secret is not None
    headers = basic(resource_server.id, resource_server.secret)

    answer = client.post(INTROSPECT, data=body, content_type=content_type, headers=headers)

    assert_error(answer, 400, "invalid_request")


def test_a_token_that_is_not_utf_8_is_inactive(
    client: FlaskClient, introspect: Introspector
) -> None:
    # Werkzeug decodes the form with replacement characters: no token has them.
    answer = client.post(
        INTROSPECT,
        data="token=%FF%FE",
        content_type="application/x-www-form-urlencoded",
        headers=introspect.headers,
    )

    assert answer.status_code == 200 and answer.get_json() == INACTIVE


class UnreachableKeys:
    def key_for(self, kid: str) -> PublicKey | None:
        raise KeysUnavailable(retry_after=7)


def test_a_verifier_without_its_keys_answers_503_not_a_false_inactive(
    auth_app: Flask, auth: AuthActions, introspect: Introspector
) -> None:
    # The auth service's key ring is local files and never raises this; a verifier might.
    access = auth.tokens()["access_token"]
    with auth_app.app_context():
        bound = deps()
        outage = AccessTokenVerifier(UnreachableKeys(), issuer="x", audience="y")
    bind(auth_app, dataclasses.replace(bound, verifier=outage))

    answer = introspect.client.post(INTROSPECT, data={"token": access}, headers=introspect.headers)

    assert_error(answer, 503, "temporarily_unavailable")
    assert answer.headers["Retry-After"] == "7"
