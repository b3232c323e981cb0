"""Unmodified OAuth 2.0 libraries against real processes: Authlib's client, RFC 9068 validator."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc.jwk import KeySet

from tests.conformance.forgeries import ATTACKS, Forge, make_forge
from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, sign_up


class StackValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Authlib's RFC 9068 validator, given the auth service's published key set."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(issuer=stack.auth.url, resource_server="tokenpair-resource")
        self._jwks = requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)

    def get_jwks(self) -> KeySet:
        # A joserfc KeySet: what Authlib 1.7+ expects (a plain dict is deprecated there).
        return KeySet.import_key_set(self._jwks.json())


def add_client(stack: Stack, *args: str) -> dict[str, Any]:
    """Register a client with the operator command and return what it printed."""
    printed = stack.auth.flask("clients", "add", "e2e client", *args).stdout
    return dict(json.loads(printed))


def metadata(stack: Stack) -> dict[str, Any]:
    url = f"{stack.auth.url}/.well-known/oauth-authorization-server"
    return dict(requests.get(url, timeout=HTTP_TIMEOUT).json())


def test_authlib_client_credentials_gets_a_token_the_resource_service_and_rfc9068_accept(
    shared_stack: Stack,
) -> None:
    registered = add_client(
        shared_stack, "--redirect-uri", "https://app.example/cb", "--confidential"
    )
    session = OAuth2Session(
        registered["client_id"], registered["client_secret"], scope="notes:read"
    )

    token = session.fetch_token(
        metadata(shared_stack)["token_endpoint"], grant_type="client_credentials"
    )

    assert "refresh_token" not in token and token["scope"] == "notes:read"
    me = requests.get(
        f"{shared_stack.resource.url}/api/me",
        headers=bearer(token["access_token"]),
        timeout=HTTP_TIMEOUT,
    )
    assert me.status_code == 200 and me.json()["sub"] == registered["client_id"]
    validator = StackValidator(shared_stack)
    claims = validator.authenticate_token(token["access_token"])
    validator.validate_token(claims, scopes=["notes:read"], request=None)
    assert claims["client_id"] == registered["client_id"]


def test_rfc9068_validator_accepts_a_first_party_login_token_unchanged(
    shared_stack: Stack,
) -> None:

    access = sign_up(shared_stack)["access_token"]
    validator = StackValidator(shared_stack)

    claims = validator.authenticate_token(access)
    validator.validate_token(claims, scopes=["notes:read", "notes:write"], request=None)

    assert claims["client_id"] == "tokenpair-first-party"


def test_a_bad_client_secret_is_401_invalid_client_with_a_basic_challenge(
    shared_stack: Stack,
) -> None:
    registered = add_client(
        shared_stack, "--redirect-uri", "https://app.example/cb", "--confidential"
    )

    answer = requests.post(
        metadata(shared_stack)["token_endpoint"],
        data={"grant_type": "client_credentials"},
        auth=(registered["client_id"], "not-the-secret"),
        timeout=HTTP_TIMEOUT,
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.fixture(scope="module")
def introspector(shared_stack: Stack) -> OAuth2Session:
    """Authlib's client for a confidential client, as a resource server that introspects."""
    registered = add_client(
        shared_stack, "--redirect-uri", "https://rs.example/cb", "--confidential"
    )
    return OAuth2Session(registered["client_id"], registered["client_secret"])


def introspect(stack: Stack, introspector: OAuth2Session, token: str) -> dict[str, Any]:
    answer = introspector.introspect_token(
        metadata(stack)["introspection_endpoint"], token=token, timeout=HTTP_TIMEOUT
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["Cache-Control"] == "no-store"
    return dict(answer.json())


def test_authlib_introspects_a_live_token_as_active_and_a_logged_out_one_as_inactive(
    shared_stack: Stack, introspector: OAuth2Session
) -> None:
    tokens = sign_up(shared_stack, scope="notes:read")

    live = introspect(shared_stack, introspector, tokens["access_token"])
    logout = requests.post(
        f"{shared_stack.auth.url}/auth/logout",
        json={"refresh_token": tokens["refresh_token"]},
        timeout=HTTP_TIMEOUT,
    )

    assert live["active"] is True and live["token_type"] == "Bearer"
    assert live["scope"] == "notes:read" and live["client_id"] == "tokenpair-first-party"
    assert logout.status_code == 204
    # The resource service, verifying locally, still accepts it until exp; introspection not.
    me = requests.get(
        f"{shared_stack.resource.url}/api/me",
        headers=bearer(tokens["access_token"]),
        timeout=HTTP_TIMEOUT,
    )
    assert me.status_code == 200
    assert introspect(shared_stack, introspector, tokens["access_token"]) == {"active": False}


@pytest.fixture(scope="module")
def forge(shared_stack: Stack) -> Forge:
    jwks = requests.get(f"{shared_stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)
    return make_forge(sign_up(shared_stack), jwks.json(), shared_stack.auth.workdir / "var/keys")


def test_a_token_forged_with_no_flaw_introspects_as_active(
    shared_stack: Stack, introspector: OAuth2Session, forge: Forge
) -> None:
    assert introspect(shared_stack, introspector, forge.sign())["active"] is True


@pytest.mark.parametrize("attack", ATTACKS.values(), ids=ATTACKS.keys())
def test_every_forged_or_misused_token_introspects_as_inactive(
    shared_stack: Stack, introspector: OAuth2Session, forge: Forge, attack: Callable[[Forge], str]
) -> None:
    assert introspect(shared_stack, introspector, attack(forge)) == {"active": False}
