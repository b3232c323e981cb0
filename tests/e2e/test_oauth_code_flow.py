"""The authorization code flow over HTTP against real processes (both engines): who sees
which page, and what is refused.

The library runs are in test_oauth_clients.py; here each request is built by hand so that
exactly one thing is wrong in it.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.harness import ENGINES, HTTP_TIMEOUT, Stack, running_stack
from tests.e2e.oauth_helpers import (
    add_client,
    authorization_url,
    authorize,
    code_for,
    introspect,
    metadata,
    new_user,
    pkce_pair,
    redeem,
    refresh_at_token_endpoint,
)

REDIRECT_URI = "https://app.example/callback"
OTHER_REDIRECT_URI = "https://app.example/other-callback"


def error_of(answer: requests.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


@pytest.mark.parametrize(
    ("flag", "pages"), [([], ["login", "approval"]), (["--first-party"], ["login"])]
)
def test_only_a_first_party_client_skips_the_approval_page(
    shared_stack: Stack, flag: list[str], pages: list[str]
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI, *flag)["client_id"]
    verifier, challenge = pkce_pair()
    url = authorization_url(
        shared_stack,
        response_type="code",
        client_id=client_id,
        redirect_uri=REDIRECT_URI,
        state="xyz",
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    walk = authorize(url, REDIRECT_URI, new_user(shared_stack))

    assert walk.pages == pages and walk.query["state"] == "xyz"
    assert redeem(shared_stack, walk.query["code"], verifier, REDIRECT_URI, client_id).ok


def test_a_wrong_code_verifier_is_invalid_grant(shared_stack: Stack) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    code, _verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))
    wrong, _challenge = pkce_pair()

    answer = redeem(shared_stack, code, wrong, REDIRECT_URI, client_id)

    assert error_of(answer) == (400, "invalid_grant")


@pytest.mark.parametrize("challenge", ["plain", "method-omitted", "no-challenge"])
def test_anything_but_an_s256_challenge_is_sent_back_as_invalid_request(
    shared_stack: Stack, challenge: str
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    verifier, _s256 = pkce_pair()
    state = secrets.token_urlsafe(8)
    pkce = {
        "plain": {"code_challenge": verifier, "code_challenge_method": "plain"},
        "method-omitted": {"code_challenge": verifier},  # RFC 7636 §4.3: that means plain
        "no-challenge": {},
    }[challenge]
    url = authorization_url(
        shared_stack,
        response_type="code",
        client_id=client_id,
        redirect_uri=REDIRECT_URI,
        state=state,
        **pkce,
    )

    walk = authorize(url, REDIRECT_URI, new_user(shared_stack))

    # §4.1.2.1: the redirect URI is the client's own, so the error goes back to it, with state.
    assert walk.query["error"] == "invalid_request" and walk.query["state"] == state
    assert "code" not in walk.query


def test_a_replayed_code_is_refused_and_revokes_what_its_first_use_issued(
    shared_stack: Stack,
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))
    first = redeem(shared_stack, code, verifier, REDIRECT_URI, client_id)
    assert first.status_code == 200, first.text

    replay = redeem(shared_stack, code, verifier, REDIRECT_URI, client_id)

    assert error_of(replay) == (400, "invalid_grant")
    # RFC 6749 §4.1.2: the code leaked, so what it was exchanged for is no longer trusted.
    later = refresh_at_token_endpoint(shared_stack, first.json()["refresh_token"], client_id)
    assert error_of(later) == (400, "invalid_grant")
    assert introspect(shared_stack, first.json()["access_token"]) == {"active": False}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/callback",  # never registered
        REDIRECT_URI + "/",  # matched exactly, not as a prefix
        REDIRECT_URI + "?next=/admin",
        REDIRECT_URI.replace("https", "http"),
        "https://app.example/Callback",
    ],
    ids=["unregistered", "trailing-slash", "extra-query", "http", "case"],
)
def test_a_redirect_uri_not_registered_gets_an_error_page_and_never_a_redirect(
    shared_stack: Stack, redirect_uri: str
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    _verifier, challenge = pkce_pair()
    url = authorization_url(
        shared_stack,
        response_type="code",
        client_id=client_id,
        redirect_uri=redirect_uri,
        state="s",
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    page = requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)

    assert page.status_code == 400 and "Location" not in page.headers
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "no-store" in page.headers["Cache-Control"]


def test_an_unknown_client_gets_an_error_page_and_never_a_redirect(shared_stack: Stack) -> None:
    _verifier, challenge = pkce_pair()
    url = authorization_url(
        shared_stack,
        response_type="code",
        client_id="no-such-client",
        redirect_uri=REDIRECT_URI,
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    page = requests.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)

    assert page.status_code == 400 and "Location" not in page.headers


def test_a_code_is_bound_to_the_redirect_uri_it_was_issued_for(shared_stack: Stack) -> None:
    registered = add_client(
        shared_stack, "--redirect-uri", REDIRECT_URI, "--redirect-uri", OTHER_REDIRECT_URI
    )
    client_id = registered["client_id"]
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))

    answer = redeem(shared_stack, code, verifier, OTHER_REDIRECT_URI, client_id)

    assert error_of(answer) == (400, "invalid_grant")


def test_a_code_is_bound_to_the_client_it_was_issued_to(shared_stack: Stack) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    other_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))

    answer = redeem(shared_stack, code, verifier, REDIRECT_URI, other_id)

    assert error_of(answer) == (400, "invalid_grant")


def test_a_refresh_token_presented_by_another_client_is_refused_and_keeps_working(
    shared_stack: Stack,
) -> None:
    client_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    other_id = add_client(shared_stack, "--redirect-uri", REDIRECT_URI)["client_id"]
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))
    refresh_token = redeem(shared_stack, code, verifier, REDIRECT_URI, client_id).json()[
        "refresh_token"
    ]

    stolen = refresh_at_token_endpoint(shared_stack, refresh_token, other_id)

    assert error_of(stolen) == (400, "invalid_grant")
    own = refresh_at_token_endpoint(shared_stack, refresh_token, client_id)
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_a_bad_client_secret_at_the_code_exchange_is_401_and_leaves_the_code_usable(
    shared_stack: Stack, method: str
) -> None:
    registered = add_client(shared_stack, "--redirect-uri", REDIRECT_URI, "--confidential")
    client_id, secret = registered["client_id"], registered["client_secret"]
    code, verifier = code_for(shared_stack, client_id, REDIRECT_URI, new_user(shared_stack))
    form = {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
    form["redirect_uri"] = REDIRECT_URI
    token_endpoint = metadata(shared_stack)["token_endpoint"]

    if method == "client_secret_basic":
        answer = requests.post(
            token_endpoint, data=form, auth=(client_id, "not-it"), timeout=HTTP_TIMEOUT
        )
    else:
        form |= {"client_id": client_id, "client_secret": "not-it"}
        answer = requests.post(token_endpoint, data=form, timeout=HTTP_TIMEOUT)

    assert error_of(answer) == (401, "invalid_client")
    assert answer.headers["WWW-Authenticate"].startswith("Basic")
    # Nobody got in, so nothing was spent: the client with its secret still redeems the code.
    assert redeem(shared_stack, code, verifier, REDIRECT_URI, client_id, secret).status_code == 200


@pytest.mark.parametrize("engine", ENGINES)
def test_an_expired_code_is_invalid_grant(site: Path, tmp_path: Path, engine: str) -> None:
    with running_stack(site, tmp_path, engine, auth_env={"AUTH_CODE_TTL": "1"}) as stack:
        client_id = add_client(stack, "--redirect-uri", REDIRECT_URI)["client_id"]
        code, verifier = code_for(stack, client_id, REDIRECT_URI, new_user(stack))
        time.sleep(2.1)  # past AUTH_CODE_TTL=1, counted in whole seconds

        answer = redeem(stack, code, verifier, REDIRECT_URI, client_id)

    assert error_of(answer) == (400, "invalid_grant")
