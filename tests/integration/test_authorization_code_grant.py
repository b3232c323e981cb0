"""The authorization code grant through its pages: /oauth/authorize, then /oauth/token."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import auth_service
from auth_service import clients
from auth_service.context import operation
from auth_service.extensions import db
from auth_service.keystore import KeyStore
from auth_service.models import AuthorizationCode
from tests.integration.authorize_helpers import (
    AUTHORIZE,
    ISSUER,
    TOKEN,
    URI,
    Flow,
    assert_page,
    inputs,
    redirected,
    register,
)
from tests.integration.conftest import CHEAP_PASSWORDS, AuthActions, assert_error, claims_of
from tests.support import STRONG_PASSWORD, FakeClock


@pytest.fixture
def own(client: FlaskClient, auth_app: Flask, auth: AuthActions) -> Flow:
    return Flow(client, register(auth_app, first_party=True), auth.register())


@pytest.fixture
def partner(client: FlaskClient, auth_app: Flask, auth: AuthActions) -> Flow:
    return Flow(client, register(auth_app, first_party=False), auth.register())


# The happy paths ------------------------------------------------------------------------------


def test_the_login_page_has_labelled_username_and_password_fields(own: Flow) -> None:
    page = own.open()

    assert_page(page, 200)
    parsed = inputs(page)
    assert {"username", "password"} <= set(parsed.labels)
    assert {"username", "password", "csrf", "client_id", "state"} <= set(parsed.fields)
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Path=/oauth/authorize" in cookie


def test_a_first_party_client_gets_a_code_that_gives_tokens_that_refresh(own: Flow) -> None:
    answer = redirected(own.sign_in())

    assert set(answer) == {"code", "state", "iss"}
    assert (answer["state"], answer["iss"]) == (own.state, ISSUER)
    tokens = own.redeem(answer["code"])
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    claims = claims_of(body["access_token"])
    assert claims["client_id"] == own.client_id and body["scope"] == "notes:read"
    refreshed = own.client.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": own.client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.get_json()


def test_another_client_is_shown_an_approval_step_and_approving_gives_a_code(
    partner: Flow,
) -> None:
    page = partner.sign_in()

    text = assert_page(page, 200)
    parsed = inputs(page)
    assert ("consent", "approve") in parsed.buttons and ("consent", "deny") in parsed.buttons
    assert partner.client_id in text and "notes:read" in text
    assert not any(partner.username in value for value in parsed.fields.values())
    answer = redirected(partner.client.post(AUTHORIZE, data=parsed.fields | {"consent": "approve"}))
    assert answer["state"] == partner.state
    assert partner.redeem(answer["code"]).status_code == 200


def test_denying_the_approval_redirects_with_access_denied(partner: Flow) -> None:
    answer = redirected(partner.approve("deny"))

    assert answer["error"] == "access_denied" and answer["state"] == partner.state
    assert "code" not in answer


def test_an_approval_record_cannot_be_changed_or_moved_to_another_request(
    partner: Flow,
) -> None:
    fields = inputs(partner.sign_in()).fields
    forged = fields | {"approval": fields["approval"][:-2] + "AA", "consent": "approve"}
    widened = fields | {"scope": "notes:read notes:write", "consent": "approve"}

    assert_page(partner.client.post(AUTHORIZE, data=forged), 403)
    assert_page(partner.client.post(AUTHORIZE, data=widened), 403)


# CSRF and page lifetime -----------------------------------------------------------------------


def test_a_login_without_the_pages_cookie_is_refused(own: Flow, auth_app: Flask) -> None:
    fields = inputs(own.open()).fields | {"username": own.username, "password": STRONG_PASSWORD}
    stranger = auth_app.test_client()  # another browser: it has the form, not the cookie

    assert_page(stranger.post(AUTHORIZE, data=fields), 403)


@pytest.mark.parametrize("csrf", [None, "", "forged", "x" * 5000])
def test_a_login_with_a_missing_or_wrong_csrf_token_is_refused(own: Flow, csrf: str | None) -> None:
    fields = inputs(own.open()).fields | {"username": own.username, "password": STRONG_PASSWORD}
    if csrf is None:
        del fields["csrf"]
    else:
        fields["csrf"] = csrf

    assert_page(own.client.post(AUTHORIZE, data=fields), 403)


def test_a_page_older_than_its_lifetime_is_refused(own: Flow, clock: FakeClock) -> None:
    fields = inputs(own.open()).fields | {"username": own.username, "password": STRONG_PASSWORD}
    clock.advance(601)  # AUTH_AUTHORIZE_PAGE_TTL's default

    assert_page(own.client.post(AUTHORIZE, data=fields), 403)


# The code at the token endpoint ---------------------------------------------------------------


def test_a_wrong_verifier_is_invalid_grant(own: Flow) -> None:
    code = redirected(own.sign_in())["code"]

    wrong = own.redeem(code, code_verifier=secrets.token_urlsafe(32))

    assert "code_verifier" in assert_error(wrong, 400, "invalid_grant")["error_description"]


def test_a_replayed_code_is_refused_and_its_refresh_token_stops_working(own: Flow) -> None:
    code = redirected(own.sign_in())["code"]
    first = own.redeem(code).get_json()

    assert_error(own.redeem(code), 400, "invalid_grant")

    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": first["refresh_token"],
        "client_id": own.client_id,
    }
    assert_error(own.client.post(TOKEN, data=refresh), 400, "invalid_grant")


def test_an_expired_code_is_invalid_grant(own: Flow, clock: FakeClock) -> None:
    code = redirected(own.sign_in())["code"]
    clock.advance(61)

    assert "expired" in assert_error(own.redeem(code), 400, "invalid_grant")["error_description"]


def test_another_client_cannot_redeem_the_code(own: Flow, auth_app: Flask) -> None:
    code = redirected(own.sign_in())["code"]
    thief = register(auth_app, first_party=True)

    assert_error(own.redeem(code, client_id=thief), 400, "invalid_grant")
    assert own.redeem(code).status_code == 200  # the refusal used nothing up


# Errors of §4.1.2.1: an error page before the redirect URI is trusted, a redirect after ------


@pytest.mark.parametrize(
    "changes",
    [
        {"redirect_uri": "https://app.example/cb/"},  # not exactly the registered one
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": None},
        {"client_id": "no-such-client"},
        {"client_id": None},
        {"client_id": "abc\x00def"},
        {"redirect_uri": URI + "\x00"},
        {"client_id": "x" * 100_000},
    ],
)
def test_an_untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect(
    own: Flow, changes: dict[str, str | None]
) -> None:
    assert_page(own.open(**changes), 400)


def test_a_redirect_uri_of_another_client_is_untrusted(own: Flow, auth_app: Flask) -> None:
    with auth_app.app_context():
        other = clients.register(
            operation(), "Other", ["https://other.example/cb"], confidential=False, scope=None
        ).client.id

    assert_page(own.open(client_id=other), 400)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "admin"}, "invalid_scope"),
        ({"scope": "x" * 100_000}, "invalid_scope"),
    ],
)
def test_a_bad_request_from_a_trusted_client_redirects_with_the_error_and_state(
    own: Flow, changes: dict[str, str | None], error: str
) -> None:
    answer = redirected(own.open(**changes))

    assert answer["error"] == error and answer["state"] == own.state
    assert answer["error_description"] and "code" not in answer


def test_a_repeated_parameter_is_invalid_request_or_an_error_page(own: Flow) -> None:
    query = urlencode(own.params())
    repeated_type = own.client.get(f"{AUTHORIZE}?{query}&response_type=code")
    repeated_client = own.client.get(f"{AUTHORIZE}?{query}&client_id={own.client_id}")
    repeated_state = own.client.get(f"{AUTHORIZE}?{query}&state=again")

    assert redirected(repeated_type)["error"] == "invalid_request"
    assert_page(repeated_client, 400)
    answer = redirected(repeated_state)
    assert answer["error"] == "invalid_request" and "state" not in answer


@pytest.mark.parametrize("state", ["a\x00b", "x" * 100_000, "<script>alert(1)</script>"])
def test_junk_in_state_is_never_a_500(own: Flow, state: str) -> None:
    page = own.open(state=state)

    assert page.status_code in (200, 302, 303)
    assert "<script>" not in page.get_data(as_text=True)


def test_a_form_post_that_is_not_form_encoded_gets_an_error_page(own: Flow) -> None:
    assert_page(own.client.post(AUTHORIZE, json=own.params()), 400)


# The password step: the login rule and its throttles ------------------------------------------


def test_a_wrong_password_shows_the_page_again_with_no_code(own: Flow) -> None:
    page = own.sign_in(password="not the password at all")

    text = assert_page(page, 400)
    assert "incorrect" in text and "username" in inputs(page).fields


class TestThrottledLogin:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_LOGIN_MAX_FAILURES": "2"}

    def test_a_throttled_login_shows_the_page_again_with_429(self, own: Flow) -> None:
        for _ in range(2):
            assert own.sign_in(password="not the password at all").status_code == 400

        page = own.sign_in()  # the right password, but too late

        text = assert_page(page, 429)
        assert "Too many sign-in attempts" in text
        assert int(page.headers["Retry-After"]) > 0


class TestOverHttps:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_ISSUER": "https://auth.example"}

    def test_the_pages_cookie_is_secure_when_the_issuer_is_https(self, own: Flow) -> None:
        page = own.open()

        assert "Secure" in page.headers["Set-Cookie"]


def test_the_pages_cookie_is_not_secure_on_a_plain_http_issuer(own: Flow) -> None:
    # requests and httpx never send a Secure cookie over http://, not even to localhost.
    assert "Secure" not in own.open().headers["Set-Cookie"]


def test_removing_a_client_deletes_its_codes(own: Flow, auth_app: Flask) -> None:
    code = redirected(own.sign_in())["code"]
    with auth_app.app_context():
        clients.remove(operation(), own.client_id)

    assert_error(own.redeem(code), 401, "invalid_client")
    with auth_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuthorizationCode)) == 0


@pytest.mark.parametrize(
    "junk",
    [
        {"username": "ann\x00", "password": STRONG_PASSWORD},
        {"password": "pass\x00word horse battery"},
        {"username": "x" * 5000, "password": "y" * 5000},
        {"consent": "maybe", "approval": "\x00"},
    ],
)
def test_junk_in_the_login_form_is_an_answer_never_a_500(own: Flow, junk: dict[str, str]) -> None:
    fields = inputs(own.open()).fields | {"username": own.username} | junk

    answer = own.client.post(AUTHORIZE, data=fields)

    assert answer.status_code in (400, 403), answer.get_data(as_text=True)[:300]
    assert "Location" not in answer.headers


def test_a_non_utf8_form_body_is_an_answer_never_a_500(own: Flow) -> None:
    answer = own.client.post(
        AUTHORIZE,
        data=b"client_id=%ff%fe&redirect_uri=\xff\xfe&state=%00",
        content_type="application/x-www-form-urlencoded",
    )

    assert_page(answer, 400)


def test_a_page_opened_before_a_key_rotation_signs_in_at_a_replica_started_after_it(
    own: Flow, auth_app: Flask, auth_env: dict[str, str], keys_dir: Any, clock: FakeClock
) -> None:
    fields = inputs(own.open()).fields | {"username": own.username, "password": STRONG_PASSWORD}
    nonce = own.client.get_cookie("tokenpair_authorize", path=AUTHORIZE)
    assert nonce is not None
    KeyStore(keys_dir).create("RS256", clock())  # the new key signs from now on
    replica = auth_service.create_app(
        {**auth_env, "AUTH_DATABASE_URL": auth_app.config["SQLALCHEMY_DATABASE_URI"]},
        clock=clock,
        passwords=CHEAP_PASSWORDS,
    )
    browser = replica.test_client()
    browser.set_cookie("tokenpair_authorize", nonce.value, path=AUTHORIZE)
    try:
        answer = browser.post(AUTHORIZE, data=fields)
    finally:
        with replica.app_context():
            db.session.remove()
            db.engine.dispose()

    assert "code" in redirected(answer)
