"""The throttle rules that need no store: windows and waits on a fake clock, keys, limits.

The atomic counting itself (one upsert, concurrent requests) runs on real databases in
tests/integration/test_throttling.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from auth_service.settings import Settings
from auth_service.throttling import Limit, Limits, retry_after
from tests.support import FakeClock

LIMIT = Limit("test", max_hits=3, window=timedelta(seconds=60))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_hits_up_to_the_limit_are_allowed(clock: FakeClock) -> None:
    window_ends_at = clock() + LIMIT.window

    assert [retry_after(LIMIT, hits, window_ends_at, clock()) for hits in (1, 2, 3)] == [None] * 3


def test_the_hit_after_the_limit_waits_until_the_window_ends(clock: FakeClock) -> None:
    window_ends_at = clock() + LIMIT.window

    assert retry_after(LIMIT, 4, window_ends_at, clock()) == 60
    clock.advance(45)
    assert retry_after(LIMIT, 4, window_ends_at, clock()) == 15


def test_a_wait_is_rounded_up_to_whole_seconds_and_never_zero(clock: FakeClock) -> None:
    window_ends_at = clock() + LIMIT.window

    clock.advance(59.9)
    assert retry_after(LIMIT, 4, window_ends_at, clock()) == 1
    clock.advance(-30.5)
    assert retry_after(LIMIT, 4, window_ends_at, clock()) == 31


def test_nothing_waits_once_the_window_has_ended(clock: FakeClock) -> None:
    window_ends_at = clock() + LIMIT.window

    clock.advance(60)

    assert retry_after(LIMIT, 100, window_ends_at, clock()) is None


def test_a_key_depends_on_the_rule_and_every_part() -> None:
    other_rule = Limit("other", max_hits=3, window=timedelta(seconds=60))

    keys = {
        LIMIT.hit("192.0.2.1").key,
        LIMIT.hit("192.0.2.2").key,
        LIMIT.hit("192.0.2.1", "alice").key,
        LIMIT.hit("192.0.2.1", "bob").key,
        LIMIT.hit("192.0.2.1alice").key,  # parts are separated, not just joined
        other_rule.hit("192.0.2.1").key,
    }

    assert len(keys) == 6
    assert LIMIT.hit("192.0.2.1", "alice") == LIMIT.hit("192.0.2.1", "alice")


def test_a_key_holds_neither_the_username_nor_the_address_in_clear() -> None:
    key = LIMIT.hit("192.0.2.1", "my secret password").key

    assert len(key) == 64 and int(key, 16) >= 0
    assert "192.0.2.1" not in key and "secret" not in key


def test_a_key_can_be_made_of_any_text_a_client_sends() -> None:
    assert len(LIMIT.hit("192.0.2.1", "\ud800 lone surrogate").key) == 64


def test_the_limits_come_from_the_settings() -> None:
    limits = Limits.from_settings(
        Settings.from_env(
            {
                "AUTH_LOGIN_MAX_FAILURES": "4",
                "AUTH_LOGIN_FAILURE_WINDOW": "120",
                "AUTH_ADDRESS_MAX_LOGIN_FAILURES": "9",
                "AUTH_ADDRESS_MAX_LOGINS": "11",
                "AUTH_ADDRESS_MAX_REFRESHES": "99",
                "AUTH_ADDRESS_WINDOW": "30",
                "AUTH_ADDRESS_MAX_REGISTRATIONS": "2",
                "AUTH_REGISTRATION_WINDOW": "600",
            }
        )
    )

    assert (limits.login_failures.max_hits, limits.login_failures.window.seconds) == (4, 120)
    assert limits.address_login_failures.max_hits == 9
    assert limits.address_login_failures.window == timedelta(seconds=120)
    assert (limits.address_logins.max_hits, limits.address_logins.window.seconds) == (11, 30)
    assert (limits.address_refreshes.max_hits, limits.address_refreshes.window.seconds) == (99, 30)
    assert limits.address_registrations == Limit("address_registrations", 2, timedelta(seconds=600))
    rules = {limit.rule for limit in vars(limits).values()}
    assert len(rules) == 5  # every limit counts under keys of its own
