"""The rules of authorization codes (auth_service/authorization_codes.py), without HTTP."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from auth_service import authorization_codes, clients, sessions
from auth_service.context import operation
from auth_service.errors import InvalidGrant, InvalidRequest
from auth_service.extensions import db
from auth_service.models import AuthorizationCode, OAuthClient
from auth_service.sessions import TokenPair
from tests.integration.conftest import AuthActions, claims_of
from tests.support import FakeClock, run_concurrently

URI = "https://app.example/cb"
ADDRESS = "192.0.2.7"
RETENTION = timedelta(seconds=100)


@dataclass(frozen=True)
class Scene:
    app: Flask
    client_id: str
    user_id: str
    verifier: str

    def client(self) -> OAuthClient:
        found = clients.find(operation(), self.client_id)
        assert found is not None
        return found

    def issue(self, scope: str = "notes:read") -> str:
        with self.app.app_context():
            return authorization_codes.issue(
                operation(),
                self.client(),
                URI,
                authorization_codes.s256(self.verifier),
                self.user_id,
                scope,
            )

    def redeem(
        self,
        code: str,
        *,
        verifier: str | None = None,
        redirect_uri: str = URI,
        client_id: str | None = None,
    ) -> TokenPair:
        with self.app.app_context():
            op = operation()
            client = clients.find(op, client_id or self.client_id)
            assert client is not None
            return authorization_codes.redeem(
                op, client, code, redirect_uri, verifier or self.verifier, ADDRESS
            )

    def refresh(self, pair: TokenPair) -> TokenPair:
        with self.app.app_context():
            return sessions.refresh(
                operation(), pair.refresh_token, ADDRESS, client_id=self.client_id
            )


def new_client(app: Flask) -> str:
    with app.app_context():
        registered = clients.register(operation(), "App", [URI], confidential=False, scope=None)
        return registered.client.id


@pytest.fixture
def scene(auth_app: Flask, auth: AuthActions) -> Scene:
    user_id = str(claims_of(auth.tokens()["access_token"])["sub"])
    return Scene(auth_app, new_client(auth_app), user_id, secrets.token_urlsafe(32))


def test_a_code_opens_a_session_of_its_client_with_its_scope(scene: Scene) -> None:
    pair = scene.redeem(scene.issue("notes:read"))

    claims = claims_of(pair.access_token)
    assert (claims["sub"], claims["client_id"]) == (scene.user_id, scene.client_id)
    assert pair.scope == "notes:read"
    assert scene.refresh(pair).refresh_token != pair.refresh_token


def test_only_the_codes_hash_is_stored_with_the_session_it_opened(scene: Scene) -> None:
    code = scene.issue()
    pair = scene.redeem(code)

    with scene.app.app_context():
        row = db.session.scalar(select(AuthorizationCode))
        assert row is not None
        assert code not in (row.code_hash, row.session_id, row.redirect_uri)
        assert row.used_at is not None
        assert row.session_id == claims_of(pair.access_token)["sid"]


def test_a_replayed_code_is_refused_and_revokes_the_session_it_opened(scene: Scene) -> None:
    code = scene.issue()
    pair = scene.redeem(code)

    with pytest.raises(InvalidGrant, match="already used"):
        scene.redeem(code)

    with pytest.raises(InvalidGrant):
        scene.refresh(pair)


def test_a_code_past_its_lifetime_is_refused(scene: Scene, clock: FakeClock) -> None:
    code = scene.issue()
    clock.advance(60)  # AUTH_CODE_TTL's default

    with pytest.raises(InvalidGrant, match="expired"):
        scene.redeem(code)


def test_a_code_just_inside_its_lifetime_works(scene: Scene, clock: FakeClock) -> None:
    code = scene.issue()
    clock.advance(59)

    assert scene.redeem(code).access_token


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"verifier": secrets.token_urlsafe(32)}, "code_verifier"),
        ({"redirect_uri": "https://app.example/other"}, "redirect_uri"),
        ({"other_client": True}, "another client"),
    ],
)
def test_a_mismatch_is_refused_and_leaves_the_code_usable(
    scene: Scene, change: dict[str, object], reason: str
) -> None:
    code = scene.issue()
    kwargs: dict[str, str] = {k: str(v) for k, v in change.items() if k != "other_client"}
    if change.get("other_client"):
        kwargs["client_id"] = new_client(scene.app)

    with pytest.raises(InvalidGrant, match=reason):
        scene.redeem(code, **kwargs)  # type: ignore[arg-type]

    assert scene.redeem(code).access_token


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "a" * 42 + "+", "é" * 43])
def test_a_verifier_outside_rfc_7636_syntax_is_invalid_request(scene: Scene, verifier: str) -> None:
    with pytest.raises(InvalidRequest, match="code_verifier"):
        scene.redeem(scene.issue(), verifier=verifier)


def test_an_unknown_code_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidGrant, match="invalid"):
        scene.redeem(secrets.token_urlsafe(32))


def test_purge_deletes_expired_codes_and_keeps_a_used_one_for_the_retention(
    scene: Scene, clock: FakeClock
) -> None:
    expired = scene.issue()
    used = scene.issue()
    scene.redeem(used)
    clock.advance(61)
    scene.issue()  # still live at the first purge

    with scene.app.app_context():
        first = authorization_codes.purge(db.session, clock(), used_retention=RETENTION)
        assert first == 1
        clock.advance(100)
        second = authorization_codes.purge(db.session, clock(), used_retention=RETENTION)
        assert second == 2  # the used one, and the one live at the first purge
        assert db.session.scalar(select(AuthorizationCode)) is None
    with pytest.raises(InvalidGrant, match="invalid"):
        scene.redeem(expired)


def test_sessions_purge_also_purges_codes(scene: Scene, clock: FakeClock) -> None:
    scene.issue()
    clock.advance(61)

    result = scene.app.test_cli_runner().invoke(args=["sessions", "purge"])

    assert result.exit_code == 0, result.output
    assert "purged 1 authorization codes" in result.output.splitlines()


def test_of_concurrent_redemptions_one_wins_and_the_others_revoke_its_session(
    scene: Scene,
) -> None:
    code = scene.issue()

    def redeem() -> TokenPair | str:
        try:
            return scene.redeem(code)
        except InvalidGrant as refused:
            return str(refused)

    answers = run_concurrently(4, redeem)

    pairs = [a for a in answers if isinstance(a, TokenPair)]
    assert len(pairs) == 1, answers
    assert all("already used" in a for a in answers if isinstance(a, str))
    with pytest.raises(InvalidGrant):
        scene.refresh(pairs[0])
