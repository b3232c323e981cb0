"""Introspection requests: who may ask, what is refused, what junk is answered, outages."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service.context import bind, deps
from shared.bearer import AccessTokenVerifier, KeysUnavailable
from shared.keys import PublicKey
from tests.integration.conftest import AuthActions, assert_error, bearer
from tests.integration.introspection_helpers import INACTIVE, INTROSPECT, Introspector
from tests.integration.test_oauth_token import Client, basic, register


@pytest.fixture
def resource_server(auth_app: Flask) -> Client:
    """A confidential client, as a resource server that introspects is."""
    return register(auth_app, confidential=True)


@pytest.fixture
def introspect(client: FlaskClient, resource_server: Client) -> Introspector:
    return Introspector(client, resource_server)


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
