"""Signing-key rotation while traffic flows: zero failed honest requests, nothing restarted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
import requests

from auth_service.keystore import RELOAD_INTERVAL_SECONDS
from tests.e2e.harness import HTTP_TIMEOUT, Stack, bearer, make_stack, refresh, sign_up

ACCESS_TTL = 12
ACTIVATION_DELAY = 6  # >= AUTH_JWKS_MAX_AGE, as the auth service insists
# Every auth worker notices a change of the keys folder within a second.
KEYS_RELOAD = RELOAD_INTERVAL_SECONDS + 0.5


@pytest.fixture
def rotating_stack(site: Path, tmp_path: Path) -> Iterator[Stack]:
    stack = make_stack(
        site,
        tmp_path / "work",
        auth_env={
            "AUTH_ACCESS_TOKEN_TTL": str(ACCESS_TTL),
            "AUTH_KEY_ACTIVATION_DELAY": str(ACTIVATION_DELAY),
            "AUTH_JWKS_MAX_AGE": "2",
        },
        resource_env={"RESOURCE_LEEWAY": "0"},
    )
    yield stack
    stack.stop()


def kid_of(access_token: str) -> str:
    return str(jwt.get_unverified_header(access_token)["kid"])


def published_kids(stack: Stack) -> set[str]:
    jwks = requests.get(f"{stack.auth.url}/.well-known/jwks.json", timeout=HTTP_TIMEOUT).json()
    return {key["kid"] for key in jwks["keys"]}


class HonestClient(threading.Thread):
    """Calls the resource and the auth API; refreshes when told the token expired, and now
    and then on its own. Every answer it cannot recover from is a failure."""

    def __init__(self, stack: Stack, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.stack, self.stop_event = stack, stop
        self.tokens = sign_up(stack)
        self.calls, self.failures = 0, []  # type: list[str]
        self.kids: set[str] = set()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.call(f"{self.stack.resource.url}/api/me")
            self.call(f"{self.stack.auth.url}/auth/sessions")
            if self.calls % 10 == 0:
                self.renew()
            time.sleep(0.05)

    def call(self, url: str) -> None:
        self.calls += 1
        answer = requests.get(
            url, headers=bearer(self.tokens["access_token"]), timeout=HTTP_TIMEOUT
        )
        if answer.status_code == 401 and "expired" in answer.headers.get("WWW-Authenticate", ""):
            self.renew()
            answer = requests.get(
                url, headers=bearer(self.tokens["access_token"]), timeout=HTTP_TIMEOUT
            )
        if not answer.ok:
            self.failures.append(f"GET {url}: {answer.status_code} {answer.text}")

    def renew(self) -> None:
        answer = refresh(self.stack, self.tokens["refresh_token"])
        if not answer.ok:
            self.failures.append(f"refresh: {answer.status_code} {answer.text}")
            return
        self.tokens = answer.json()
        self.kids.add(kid_of(self.tokens["access_token"]))


def wait_for(condition: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_rotating_and_retiring_the_signing_key_fails_no_honest_request(
    rotating_stack: Stack,
) -> None:
    stack = rotating_stack
    (old_kid,) = published_kids(stack)
    stop = threading.Event()
    clients = [HonestClient(stack, stop) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(1)
        rotated = stack.auth.flask("keys", "rotate")
        assert "published key" in rotated.stdout
        time.sleep(KEYS_RELOAD)
        (new_kid,) = published_kids(stack) - {old_kid}

        # Before activation the new key is only published: tokens still carry the old kid.
        assert kid_of(sign_up(stack)["access_token"]) == old_kid
        old_token = sign_up(stack)["access_token"]
        wait_for(lambda: any(new_kid in client.kids for client in clients), 30, "the new key")
        # The old key now only verifies: its tokens are still accepted everywhere.
        for url in (f"{stack.resource.url}/api/me", f"{stack.auth.url}/auth/sessions"):
            assert requests.get(url, headers=bearer(old_token), timeout=HTTP_TIMEOUT).ok

        refused = stack.auth.flask("keys", "retire", old_kid, check=False)
        assert refused.returncode != 0 and "--force" in refused.stderr
        wait_for(
            lambda: stack.auth.flask("keys", "retire", old_kid, check=False).returncode == 0,
            ACCESS_TTL + 10,
            "the old key to become retirable",
        )
        time.sleep(KEYS_RELOAD)
        assert published_kids(stack) == {new_kid}
        time.sleep(6)  # traffic goes on while the resource service re-fetches the key set
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)

    failures = [failure for client in clients for failure in client.failures]
    assert failures == []
    assert sum(client.calls for client in clients) > 100
    answer = requests.get(f"{stack.resource.url}/api/me", headers=bearer(old_token), timeout=10)
    assert answer.status_code == 401


def test_a_force_retired_key_is_refused_by_both_services_before_its_tokens_expire(
    rotating_stack: Stack,
) -> None:
    stack = rotating_stack
    (old_kid,) = published_kids(stack)
    token = sign_up(stack)["access_token"]
    stack.auth.flask("keys", "rotate", "--now")
    time.sleep(KEYS_RELOAD)
    assert kid_of(sign_up(stack)["access_token"]) != old_kid
    me = f"{stack.resource.url}/api/me"
    assert requests.get(me, headers=bearer(token), timeout=HTTP_TIMEOUT).ok

    stack.auth.flask("keys", "retire", old_kid, "--force")
    sessions = f"{stack.auth.url}/auth/sessions"

    def refused(url: str) -> bool:
        answer = requests.get(url, headers=bearer(token), timeout=HTTP_TIMEOUT)
        return answer.status_code == 401 and "unknown key" in answer.headers["WWW-Authenticate"]

    wait_for(lambda: refused(sessions), 5, "the auth service to drop the key")
    wait_for(lambda: refused(me), ACCESS_TTL - 3, "the resource service to drop the key")
