"""Browser clients (`--browser-origin`): the refresh token in an HttpOnly cookie, origins checked.

`requests` does not send a `Secure` cookie over http://, so the checks send the Cookie header
themselves, as the browser would to the auth service's own origin.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conformance.deployment import Deployment, bearer
from tests.support import STRONG_PASSWORD, random_name

# In the e2e ring the module's stack allows this origin (a given deployment: --browser-origin).
RING_SETTINGS = ({"AUTH_BROWSER_ORIGINS": "https://app.conformance.example"}, {})
FOREIGN_ORIGINS = ("https://foreign.conformance.example", "null")


@pytest.fixture(scope="module")
def origin(deployment: Deployment) -> str:
    if not deployment.browser_origin:
        pytest.skip("needs --browser-origin, one of the deployment's AUTH_BROWSER_ORIGINS")
    return deployment.browser_origin


def _set_cookies(answer: requests.Response) -> list[str]:
    return list(answer.raw.headers.getlist("Set-Cookie"))


def _cookie_pair(set_cookie: str) -> str:
    return set_cookie.split(";", 1)[0].strip()


def _browser_post(
    deployment: Deployment, path: str, origin: str, cookie: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = {"Origin": origin, **({"Cookie": cookie} if cookie else {})}
    return deployment.post(f"{deployment.auth_url}{path}", headers=headers, **kwargs)


def _browser_login(deployment: Deployment, origin: str) -> tuple[requests.Response, str]:
    """Register a throwaway user, log in from *origin*; return the answer and its cookie pair."""
    credentials = {"username": random_name(), "password": STRONG_PASSWORD}
    answer = deployment.post(f"{deployment.auth_url}/auth/register", json=credentials)
    assert answer.status_code == 201, answer.text
    answer = _browser_post(deployment, "/auth/login", origin, json=credentials)
    assert answer.status_code == 200, answer.text
    cookies = _set_cookies(answer)
    assert len(cookies) == 1, cookies
    return answer, _cookie_pair(cookies[0])


def test_browser_login_sets_the_refresh_cookie_and_keeps_it_out_of_the_body(
    deployment: Deployment, origin: str
) -> None:
    answer, _ = _browser_login(deployment, origin)
    attributes = {part.strip().split("=", 1)[0].lower(): part.strip()
                  for part in _set_cookies(answer)[0].split(";")[1:]}  # fmt: skip
    assert {"httponly", "secure"} <= set(attributes), attributes
    assert attributes.get("samesite", "").lower() == "samesite=strict", attributes
    assert attributes.get("path") == "Path=/auth", attributes
    assert "refresh_token" not in answer.json()
    assert "access_token" in answer.json()


def test_browser_refresh_rotates_the_cookie_and_its_access_token_works(
    deployment: Deployment, origin: str
) -> None:
    _, cookie = _browser_login(deployment, origin)
    answer = _browser_post(deployment, "/auth/refresh", origin, cookie, json={})
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json()
    rotated = [_cookie_pair(c) for c in _set_cookies(answer)]
    assert len(rotated) == 1 and rotated[0] != cookie, rotated
    me = deployment.get(
        f"{deployment.resource_url}/api/me", headers=bearer(answer.json()["access_token"])
    )
    assert me.status_code == 200, me.text


def test_cors_preflight_allows_the_origin_with_credentials(
    deployment: Deployment, origin: str
) -> None:
    answer = deployment.request(
        "OPTIONS",
        f"{deployment.auth_url}/auth/refresh",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        },
    )
    assert answer.status_code < 300, answer.status_code
    assert answer.headers.get("Access-Control-Allow-Origin") == origin
    assert answer.headers.get("Access-Control-Allow-Credentials") == "true"


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize("foreign", FOREIGN_ORIGINS)
def test_a_foreign_origin_is_refused_and_changes_nothing(
    deployment: Deployment, origin: str, path: str, foreign: str
) -> None:
    _, cookie = _browser_login(deployment, origin)
    answer = _browser_post(deployment, path, foreign, cookie, json={})
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == "invalid_origin"
    still = _browser_post(deployment, "/auth/refresh", origin, cookie, json={})
    assert still.status_code == 200, still.text


def test_browser_logout_expires_the_cookie(deployment: Deployment, origin: str) -> None:
    _, cookie = _browser_login(deployment, origin)
    answer = _browser_post(deployment, "/auth/logout", origin, cookie, json={})
    assert answer.status_code < 300, answer.text
    expired = [c for c in _set_cookies(answer) if _cookie_pair(c).split("=", 1)[0]
               == cookie.split("=", 1)[0]]  # fmt: skip
    assert expired, _set_cookies(answer)
    lowered = expired[0].lower()
    assert "max-age=0" in lowered or "expires=thu, 01 jan 1970" in lowered, expired[0]
