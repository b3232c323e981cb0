"""Token introspection (RFC 7662): what a confidential client learns, and what nobody else does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from auth_service import clients
from auth_service.context import deps, operation
from tests.conformance.forgeries import ATTACKS, Forge, make_forge
from tests.integration.conftest import AuthActions, bearer, claims_of
from tests.integration.introspection_helpers import INACTIVE, Introspector
from tests.integration.test_oauth_token import TOKEN, Client, basic, oauth_session, register
from tests.support import FakeClock


@pytest.fixture
def resource_server(auth_app: Flask) -> Client:
    """A confidential client, as a resource server that introspects is."""
    return register(auth_app, confidential=True)


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


def test_the_callers_refresh_token_is_inactive_once_revoked_or_idle_past_its_lifetime(
    auth_app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    resource_server: Client,
    introspect: Introspector,
    clock: FakeClock,
) -> None:
    assert resource_server.secret is not None
    revoked, idle = (oauth_session(auth_app, auth, resource_server) for _ in range(2))
    with auth_app.app_context():
        refresh_ttl = deps().policy.refresh_ttl

    revocation = client.post(
        "/oauth/revoke",
        data={"token": revoked},
        headers=basic(resource_server.id, resource_server.secret),
    )
    clock.advance(refresh_ttl.total_seconds())

    assert revocation.status_code == 200

    assert introspect(revoked) == INACTIVE
    assert introspect(idle) == INACTIVE


def test_another_clients_refresh_token_is_inactive_and_reveals_nothing(
    auth_app: Flask, auth: AuthActions, introspect: Introspector
) -> None:
    other = register(auth_app, confidential=False)
    theirs = oauth_session(auth_app, auth, other)
    first_party = auth.tokens()["refresh_token"]

    assert introspect(theirs) == INACTIVE
    assert introspect(first_party) == INACTIVE


@pytest.fixture
def forge(client: FlaskClient, auth: AuthActions, keys_dir: Path) -> Forge:
    jwks = client.get("/.well-known/jwks.json").get_json()
    return make_forge(auth.tokens(), jwks, keys_dir)


def test_a_token_forged_with_no_flaw_is_active_so_each_inactive_answer_is_for_its_flaw(
    introspect: Introspector, forge: Forge
) -> None:
    assert introspect(forge.sign())["active"] is True


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_forged_or_misused_token_is_inactive(
    introspect: Introspector, forge: Forge, attack: Callable[[Forge], str]
) -> None:
    assert introspect(attack(forge)) == INACTIVE
