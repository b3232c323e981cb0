"""Throttling through real gunicorn workers, from distinct loopback source addresses.

Each client binds its socket to its own address of 127.0.0.0/8, so the auth service sees
distinct peers exactly as it would see distinct hosts; nothing relies on a forged header.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conformance.source_address import client_from, require_loopback_address
from tests.e2e.harness import ENGINES, HTTP_TIMEOUT, Stack, running_stack
from tests.support import STRONG_PASSWORD, random_name, run_concurrently

PER_NAME = 3
PER_ADDRESS = 6
WRONG = "not the password!"
LIMITS = {
    "AUTH_LOGIN_MAX_FAILURES": str(PER_NAME),
    "AUTH_ADDRESS_MAX_LOGIN_FAILURES": str(PER_ADDRESS),
    "AUTH_ADDRESS_MAX_LOGINS": "1000",
}


@pytest.fixture(scope="module", autouse=True)
def loopback_aliases() -> None:
    for last in (*range(2, 8), 10):  # every address this module sends from
        require_loopback_address(f"127.0.0.{last}")


@pytest.fixture(scope="module", params=ENGINES)
def limited_stack(
    request: pytest.FixtureRequest, site: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One stack for the module: each test sends from loopback addresses no other test uses."""
    with running_stack(
        site, tmp_path_factory.mktemp("throttle"), request.param, auth_env=LIMITS
    ) as stack:
        yield stack


def register(stack: Stack) -> str:
    username = random_name()
    answer = requests.post(
        f"{stack.auth.url}/auth/register",
        json={"username": username, "password": STRONG_PASSWORD},
        timeout=HTTP_TIMEOUT,
    )
    assert answer.status_code == 201, answer.text
    return username


def login(
    stack: Stack,
    source: str,
    username: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    with client_from(source) as client:
        return client.post(
            f"{stack.auth.url}/auth/login",
            json={"username": username, "password": password},
            headers=headers,
            timeout=HTTP_TIMEOUT,
        )


def assert_throttled(answer: requests.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == "too_many_requests"
    assert set(answer.json()) == {"error", "error_description"}
    assert 1 <= int(answer.headers["Retry-After"]) <= 300


def test_failures_from_one_address_cannot_lock_the_victim_out(limited_stack: Stack) -> None:
    victim = register(limited_stack)
    for _ in range(PER_NAME):
        attempt = login(limited_stack, "127.0.0.2", f"{victim.upper()}  ", WRONG)
        assert attempt.status_code == 401, attempt.text

    assert_throttled(login(limited_stack, "127.0.0.2", victim, STRONG_PASSWORD))
    assert login(limited_stack, "127.0.0.3", victim, STRONG_PASSWORD).status_code == 200


def test_an_address_spraying_usernames_is_throttled_and_others_are_not(
    limited_stack: Stack,
) -> None:
    sprayed = [login(limited_stack, "127.0.0.4", random_name(), WRONG) for _ in range(PER_ADDRESS)]
    assert [answer.status_code for answer in sprayed] == [401] * PER_ADDRESS

    user = register(limited_stack)
    assert_throttled(login(limited_stack, "127.0.0.4", user, STRONG_PASSWORD))
    assert login(limited_stack, "127.0.0.5", user, STRONG_PASSWORD).status_code == 200


def test_concurrent_wrong_logins_get_no_more_401s_than_the_limit(limited_stack: Stack) -> None:
    user = register(limited_stack)

    def wrong_login() -> int:
        return login(limited_stack, "127.0.0.6", user, WRONG).status_code

    statuses = Counter(run_concurrently(12, wrong_login))

    assert statuses == {401: PER_NAME, 429: 12 - PER_NAME}


def test_x_forwarded_for_is_ignored_without_trusted_proxies(limited_stack: Stack) -> None:
    for hop in range(PER_ADDRESS):
        forged = {"X-Forwarded-For": f"198.51.100.{hop}"}
        assert login(limited_stack, "127.0.0.7", random_name(), WRONG, forged).status_code == 401

    fresh_forgery = {"X-Forwarded-For": "203.0.113.1"}
    assert_throttled(login(limited_stack, "127.0.0.7", random_name(), WRONG, fresh_forgery))


def test_x_forwarded_for_is_honoured_behind_one_trusted_proxy(site: Path, tmp_path: Path) -> None:
    # 127.0.0.10 plays the proxy: it appends the address of the client it serves.
    env = {**LIMITS, "AUTH_TRUSTED_PROXIES": "1"}
    with running_stack(site, tmp_path, auth_env=env) as stack:
        victim = register(stack)
        attacker = {"X-Forwarded-For": "127.0.0.1, 192.0.2.66"}  # first hop written by the client
        for _ in range(PER_NAME):
            assert login(stack, "127.0.0.10", victim, WRONG, attacker).status_code == 401
        assert_throttled(login(stack, "127.0.0.10", victim, STRONG_PASSWORD, attacker))

        other_client = {"X-Forwarded-For": "192.0.2.66, 198.51.100.7"}
        assert login(stack, "127.0.0.10", victim, STRONG_PASSWORD, other_client).status_code == 200
        malformed = login(stack, "127.0.0.10", victim, WRONG, {"X-Forwarded-For": "not-an-ip"})
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "invalid_request"
