"""keys rotate, list and retire: a key's life from published to retired, on the FakeClock."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from flask import Flask

from auth_service.keystore import KeyStore
from tests.integration.conftest import AuthActions
from tests.support import FakeClock

ACCESS_TTL = 300
DELAY = 600


@pytest.fixture
def database_kind() -> str:
    return "sqlite"  # keys live in files; the store does not matter here


@pytest.fixture
def auth_env(auth_env: dict[str, str]) -> dict[str, str]:
    return {
        **auth_env,
        "AUTH_ACCESS_TOKEN_TTL": str(ACCESS_TTL),
        "AUTH_KEY_ACTIVATION_DELAY": str(DELAY),
    }


def run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["keys", *args])


def states(app: Flask) -> dict[str, str]:
    lines = run(app, "list").output.splitlines()[1:]
    return {line.split()[0]: line.split()[2] for line in lines}


def kid_signing(auth: AuthActions) -> str:
    return str(jwt.get_unverified_header(auth.tokens()["access_token"])["kid"])


def test_a_rotated_key_is_published_first_and_signs_after_the_delay(
    auth_app: Flask, auth: AuthActions, clock: FakeClock
) -> None:
    (old,) = states(auth_app)
    rotated = run(auth_app, "rotate")
    assert rotated.exit_code == 0, rotated.output
    (new,) = set(states(auth_app)) - {old}
    assert states(auth_app) == {old: "active", new: "published"}
    jwks = auth.client.get("/.well-known/jwks.json").get_json()
    assert {key["kid"] for key in jwks["keys"]} == {old, new}
    assert kid_signing(auth) == old

    clock.advance(DELAY)
    assert states(auth_app) == {old: "verify-only", new: "active"}


def test_retire_waits_one_token_lifetime_after_the_key_stopped_signing(
    auth_app: Flask, clock: FakeClock
) -> None:
    (old,) = states(auth_app)
    run(auth_app, "rotate")
    refused = run(auth_app, "retire", old)
    assert refused.exit_code != 0 and "signing key" in refused.output

    clock.advance(DELAY + ACCESS_TTL - 1)
    too_soon = run(auth_app, "retire", old)
    assert too_soon.exit_code != 0 and "--force" in too_soon.output

    clock.advance(1)
    assert run(auth_app, "retire", old).exit_code == 0
    assert old not in states(auth_app)


def test_force_retires_a_verify_only_key_at_once_but_never_the_signing_key(
    auth_app: Flask, keys_dir: Any
) -> None:
    (old,) = states(auth_app)
    run(auth_app, "rotate", "--now")
    (new,) = set(states(auth_app)) - {old}
    assert run(auth_app, "retire", new, "--force").exit_code != 0
    assert run(auth_app, "retire", old, "--force").exit_code == 0
    assert [key.kid for key in KeyStore(keys_dir).load()] == [new]


def test_a_published_key_can_be_withdrawn_to_roll_a_rotation_back(auth_app: Flask) -> None:
    (old,) = states(auth_app)
    run(auth_app, "rotate")
    (new,) = set(states(auth_app)) - {old}
    assert run(auth_app, "retire", new).exit_code == 0  # it never signed anything
    assert states(auth_app) == {old: "active"}


def test_retiring_an_unknown_kid_fails_with_a_clear_message(auth_app: Flask) -> None:
    answer = run(auth_app, "retire", "no-such-kid")
    assert answer.exit_code != 0 and "no key no-such-kid" in answer.output


@pytest.mark.parametrize(
    "args", [["-weYP1hvv"], ["-weYP1hvv", "--force"], ["--force", "-weYP1hvv"]]
)
def test_a_kid_that_begins_with_a_dash_is_a_kid_not_an_option(
    auth_app: Flask, args: list[str]
) -> None:
    answer = run(auth_app, "retire", *args)
    assert answer.exit_code != 0 and "no key -weYP1hvv" in answer.output, answer.output
