"""The Origin check and CORS: what a page of another origin can and cannot make the services do."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.http import parse_set_header

from auth_service.models import Session, User
from tests.integration.browser_helpers import (
    FOREIGN,
    PAGE,
    Page,
    count,
    preflight,
    throttle_total,
)
from tests.integration.conftest import AuthActions, assert_error, bearer
from tests.support import STRONG_PASSWORD, random_name


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {**auth_env, "AUTH_BROWSER_ORIGINS": f"{PAGE}, https://app.example.com"}


@pytest.fixture
def resource_env() -> dict[str, str]:
    return {"RESOURCE_CORS_ORIGINS": "https://notes.example"}


@pytest.fixture
def page(client: FlaskClient) -> Page:
    return Page(client)


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
