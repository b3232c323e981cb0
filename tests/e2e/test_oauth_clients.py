"""Unmodified OAuth 2.0 libraries against real processes: Authlib and requests-oauthlib.

Each finds the endpoints in the metadata and runs as its documentation shows; the user's
part of the authorization step (login, approval) is the form walk of oauth_helpers.
The README's Authlib snippet ("OAuth 2.0 clients") is run verbatim by the first test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from joserfc.jwk import KeySet
from requests_oauthlib import OAuth2Session as OAuthlibSession

from tests.conformance.forgeries import ATTACKS, Forge, make_forge
from tests.e2e.harness import HTTP_TIMEOUT, ROOT, Stack, bearer, sign_up
from tests.e2e.oauth_helpers import (
    add_client,
    authorize,
    code_for,
    metadata,
    new_user,
    redeem,
)

REDIRECT_URI = "https://app.example/callback"
SCOPE = "notes:read notes:write"
README_MARKER = "<!-- oauth-authlib-snippet -->"


class StackValidator(JWTBearerTokenValidator):  # type: ignore[misc]
    """Authlib's RFC 9068 validator, given the auth service's published key set."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(issuer=stack.auth.url, resource_server="tokenpair-resource")
        self._jwks = requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT)

    def get_jwks(self) -> KeySet:
        # A joserfc KeySet: what Authlib 1.7+ expects (a plain dict is deprecated there).
        return KeySet.import_key_set(self._jwks.json())


def me(stack: Stack, access_token: str) -> requests.Response:
    return requests.get(
        f"{stack.resource.url}/api/me", headers=bearer(access_token), timeout=HTTP_TIMEOUT
    )


# Authorization code + PKCE -------------------------------------------------------------------


def readme_snippet(readme: Path = ROOT / "README.md") -> str:
    """Return the ```python block that follows the Authlib marker line in the README."""
    lines = readme.read_text().splitlines()
    start = lines.index(README_MARKER) + 1
    assert lines[start] == "```python", f"the line after {README_MARKER} must open a block"
    return "\n".join(lines[start + 1 : lines.index("```", start + 1)]) + "\n"


def test_the_readme_authlib_snippet_runs_the_code_flow_then_refreshes_and_revokes(
    shared_stack: Stack,
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    user = new_user(shared_stack)
    given: dict[str, Any] = {
        "auth_url": shared_stack.auth.url,
        "resource_url": shared_stack.resource.url,
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        # What the user's browser does: log in, approve, come back with the code.
        "sign_in": lambda url: authorize(url, REDIRECT_URI, user).location,
    }

    exec(readme_snippet(), given)  # verbatim, as test_readme_walkthrough runs the curl one

    session, token, refreshed = given["session"], given["token"], given["refreshed"]
    assert given["profile"]["sub"] == user.id and given["profile"]["scope"] == SCOPE
    assert token["token_type"] == "Bearer" and token["scope"] == SCOPE
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert me(shared_stack, refreshed["access_token"]).status_code == 200
    assert given["revoked"].status_code == 200
    with pytest.raises(OAuthError) as refused:  # revoked: that session is over
        session.refresh_token(given["meta"]["token_endpoint"], refreshed["refresh_token"])
    assert refused.value.error == "invalid_grant"


def test_requests_oauthlib_runs_the_code_flow_and_refreshes_an_expired_token_by_itself(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oauthlib insists on https; these services listen on loopback only (RFC 8252 §7.3).
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    registered = add_client(stack, "--redirect-uri", REDIRECT_URI, "--confidential")
    client_id, client_secret = registered["client_id"], registered["client_secret"]
    user = new_user(stack)
    meta = metadata(stack)
    saved: list[dict[str, Any]] = []

    session = OAuthlibSession(
        client_id,
        redirect_uri=REDIRECT_URI,
        scope=SCOPE.split(),
        pkce="S256",
        auto_refresh_url=meta["token_endpoint"],
        auto_refresh_kwargs={"client_id": client_id, "client_secret": client_secret},
        token_updater=saved.append,
    )
    url, _state = session.authorization_url(meta["authorization_endpoint"])
    location = authorize(url, REDIRECT_URI, user).location
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, client_secret=client_secret
    )
    assert session.get(f"{stack.resource.url}/api/me").json()["sub"] == user.id
    time.sleep(token["expires_in"] + 0.5)  # the stack's access tokens live 2 s
    assert me(stack, token["access_token"]).status_code == 401  # it did expire

    answer = session.get(f"{stack.resource.url}/api/me")  # refreshes first, by itself

    assert answer.status_code == 200 and answer.json()["sub"] == user.id
    assert len(saved) == 1 and saved[0]["access_token"] != token["access_token"]
    assert saved[0]["refresh_token"] != token["refresh_token"]


def test_requests_oauthlib_as_a_public_client_sends_its_client_id_in_the_body(
    shared_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # loopback only, as above
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    user = new_user(shared_stack)
    meta = metadata(shared_stack)
    session = OAuthlibSession(
        client_id, redirect_uri=REDIRECT_URI, scope=["notes:read"], pkce="S256"
    )
    url, _state = session.authorization_url(meta["authorization_endpoint"])
    location = authorize(url, REDIRECT_URI, user).location

    # include_client_id=True: token_endpoint_auth_method "none" (no Basic header at all).
    token = session.fetch_token(
        meta["token_endpoint"], authorization_response=location, include_client_id=True
    )

    assert token["scope"] == ["notes:read"]  # oauthlib hands the scope back as a list
    assert session.get(f"{shared_stack.resource.url}/api/me").json()["sub"] == user.id


def test_rfc9068_validator_accepts_a_code_grant_token_unchanged(shared_stack: Stack) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    user = new_user(shared_stack)
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, user, scope="notes:read")
    token = redeem(shared_stack, code, verifier, REDIRECT_URI, client_id).json()
    validator = StackValidator(shared_stack)

    claims = validator.authenticate_token(token["access_token"])
    validator.validate_token(claims, scopes=["notes:read"], request=None)

    assert (claims["sub"], claims["client_id"]) == (user.id, client_id)
    assert claims["scope"] == "notes:read"


# client_credentials, and the first-party tokens -----------------------------------------------


def test_authlib_client_credentials_gets_a_token_the_resource_service_and_rfc9068_accept(
    shared_stack: Stack,
) -> None:
    registered = add_client(shared_stack, "--redirect-uri", REDIRECT_URI, "--confidential")
    session = OAuth2Session(
        registered["client_id"], registered["client_secret"], scope="notes:read"
    )

    token = session.fetch_token(
        metadata(shared_stack)["token_endpoint"], grant_type="client_credentials"
    )

    assert "refresh_token" not in token and token["scope"] == "notes:read"
    answer = me(shared_stack, token["access_token"])
    assert answer.status_code == 200 and answer.json()["sub"] == registered["client_id"]
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
    registered = add_client(shared_stack, "--redirect-uri", REDIRECT_URI, "--confidential")

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
