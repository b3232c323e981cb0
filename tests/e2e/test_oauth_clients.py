"""Unmodified OAuth 2.0 libraries against real processes: Authlib's client, RFC 9068 validator."""

from __future__ import annotations

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc.jwk import KeySet

from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, sign_up
from tests.e2e.oauth_helpers import add_client, metadata

REDIRECT_URI = "https://app.example/callback"
SCOPE = "notes:read notes:write"


def me(stack: Stack, access_token: str) -> requests.Response:
    return requests.get(
        f"{stack.resource.url}/api/me", headers=bearer(access_token), timeout=HTTP_TIMEOUT
    )


class StackValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Authlib's RFC 9068 validator, given the auth service's published key set."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(issuer=stack.auth.url, resource_server="tokenpair-resource")
        self._jwks = requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)

    def get_jwks(self) -> KeySet:
        # A joserfc KeySet: what Authlib 1.7+ expects (a plain dict is deprecated there).
        return KeySet.import_key_set(self._jwks.json())


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


def test_a_confidential_client_introspects_with_authlib(shared_stack: Stack) -> None:
    registered = add_client(shared_stack, "--redirect-uri", REDIRECT_URI, "--confidential")
    session = OAuth2Session(registered["client_id"], registered["client_secret"])
    endpoint = metadata(shared_stack)["introspection_endpoint"]
    login = sign_up(shared_stack)

    active = session.introspect_token(endpoint, token=login["access_token"]).json()
    other_clients = session.introspect_token(endpoint, token=login["refresh_token"]).json()
    junk = session.introspect_token(endpoint, token="not-a-token").json()

    assert active["active"] is True and active["client_id"] == "tokenpair-first-party"
    assert (
        active["scope"] == SCOPE
        and active["sub"] == me(shared_stack, login["access_token"]).json()["sub"]
    )
    assert other_clients == {"active": False} and junk == {"active": False}


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
