"""The six steps of the token lifecycle against real gunicorn processes."""

import time

import requests

from tests.e2e.harness import Stack
from tests.support import STRONG_PASSWORD, random_name


def test_a_session_continues_past_access_token_expiry_by_refreshing(stack: Stack) -> None:
    auth, resource = stack.auth.url, stack.resource.url
    username = random_name()
    credentials = {"username": username, "password": STRONG_PASSWORD}
    assert requests.post(f"{auth}/auth/register", json=credentials, timeout=10).status_code == 201
    tokens = requests.post(f"{auth}/auth/login", json=credentials, timeout=10).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{resource}/api/me", headers=bearer, timeout=10).status_code == 200

    deadline = time.monotonic() + 10
    while (answer := requests.get(f"{resource}/api/me", headers=bearer, timeout=10)).ok:
        assert time.monotonic() < deadline, "the access token never expired"
        time.sleep(0.2)
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    assert 'error_description="The access token expired"' in answer.headers["WWW-Authenticate"]

    renewed = requests.post(
        f"{auth}/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, timeout=10
    ).json()
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    assert requests.get(f"{resource}/api/me", headers=bearer, timeout=10).status_code == 200
