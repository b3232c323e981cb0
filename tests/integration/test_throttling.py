"""Throttling against a real auth store (SQLite and PostgreSQL), requests from distinct peers.

The test client sets REMOTE_ADDR from ``environ_base``; the e2e ring sends from real distinct
loopback source addresses instead.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.integration.conftest import AuthActions, assert_error
from tests.support import STRONG_PASSWORD, FakeClock, random_name, run_concurrently

PER_NAME = 3  # AUTH_LOGIN_MAX_FAILURES below
PER_ADDRESS = 6  # AUTH_ADDRESS_MAX_LOGIN_FAILURES below
WINDOW = 300  # AUTH_LOGIN_FAILURE_WINDOW default
WRONG = "not the password!"


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {
        **auth_env,
        "AUTH_LOGIN_MAX_FAILURES": str(PER_NAME),
        "AUTH_ADDRESS_MAX_LOGIN_FAILURES": str(PER_ADDRESS),
    }


def post(client: FlaskClient, path: str, body: dict[str, Any], address: str, **kw: Any) -> Any:
    """POST *body* as JSON from the peer *address*."""
    return client.post(path, json=body, environ_base={"REMOTE_ADDR": address}, **kw)


def login(client: FlaskClient, username: str, password: str, address: str) -> Any:
    return post(client, "/auth/login", {"username": username, "password": password}, address)


def assert_throttled(response: Any, longest_wait: int) -> int:
    """Assert a 429 in the one error shape with a Retry-After of 1..longest_wait seconds."""
    assert_error(response, 429, "too_many_requests")
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= longest_wait
    return wait


# Per (username, address) ------------------------------------------------------------------


def test_failures_from_one_address_never_lock_the_user_out_from_another(
    client: FlaskClient, auth: AuthActions
) -> None:
    victim = auth.register()
    for _ in range(PER_NAME):
        assert_error(login(client, victim, WRONG, "192.0.2.66"), 401, "invalid_grant")

    assert_throttled(login(client, victim, STRONG_PASSWORD, "192.0.2.66"), WINDOW)
    assert login(client, victim, STRONG_PASSWORD, "198.51.100.7").status_code == 200


def test_throttling_one_username_leaves_other_usernames_of_that_address_alone(
    client: FlaskClient, auth: AuthActions
) -> None:
    victim, bystander = auth.register(), auth.register()
    for _ in range(PER_NAME):
        login(client, victim, WRONG, "192.0.2.66")

    assert login(client, victim, STRONG_PASSWORD, "192.0.2.66").status_code == 429
    assert login(client, bystander, STRONG_PASSWORD, "192.0.2.66").status_code == 200


def test_every_spelling_of_a_username_counts_against_one_counter(
    client: FlaskClient, auth: AuthActions
) -> None:
    victim = auth.register()
    for spelling in (victim.upper() + "  ", f"  {victim.title()}", victim):
        assert login(client, spelling, WRONG, "192.0.2.66").status_code == 401

    assert_throttled(login(client, f"{victim.upper()}  ", STRONG_PASSWORD, "192.0.2.66"), WINDOW)


def test_unknown_usernames_are_throttled_like_known_ones(client: FlaskClient) -> None:
    # Otherwise the 429 would tell an attacker which usernames exist.
    unknown = random_name()
    for _ in range(PER_NAME):
        assert login(client, unknown, WRONG, "192.0.2.66").status_code == 401

    assert_throttled(login(client, unknown, WRONG, "192.0.2.66"), WINDOW)


def test_retry_after_counts_down_and_the_throttle_ends_with_the_window(
    client: FlaskClient, auth: AuthActions, clock: FakeClock
) -> None:
    user = auth.register()
    for _ in range(PER_NAME):
        login(client, user, WRONG, "192.0.2.66")
    first = assert_throttled(login(client, user, STRONG_PASSWORD, "192.0.2.66"), WINDOW)

    clock.advance(100)
    assert int(login(client, user, STRONG_PASSWORD, "192.0.2.66").headers["Retry-After"]) == (
        first - 100
    )
    clock.advance(first - 101)
    assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 429
    clock.advance(1)

    assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 200


def test_a_successful_login_resets_the_count_for_its_username_and_address(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.register()
    for _ in range(2):
        for _ in range(PER_NAME - 1):
            assert login(client, user, WRONG, "192.0.2.66").status_code == 401
        assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 200


def test_a_throttled_attempt_counts_nothing(
    client: FlaskClient, auth: AuthActions, clock: FakeClock
) -> None:
    user = auth.register()
    for _ in range(PER_NAME):
        login(client, user, WRONG, "192.0.2.66")
    for _ in range(10):  # refused unseen: they add no failure to the address either
        assert login(client, user, WRONG, "192.0.2.66").status_code == 429

    others = [random_name() for _ in range(PER_ADDRESS - PER_NAME)]
    assert [login(client, name, WRONG, "192.0.2.66").status_code for name in others] == [401] * (
        PER_ADDRESS - PER_NAME
    )


# Per address, across usernames ------------------------------------------------------------


def test_an_address_spraying_many_usernames_is_throttled(
    client: FlaskClient, auth: AuthActions
) -> None:
    names = [random_name() for _ in range(PER_ADDRESS)]
    assert [login(client, name, WRONG, "192.0.2.66").status_code for name in names] == [
        401
    ] * PER_ADDRESS

    bystander = auth.register()
    assert_throttled(login(client, bystander, STRONG_PASSWORD, "192.0.2.66"), WINDOW)
    assert login(client, bystander, STRONG_PASSWORD, "198.51.100.7").status_code == 200


def test_successful_logins_do_not_count_as_failures_of_their_address(
    client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.register()
    for _ in range(PER_ADDRESS - 1):
        assert login(client, random_name(), WRONG, "192.0.2.66").status_code == 401
    for _ in range(3):
        assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 200

    assert login(client, random_name(), WRONG, "192.0.2.66").status_code == 401
    assert_throttled(login(client, random_name(), WRONG, "192.0.2.66"), WINDOW)


@pytest.mark.parametrize("concurrent", [16])
def test_concurrent_wrong_logins_never_get_more_401s_than_the_limit(
    auth_app: Any, auth: AuthActions, concurrent: int
) -> None:
    user = auth.register()

    def wrong_login() -> int:
        return int(login(auth_app.test_client(), user, WRONG, "192.0.2.66").status_code)

    statuses = Counter(run_concurrently(concurrent, wrong_login))

    assert statuses == {401: PER_NAME, 429: concurrent - PER_NAME}


# Logins, refreshes and registrations per address -------------------------------------------


class TestRequestsPerAddress:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {
            **auth_env,
            "AUTH_ADDRESS_MAX_LOGINS": "3",
            "AUTH_ADDRESS_MAX_REFRESHES": "2",
            "AUTH_ADDRESS_WINDOW": "60",
            "AUTH_ADDRESS_MAX_REGISTRATIONS": "2",
            "AUTH_REGISTRATION_WINDOW": "3600",
        }

    def register(self, client: FlaskClient, address: str, username: str | None = None) -> Any:
        body = {"username": username or random_name(), "password": STRONG_PASSWORD}
        return post(client, "/auth/register", body, address)

    def test_logins_per_address_are_limited_even_with_the_right_password(
        self, client: FlaskClient, auth: AuthActions, clock: FakeClock
    ) -> None:
        user = auth.register()
        for _ in range(3):
            assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 200

        assert_throttled(login(client, user, STRONG_PASSWORD, "192.0.2.66"), 60)
        assert login(client, user, STRONG_PASSWORD, "198.51.100.7").status_code == 200
        clock.advance(60)
        assert login(client, user, STRONG_PASSWORD, "192.0.2.66").status_code == 200

    def test_refreshes_per_address_are_limited_and_a_refused_one_keeps_its_token(
        self, client: FlaskClient, auth: AuthActions, clock: FakeClock
    ) -> None:
        token = auth.tokens()["refresh_token"]
        for _ in range(2):
            answer = post(client, "/auth/refresh", {"refresh_token": token}, "192.0.2.66")
            assert answer.status_code == 200
            token = answer.get_json()["refresh_token"]

        refused = post(client, "/auth/refresh", {"refresh_token": token}, "192.0.2.66")
        assert_throttled(refused, 60)
        clock.advance(60)
        again = post(client, "/auth/refresh", {"refresh_token": token}, "192.0.2.66")
        assert again.status_code == 200  # the 429 changed nothing: still the live token

    def test_refused_refreshes_count_against_the_address_too(self, client: FlaskClient) -> None:
        for _ in range(2):
            bad = post(client, "/auth/refresh", {"refresh_token": "guess"}, "192.0.2.66")
            assert_error(bad, 401, "invalid_grant")

        guess = post(client, "/auth/refresh", {"refresh_token": "guess"}, "192.0.2.66")
        assert_throttled(guess, 60)

    def test_registrations_per_address_are_limited_and_a_conflict_counts(
        self, client: FlaskClient
    ) -> None:
        taken = random_name()
        assert self.register(client, "192.0.2.66", taken).status_code == 201
        assert_error(self.register(client, "192.0.2.66", taken), 409, "conflict")

        assert_throttled(self.register(client, "192.0.2.66"), 3600)
        assert self.register(client, "198.51.100.7").status_code == 201

    def test_malformed_registrations_cost_nothing_and_count_nothing(
        self, client: FlaskClient
    ) -> None:
        for _ in range(5):
            short = post(
                client, "/auth/register", {"username": random_name(), "password": "x"}, "192.0.2.66"
            )
            assert_error(short, 400, "invalid_request")

        assert self.register(client, "192.0.2.66").status_code == 201


# The client address ------------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_without_trusted_proxies(client: FlaskClient) -> None:
    for forged in [f"198.51.100.{n}" for n in range(PER_ADDRESS)]:
        answer = client.post(
            "/auth/login",
            json={"username": random_name(), "password": WRONG},
            headers={"X-Forwarded-For": forged},
            environ_base={"REMOTE_ADDR": "192.0.2.66"},
        )
        assert answer.status_code == 401

    forged_again = client.post(
        "/auth/login",
        json={"username": random_name(), "password": WRONG},
        headers={"X-Forwarded-For": "203.0.113.1"},
        environ_base={"REMOTE_ADDR": "192.0.2.66"},
    )
    assert_throttled(forged_again, WINDOW)


class TestBehindOneProxy:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_TRUSTED_PROXIES": "1"}

    def via_proxy(self, client: FlaskClient, forwarded_for: str, username: str) -> Any:
        return client.post(
            "/auth/login",
            json={"username": username, "password": WRONG},
            headers={"X-Forwarded-For": forwarded_for},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},  # the proxy
        )

    def test_the_hop_the_proxy_appended_is_the_client(self, client: FlaskClient) -> None:
        victim = random_name()
        for _ in range(PER_NAME):
            # Whatever the attacker writes in front, the proxy's hop says who it is.
            assert self.via_proxy(client, "203.0.113.9, 192.0.2.66", victim).status_code == 401

        assert_throttled(self.via_proxy(client, "198.51.100.1, 192.0.2.66", victim), WINDOW)
        assert self.via_proxy(client, "192.0.2.66, 198.51.100.7", victim).status_code == 401

    @pytest.mark.parametrize("header", ["garbage", "192.0.2.1, not-an-ip", "\u00e9", " , "])
    def test_a_malformed_hop_is_invalid_request_not_a_500(
        self, client: FlaskClient, header: str
    ) -> None:
        assert_error(self.via_proxy(client, header, random_name()), 400, "invalid_request")
