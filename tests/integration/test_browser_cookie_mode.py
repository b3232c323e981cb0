"""Cookie mode: from an allowed origin the refresh token travels only in an HttpOnly cookie."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from auth_service.browser import COOKIE_NAME
from tests.integration.browser_helpers import (
    GRACE,
    OWN,
    PAGE,
    Page,
    attributes,
    sample,
    set_cookie,
)
from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.support import FakeClock


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {**auth_env, "AUTH_BROWSER_ORIGINS": f"{PAGE}, https://app.example.com"}


@pytest.fixture
def resource_env() -> dict[str, str]:
    return {"RESOURCE_CORS_ORIGINS": "https://notes.example"}


@pytest.fixture
def page(client: FlaskClient) -> Page:
    return Page(client)


# Cookie mode ------------------------------------------------------------------------------------


def test_a_login_from_an_allowed_origin_sets_the_cookie_and_keeps_the_token_out_of_the_body(
    auth: AuthActions, page: Page
) -> None:
    response = page.login(auth.register())

    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    header = set_cookie(response)
    assert attributes(header) == {
        "httponly": "",
        "secure": "",
        "samesite": "Strict",
        "path": "/auth",
        "max-age": "1209600",  # AUTH_REFRESH_TOKEN_TTL: the session's idle lifetime
        "expires": attributes(header)["expires"],
    }
    assert page.cookie()
    assert page.cookie() not in response.get_data(as_text=True)
    assert response.headers["Access-Control-Allow-Origin"] == PAGE
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_refresh_takes_the_cookie_and_rotates_it_like_the_json_mode(
    auth: AuthActions, page: Page
) -> None:
    login = page.login(auth.register()).get_json()
    first = page.cookie()

    response = page.post("/auth/refresh", {})

    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body
    assert claims_of(body["access_token"])["sid"] == claims_of(login["access_token"])["sid"]
    second = page.cookie()
    assert second and second != first
    assert "refresh_token" not in response.get_data(as_text=True)
    # The rotated cookie is a rotated token for the JSON mode too: one rule, one place.
    assert auth.refresh(second).status_code == 200


def test_two_tabs_refreshing_the_same_cookie_both_get_the_same_new_cookie(
    auth: AuthActions, page: Page, clock: FakeClock
) -> None:
    page.login(auth.register())
    original = page.cookie()
    first = page.post("/auth/refresh")
    new = page.cookie()

    clock.advance(GRACE)
    page.client.set_cookie(COOKIE_NAME, str(original), domain="localhost", path="/auth")
    second = page.post("/auth/refresh")

    assert first.status_code == second.status_code == 200
    assert page.cookie() == new


def test_a_reused_cookie_revokes_the_session_and_is_dropped(
    auth: AuthActions, page: Page, clock: FakeClock
) -> None:
    page.login(auth.register())
    original = page.cookie()
    page.post("/auth/refresh")
    newest = page.cookie()
    theft_before = sample("tokenpair_refresh_reuse_total", kind="theft")

    clock.advance(GRACE + 1)
    page.client.set_cookie(COOKIE_NAME, str(original), domain="localhost", path="/auth")
    response = page.post("/auth/refresh")

    assert_error(response, 401, "invalid_grant")
    assert attributes(set_cookie(response))["max-age"] == "0"
    assert page.cookie() is None
    assert sample("tokenpair_refresh_reuse_total", kind="theft") == theft_before + 1
    assert_error(auth.refresh(str(newest)), 401, "invalid_grant")


def test_the_cookie_lives_no_longer_than_the_session_may(
    auth: AuthActions, page: Page, clock: FakeClock
) -> None:
    page.login(auth.register())
    day = 86_400

    for _ in range(2):  # refreshed every 10 days: each time within the 14-day idle lifetime
        clock.advance(10 * day)
        response = page.post("/auth/refresh")
        assert response.status_code == 200

    # 30 days (AUTH_SESSION_MAX_AGE) after the login, 20 of them gone: 10 days, not 14.
    assert attributes(set_cookie(response))["max-age"] == str(10 * day)


def test_a_browser_refresh_counts_in_the_same_metrics(auth: AuthActions, page: Page) -> None:
    page.login(auth.register())
    before = sample("tokenpair_refreshes_total", outcome="rotated")

    page.post("/auth/refresh")

    assert sample("tokenpair_refreshes_total", outcome="rotated") == before + 1


def test_a_browser_refresh_without_a_cookie_is_an_invalid_grant(page: Page) -> None:
    assert_error(page.post("/auth/refresh"), 401, "invalid_grant")


def test_a_browser_refresh_with_the_token_in_the_body_is_refused(
    auth: AuthActions, page: Page
) -> None:
    tokens = auth.tokens()  # a JSON-mode token, now offered by a page in its body

    response = page.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})

    assert_error(response, 400, "invalid_request")
    assert auth.refresh(tokens["refresh_token"]).status_code == 200  # not rotated


def test_a_browser_logout_revokes_the_session_and_expires_the_cookie(
    auth: AuthActions, page: Page
) -> None:
    access = page.login(auth.register()).get_json()["access_token"]
    cookie = page.cookie()

    response = page.post("/auth/logout")

    assert response.status_code == 204
    header = attributes(set_cookie(response))
    assert header["max-age"] == "0" and header["path"] == "/auth"
    assert page.cookie() is None
    assert_error(auth.refresh(str(cookie)), 401, "invalid_grant")
    assert page.client.get("/auth/sessions", headers=bearer(access)).status_code == 401


def test_a_browser_logout_with_the_token_in_the_body_is_refused(
    auth: AuthActions, page: Page
) -> None:
    tokens = auth.tokens()

    response = page.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})

    assert_error(response, 400, "invalid_request")
    assert auth.refresh(tokens["refresh_token"]).status_code == 200  # not logged out


def test_a_browser_logout_without_a_cookie_answers_204(page: Page) -> None:
    assert page.post("/auth/logout").status_code == 204


def test_without_origin_the_json_mode_is_unchanged_even_with_a_cookie_present(
    auth: AuthActions, page: Page
) -> None:
    page.login(auth.register())  # the client now holds a cookie

    tokens = auth.tokens()

    assert "refresh_token" in tokens
    assert not [h for h in auth.login(auth.register()).headers if h[0].startswith("Access-Control")]
    response = auth.refresh(tokens["refresh_token"])
    assert "refresh_token" in response.get_json()
    assert not [h for h in response.headers.getlist("Set-Cookie") if COOKIE_NAME in h]


def test_the_services_own_origin_is_accepted_in_the_json_mode(auth: AuthActions) -> None:
    username = auth.register()
    response = Page(auth.client, OWN).login(username)

    assert response.status_code == 200
    assert "refresh_token" in response.get_json()
    assert "Access-Control-Allow-Origin" not in response.headers
