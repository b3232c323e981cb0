"""The auth rules that need no store: the policy, scope grants, usernames and new passwords.

Everything that reads or writes sessions is covered by the integration ring on a real database.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from auth_service.errors import InvalidRequest, InvalidScope
from auth_service.password_policy import (
    PASSWORD_MAX_LENGTH,
    check_new_password,
    check_password_length,
    check_username,
    normalise_username,
)
from auth_service.policy import Policy
from auth_service.settings import Settings


@pytest.fixture
def policy() -> Policy:
    return Policy.from_settings(Settings.from_env({}))


# Policy -------------------------------------------------------------------------------------


def test_the_policy_turns_the_settings_seconds_into_durations() -> None:
    settings = Settings.from_env(
        {
            "AUTH_ACCESS_TOKEN_TTL": "60",
            "AUTH_REFRESH_TOKEN_TTL": "3600",
            "AUTH_SESSION_MAX_AGE": "86400",
            "AUTH_REFRESH_REUSE_GRACE": "7",
        }
    )

    policy = Policy.from_settings(settings)

    assert policy == Policy(
        refresh_ttl=timedelta(hours=1),
        session_max_age=timedelta(days=1),
        reuse_grace=timedelta(seconds=7),
        scopes=("notes:read", "notes:write"),
    )


def test_the_default_policy_follows_the_contract_defaults(policy: Policy) -> None:
    assert policy.refresh_ttl == timedelta(seconds=1_209_600)
    assert policy.reuse_grace == timedelta(seconds=10)
    assert policy.scopes == ("notes:read", "notes:write")


# Scopes -------------------------------------------------------------------------------------


def test_a_login_that_asks_for_no_scope_is_granted_every_default_scope(policy: Policy) -> None:
    assert policy.grant(None) == "notes:read notes:write"


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
    policy: Policy, requested: str, granted: str
) -> None:
    assert policy.grant(requested) == granted


@pytest.mark.parametrize(
    "requested",
    ["admin", "notes:read admin", "notes:*", "NOTES:READ", "notes", "notes:read,notes:write"],
)
def test_a_scope_the_service_does_not_grant_is_refused(policy: Policy, requested: str) -> None:
    with pytest.raises(InvalidScope, match="notes:read notes:write"):
        policy.grant(requested)


@pytest.mark.parametrize("requested", ["", "   "])
def test_asking_for_an_empty_scope_is_refused(policy: Policy, requested: str) -> None:
    with pytest.raises(InvalidScope):
        policy.grant(requested)


# Usernames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    ["victim", "VICTIM  ", "  Victim", "\tvictim\n", "ｖｉｃｔｉｍ"],
)
def test_every_spelling_of_a_username_normalises_to_one(spelling: str) -> None:
    assert normalise_username(spelling) == "victim"


def test_normalising_folds_case_beyond_ascii() -> None:
    assert normalise_username("STRASSE") == normalise_username("straße") == "strasse"


@pytest.mark.parametrize(
    "username",
    ["ab", "", "-alice", ".alice", "al ice", "alice!", "a" * 65, "ålice"],
)
def test_a_malformed_username_is_refused(username: str) -> None:
    with pytest.raises(InvalidRequest, match="username"):
        check_username(normalise_username(username))


# Passwords ----------------------------------------------------------------------------------


def test_an_overlong_login_password_is_refused_before_any_hashing() -> None:
    with pytest.raises(InvalidRequest, match=str(PASSWORD_MAX_LENGTH)):
        check_password_length("x" * (PASSWORD_MAX_LENGTH + 1))


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
def test_a_weak_password_is_refused(password: str) -> None:
    with pytest.raises(InvalidRequest, match="password"):
        check_new_password(password, "alice")
