"""The auth rules that need no store: the policy, scope grants, and input checks before any I/O.

Everything that reads or writes sessions is covered by the integration ring on a real database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from auth_service.passwords import Passwords
from auth_service.service import (
    PASSWORD_MAX_LENGTH,
    AuthService,
    InvalidRequest,
    InvalidScope,
    Policy,
)
from auth_service.settings import Settings

NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
STRONG_PASSWORD = "correct horse battery staple"


@pytest.fixture
def policy() -> Policy:
    return Policy.from_settings(Settings.from_env({}))


@pytest.fixture
def rules(policy: Policy) -> AuthService:
    """The rules with no store and no issuer: a rule that reached for either would fail loudly."""
    return AuthService(
        db=None,  # type: ignore[arg-type]
        issuer=None,  # type: ignore[arg-type]
        passwords=Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)),
        policy=policy,
        now=NOW,
    )


# Policy -------------------------------------------------------------------------------------


def test_the_policy_turns_the_settings_seconds_into_durations() -> None:
    settings = Settings.from_env(
        {
            "AUTH_ACCESS_TOKEN_TTL": "60",
            "AUTH_REFRESH_TOKEN_TTL": "3600",
            "AUTH_SESSION_MAX_AGE": "86400",
            "AUTH_REFRESH_REUSE_GRACE": "7",
            "AUTH_LOGIN_MAX_FAILURES": "3",
            "AUTH_LOGIN_FAILURE_WINDOW": "120",
        }
    )

    policy = Policy.from_settings(settings)

    assert policy == Policy(
        refresh_ttl=timedelta(hours=1),
        session_max_age=timedelta(days=1),
        reuse_grace=timedelta(seconds=7),
        scopes=("notes:read", "notes:write"),
        login_max_failures=3,
        login_failure_window=timedelta(minutes=2),
    )


def test_the_default_policy_follows_the_contract_defaults(policy: Policy) -> None:
    assert policy.refresh_ttl == timedelta(seconds=1_209_600)
    assert policy.reuse_grace == timedelta(seconds=10)
    assert policy.scopes == ("notes:read", "notes:write")


# Scopes -------------------------------------------------------------------------------------


def test_a_login_that_asks_for_no_scope_is_granted_every_default_scope(
    rules: AuthService,
) -> None:
    assert rules._grant(None) == "notes:read notes:write"


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("notes:read", "notes:read"),
        ("notes:write", "notes:write"),
        ("notes:read notes:write", "notes:read notes:write"),
        ("notes:write notes:read", "notes:read notes:write"),
        ("  notes:write   notes:write ", "notes:write"),
    ],
)
def test_a_login_may_ask_for_fewer_scopes_and_gets_them_in_canonical_order(
    rules: AuthService, requested: str, granted: str
) -> None:
    assert rules._grant(requested) == granted


@pytest.mark.parametrize(
    "requested",
    ["admin", "notes:read admin", "notes:*", "NOTES:READ", "notes", "notes:read,notes:write"],
)
def test_a_scope_the_service_does_not_grant_is_refused(rules: AuthService, requested: str) -> None:
    with pytest.raises(InvalidScope, match="notes:read notes:write"):
        rules._grant(requested)


@pytest.mark.parametrize("requested", ["", "   "])
def test_asking_for_an_empty_scope_is_refused(rules: AuthService, requested: str) -> None:
    with pytest.raises(InvalidScope):
        rules._grant(requested)


def test_a_login_with_an_unknown_scope_is_refused_before_the_account_is_looked_up(
    rules: AuthService,
) -> None:
    with pytest.raises(InvalidScope):
        rules.login("alice", STRONG_PASSWORD, "admin")


def test_a_login_with_an_overlong_password_is_refused_before_any_hashing(
    rules: AuthService,
) -> None:
    with pytest.raises(InvalidRequest, match=str(PASSWORD_MAX_LENGTH)):
        rules.login("alice", "x" * (PASSWORD_MAX_LENGTH + 1), None)


# Registration input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username",
    ["ab", "", "  ", "-alice", ".alice", "al ice", "alice!", "a" * 65, "ålice", " a "],
)
def test_a_malformed_username_is_refused(rules: AuthService, username: str) -> None:
    with pytest.raises(InvalidRequest, match="username"):
        rules.register(username, STRONG_PASSWORD)


@pytest.mark.parametrize(
    "password",
    [
        "short",
        "123456789",
        "x" * (PASSWORD_MAX_LENGTH + 1),
        "aaaaaaaaaaaaaaaa",
        "abababababababab",
        "my-name-is-alice-ok",
        "ALICE-password-1",
    ],
    ids=[
        "too-short",
        "nine-characters",
        "too-long",
        "one-character",
        "two-characters",
        "contains-username",
        "contains-username-in-capitals",
    ],
)
def test_a_weak_password_is_refused(rules: AuthService, password: str) -> None:
    with pytest.raises(InvalidRequest, match="password"):
        rules.register("alice", password)
