"""Browser clients: the refresh token only in an HttpOnly cookie, CORS, and the Origin check."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from werkzeug.http import parse_set_header

from auth_service.browser import COOKIE_NAME
from auth_service.extensions import db
from auth_service.models import Session, ThrottleCounter, User
from tests.integration.conftest import AuthActions, assert_error, bearer, claims_of
from tests.support import STRONG_PASSWORD, FakeClock, random_name

PAGE = "http://localhost:8003"  # AUTH_BROWSER_ORIGINS below
OWN = "http://localhost:8001"  # AUTH_ISSUER's origin (the default issuer)
FOREIGN = "https://evil.example"
GRACE = 10


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {**auth_env, "AUTH_BROWSER_ORIGINS": f"{PAGE}, https://app.example.com"}


@pytest.fixture
def resource_env() -> dict[str, str]:
    return {"RESOURCE_CORS_ORIGINS": "https://notes.example"}


class Page:
    """A web page of *origin* calling the auth service with fetch(..., credentials: 'include')."""

    def __init__(self, client: FlaskClient, origin: str = PAGE) -> None:
        self.client = client
        self.origin = origin

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        headers = {"Origin": self.origin, **kwargs.pop("headers", {})}
        if "data" in kwargs:
            return self.client.post(path, headers=headers, **kwargs)
        return self.client.post(path, json={} if body is None else body, headers=headers, **kwargs)

    def login(self, username: str) -> Any:
        return self.post("/auth/login", {"username": username, "password": STRONG_PASSWORD})

    def cookie(self) -> str | None:
        cookie = self.client.get_cookie(COOKIE_NAME, domain="localhost", path="/auth")
        return None if cookie is None else cookie.value


def set_cookie(response: Any) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE_NAME)]
    return str(header)


def attributes(header: str) -> dict[str, str]:
    """Return the attributes of a Set-Cookie header, lower-cased names, the value dropped."""
    parts = [part.strip() for part in header.split(";")[1:]]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1) + [""])[1] for p in parts}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def count(auth_app: Flask, model: Any) -> int:
    with auth_app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def throttle_total(auth_app: Flask) -> int:
    with auth_app.app_context():
        return int(db.session.scalar(select(func.coalesce(func.sum(ThrottleCounter.hits), 0))))


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


# The Origin check -----------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [FOREIGN, "null", "http://localhost:8004", "http://localhost"])
def test_a_foreign_origin_can_neither_refresh_nor_log_out(
    auth: AuthActions, page: Page, auth_app: Flask, origin: str
) -> None:
    page.login(auth.register())
    cookie = page.cookie()
    counted = throttle_total(auth_app)
    attacker = Page(page.client, origin)  # the victim's browser, carrying the cookie

    for path in ("/auth/refresh", "/auth/logout"):
        response = attacker.post(path)
        assert_error(response, 403, "invalid_origin")
        assert "Access-Control-Allow-Origin" not in response.headers
        assert not response.headers.getlist("Set-Cookie")

    assert throttle_total(auth_app) == counted
    assert page.cookie() == cookie
    assert page.post("/auth/refresh").status_code == 200  # the session was not revoked


def test_a_cross_site_form_post_is_refused_before_anything_is_read(
    auth_app: Flask, client: FlaskClient
) -> None:
    users = count(auth_app, User)
    form = {"username": random_name(), "password": STRONG_PASSWORD}

    response = Page(client, FOREIGN).post("/auth/register", data=form)

    assert_error(response, 403, "invalid_origin")
    assert count(auth_app, User) == users


def test_a_text_plain_fetch_without_preflight_is_refused(
    auth_app: Flask, client: FlaskClient
) -> None:
    users = count(auth_app, User)
    body = json.dumps({"username": random_name(), "password": STRONG_PASSWORD})

    response = Page(client, "null").post(
        "/auth/register", data=body, headers={"Content-Type": "text/plain"}
    )

    assert_error(response, 403, "invalid_origin")
    assert count(auth_app, User) == users


def test_login_csrf_into_the_attackers_account_is_refused(
    auth: AuthActions, auth_app: Flask
) -> None:
    attackers_account = auth.register()
    sessions = count(auth_app, Session)
    counted = throttle_total(auth_app)

    response = Page(auth.client, FOREIGN).login(attackers_account)

    assert_error(response, 403, "invalid_origin")
    assert not response.headers.getlist("Set-Cookie")
    assert count(auth_app, Session) == sessions
    assert throttle_total(auth_app) == counted


def test_a_foreign_origin_cannot_end_sessions_with_a_stolen_access_token_either(
    auth: AuthActions,
) -> None:
    access = auth.tokens()["access_token"]

    response = auth.client.post("/auth/logout-all", headers={**bearer(access), "Origin": FOREIGN})

    assert_error(response, 403, "invalid_origin")
    assert auth.client.get("/auth/sessions", headers=bearer(access)).status_code == 200


def test_reading_from_a_foreign_origin_is_not_refused_but_gets_no_cors_grant(
    auth: AuthActions,
) -> None:
    access = auth.tokens()["access_token"]

    response = auth.client.get("/auth/sessions", headers={**bearer(access), "Origin": FOREIGN})

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


# CORS ---------------------------------------------------------------------------------------------


def preflight(client: FlaskClient, path: str, origin: str, headers: str = "content-type") -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": headers,
        },
    )


def test_a_preflight_from_an_allowed_origin_is_granted_with_credentials(
    client: FlaskClient,
) -> None:
    response = preflight(client, "/auth/refresh", "https://app.example.com")

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in parse_set_header(response.headers["Access-Control-Allow-Methods"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("origin", [FOREIGN, "null", "https://app.example.com.evil.example"])
def test_a_preflight_from_a_foreign_origin_is_answered_without_any_grant(
    client: FlaskClient, origin: str
) -> None:
    response = preflight(client, "/auth/login", origin)

    assert response.status_code == 200
    assert not [h for h in response.headers if h[0].lower().startswith("access-control-")]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_preflights_are_never_counted_by_the_throttles(
    auth: AuthActions, page: Page, auth_app: Flask
) -> None:
    username = auth.register()
    counted = throttle_total(auth_app)

    answers = {preflight(page.client, "/auth/login", PAGE).status_code for _ in range(50)}

    assert answers == {200}
    assert throttle_total(auth_app) == counted
    page.login(username)
    assert throttle_total(auth_app) > counted  # what a real login is counted by


def test_the_resource_service_grants_its_cors_origins_bearer_tokens_without_cookies(
    auth_app: Flask, resource_app: Flask
) -> None:
    api = resource_app.test_client()

    allowed = preflight(api, "/api/notes", "https://notes.example", "authorization,content-type")
    foreign = preflight(api, "/api/notes", FOREIGN, "authorization")
    unauthenticated = api.get("/api/me", headers={"Origin": "https://notes.example"})

    assert allowed.headers["Access-Control-Allow-Origin"] == "https://notes.example"
    assert "Access-Control-Allow-Credentials" not in allowed.headers
    assert "authorization" in allowed.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["Access-Control-Allow-Origin"] == "https://notes.example"
    exposed = parse_set_header(unauthenticated.headers["Access-Control-Expose-Headers"])
    assert "WWW-Authenticate" in exposed
