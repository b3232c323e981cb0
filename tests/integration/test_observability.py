"""Request ids, structured audit events, Prometheus metrics, and no secret in any log line."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from shared.observability import REQUEST_ID_HEADER
from tests.integration.conftest import AuthActions, claims_of
from tests.support import STRONG_PASSWORD, FakeClock


@pytest.fixture
def database_kind() -> str:
    """Logging and metrics do not depend on the engine: SQLite only."""
    return "sqlite"


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def audit_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [
        {"event": record.event, **{k: v for k, v in vars(record).items() if k in AUDIT_FIELDS}}
        for record in caplog.records
        if getattr(record, "audit", False)
    ]


AUDIT_FIELDS = {"kind", "user_id", "session_id", "username", "sessions", "kid", "client", "limits"}


def test_a_failed_login_is_audited_by_user_id_or_anonymously_never_by_the_typed_name(
    auth: AuthActions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    username = auth.register()
    user_id = claims_of(auth.session(username)["access_token"])["sub"]
    typed_password = "Hunter2-typed-into-the-username-field"

    assert auth.login(username.upper() + "  ", "wrong password!!").status_code == 401
    assert auth.login(typed_password, STRONG_PASSWORD).status_code == 401

    failed = [e for e in audit_events(caplog) if e["event"] == "login_failed"]
    assert len(failed) == 2
    known, unknown = failed
    assert known["user_id"] == user_id
    assert unknown["user_id"] is None
    assert all("username" not in event for event in failed)
    assert all(event["client"] == "127.0.0.1" for event in failed)
    logged = "\n".join(str(vars(record)) for record in caplog.records)
    assert typed_password not in logged and typed_password.casefold() not in logged
    assert username not in logged and username.upper() not in logged


def test_a_sane_request_id_is_echoed_and_a_missing_or_hostile_one_replaced(
    client: FlaskClient,
) -> None:
    given = client.get("/healthz", headers={REQUEST_ID_HEADER: "abc-123.def"})
    assert given.headers[REQUEST_ID_HEADER] == "abc-123.def"
    for hostile in ("", "x" * 200, "evil\u2028line", 'quote"s'):
        answer = client.get("/healthz", headers={REQUEST_ID_HEADER: hostile})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers[REQUEST_ID_HEADER])
    assert client.get("/healthz").headers[REQUEST_ID_HEADER] != given.headers[REQUEST_ID_HEADER]


def test_every_log_record_of_a_request_carries_its_request_id(
    client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    client.post("/auth/login", json={"username": "nobody-here", "password": "x" * 12},
                headers={REQUEST_ID_HEADER: "trace-42"})  # fmt: skip
    mine = [record for record in caplog.records if getattr(record, "request_id", None)]
    assert {record.name for record in mine} >= {"tokenpair.audit", "tokenpair.access"}
    assert {record.request_id for record in mine} == {"trace-42"}


def test_security_events_are_audited_with_ids_only(
    auth: AuthActions, client: FlaskClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    clock.advance(-60)  # start in the past, so tokens issued after the jump below are current
    username = auth.register()
    assert auth.login(username, "wrong password!!").status_code == 401
    tokens = auth.login(username).get_json()
    first = auth.refresh(tokens["refresh_token"]).get_json()
    assert auth.refresh(tokens["refresh_token"]).status_code == 200  # honest retry
    clock.advance(60)
    assert auth.refresh(tokens["refresh_token"]).status_code == 401  # theft: revoked
    other = auth.login(username).get_json()
    access = {"Authorization": f"Bearer {other['access_token']}"}
    session_id = client.get("/auth/sessions", headers=access).get_json()["sessions"][0]["id"]
    assert client.delete(f"/auth/sessions/{session_id}", headers=access).status_code == 204
    third = auth.login(username).get_json()
    client.post("/auth/logout", json={"refresh_token": third["refresh_token"]})
    fourth = auth.login(username).get_json()
    client.post("/auth/logout-all", headers={"Authorization": f"Bearer {fourth['access_token']}"})

    events = [event["event"] for event in audit_events(caplog)]
    for expected in ("user_registered", "login_failed", "login_succeeded", "refresh_rotated",
                     "refresh_reuse", "session_revoked", "logout", "logout_all"):  # fmt: skip
        assert expected in events
    kinds = [e["kind"] for e in audit_events(caplog) if e["event"] == "refresh_reuse"]
    assert kinds == ["grace_retry", "theft"]
    assert first["refresh_token"] != tokens["refresh_token"]


def test_no_log_line_ever_contains_a_token_a_password_or_a_key(
    auth_app: Flask,
    auth: AuthActions,
    api: FlaskClient,
    keys_dir: object,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    username = auth.register()
    tokens = auth.login(username).get_json()
    renewed = auth.refresh(tokens["refresh_token"]).get_json()
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    api.post("/api/notes", json={"text": "secret-note-text"}, headers=bearer)
    api.get("/api/me", headers={"Authorization": "Bearer garbage.token.here"})
    auth.client.post("/auth/logout", json={"refresh_token": renewed["refresh_token"]})

    secrets = [
        STRONG_PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
        renewed["access_token"],
        renewed["refresh_token"],
        "garbage.token.here",
    ]
    secrets += [path.read_text().splitlines()[1] for path in keys_dir.glob("*.pem")]  # type: ignore[attr-defined]
    lines = [
        json.dumps(vars(record), default=str) + record.getMessage() for record in caplog.records
    ]
    assert lines
    for line in lines:
        for secret in secrets:
            assert secret not in line


def test_metrics_count_requests_refreshes_reuse_and_verification_failures(
    auth: AuthActions, client: FlaskClient, api: FlaskClient, clock: FakeClock
) -> None:
    before = {
        "rotated": sample("tokenpair_refreshes_total", outcome="rotated"),
        "theft": sample("tokenpair_refresh_reuse_total", kind="theft"),
        "expired": sample(
            "tokenpair_token_verification_failures_total",
            service="resource_service",
            reason="expired",
        ),
        "issued": sample("tokenpair_tokens_issued_total", kind="access"),
        "revoked": sample("tokenpair_sessions_revoked_total", reason="refresh_token_reuse"),
    }
    tokens = auth.tokens()
    clock.advance(-1000)
    stale = auth.refresh(tokens["refresh_token"]).get_json()
    clock.advance(1000)
    api.get("/api/me", headers={"Authorization": f"Bearer {stale['access_token']}"})
    assert auth.refresh(tokens["refresh_token"]).status_code == 401  # reuse after the grace

    assert sample("tokenpair_refreshes_total", outcome="rotated") == before["rotated"] + 1
    assert sample("tokenpair_refresh_reuse_total", kind="theft") == before["theft"] + 1
    assert (
        sample("tokenpair_sessions_revoked_total", reason="refresh_token_reuse")
        == before["revoked"] + 1
    )
    assert (
        sample(
            "tokenpair_token_verification_failures_total",
            service="resource_service",
            reason="expired",
        )
        == before["expired"] + 1
    )
    assert sample("tokenpair_tokens_issued_total", kind="access") == before["issued"] + 2

    exposition = client.get("/metrics")
    assert exposition.status_code == 200
    text = exposition.get_data(as_text=True)
    assert 'tokenpair_http_requests_total{endpoint="/auth/refresh"' in text
    assert "tokenpair_http_request_duration_seconds_bucket" in text
    assert api.get("/metrics").status_code == 200
