"""The idle-expiry rule of a session, derived from its live refresh token (chain.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auth_service import chain

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
TTL = timedelta(hours=1)
FAR = NOW + timedelta(days=30)


def active(*, issued: datetime | None, expires_at: datetime = FAR, revoked: bool = False) -> bool:
    return chain.is_active(
        NOW,
        TTL,
        revoked_at=NOW - timedelta(minutes=1) if revoked else None,
        expires_at=expires_at,
        live_issued_at=issued,
    )


def test_the_idle_expiry_is_the_live_tokens_issue_time_plus_the_ttl() -> None:
    assert chain.idle_expires_at(NOW, FAR, TTL) == NOW + TTL


def test_the_idle_expiry_never_passes_the_sessions_absolute_expiry() -> None:
    assert chain.idle_expires_at(NOW, NOW + timedelta(minutes=5), TTL) == NOW + timedelta(minutes=5)


def test_a_session_whose_live_token_is_younger_than_the_ttl_is_active() -> None:
    assert active(issued=NOW - TTL + timedelta(seconds=1))


def test_a_session_whose_live_token_is_as_old_as_the_ttl_has_ended() -> None:
    assert not active(issued=NOW - TTL)


def test_a_session_past_its_absolute_expiry_has_ended_however_fresh_its_token() -> None:
    assert not active(issued=NOW, expires_at=NOW)


def test_a_revoked_session_has_ended() -> None:
    assert not active(issued=NOW, revoked=True)


def test_a_session_without_a_live_token_has_ended() -> None:
    assert not active(issued=None)
