"""Response headers both apps send, metric labels a client cannot multiply, where /metrics is
served, and store files created owner-only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.test import TestResponse

import auth_service
from auth_service.extensions import db
from shared.db import engine_options
from shared.observability import REQUEST_ID_HEADER
from shared.redaction import RedactSecrets
from tests.integration.conftest import AuthActions

PERSONAL = "no-store"


@pytest.fixture
def database_kind() -> str:
    """Headers, labels and file modes do not depend on the engine: SQLite only."""
    return "sqlite"


def assert_private(response: TestResponse) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == PERSONAL, response.headers
    assert "Server" not in response.headers


def test_every_answer_with_tokens_or_personal_data_is_no_store_and_nosniff(
    auth: AuthActions, client: FlaskClient, api: FlaskClient
) -> None:
    tokens = auth.tokens()
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    note = api.post("/api/notes", json={"text": "mine"}, headers=access)

    for response in (
        auth.refresh(tokens["refresh_token"]),
        client.get("/auth/sessions", headers=access),
        client.post("/auth/register", json={"username": "x"}),
        api.get("/api/me", headers=access),
        api.get("/api/notes", headers=access),
        api.get(f"/api/notes/{note.get_json()['id']}", headers=access),
        note,
        api.get("/api/me"),  # 401
        client.get("/healthz"),
        client.get("/metrics"),
    ):
        assert_private(response)


def test_errors_404s_405s_and_413s_of_both_apps_carry_the_same_headers(
    client: FlaskClient, api: FlaskClient
) -> None:
    for app_client in (client, api):
        for response in (
            app_client.get("/no/such/page"),
            app_client.delete("/healthz"),
            app_client.post("/api/notes", data="x" * 100_000, content_type="application/json"),
            app_client.post("/auth/login", data="{", content_type="application/json"),
            app_client.open("/healthz", method="FOO"),
        ):
            assert response.status_code in (400, 401, 404, 405, 413), response.status_code
            assert_private(response)


def test_the_jwks_keeps_its_public_cache_policy_and_is_nosniff_too(client: FlaskClient) -> None:
    answer = client.get("/.well-known/jwks.json")

    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.cache_control.public
    assert answer.cache_control.max_age == 300
    assert not answer.cache_control.no_store


def test_a_caller_request_id_as_long_as_a_refresh_token_is_replaced_not_logged(
    auth: AuthActions, client: FlaskClient
) -> None:
    refresh_token = auth.tokens()["refresh_token"]  # 43 characters, all of them allowed in ids
    short = "a" * 40

    assert (
        client.get("/healthz", headers={REQUEST_ID_HEADER: short}).headers[REQUEST_ID_HEADER]
        == short
    )
    answer = client.get("/healthz", headers={REQUEST_ID_HEADER: refresh_token})
    assert answer.headers[REQUEST_ID_HEADER] != refresh_token


class Broken(Exception):
    """Raised by a test route; its error handler fails too."""


def test_flasks_own_line_for_an_error_no_handler_caught_keeps_no_token(
    auth_app: Flask, auth: AuthActions, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    @auth_app.get("/crash/<anything>")
    def crash(anything: str) -> str:
        raise Broken()

    @auth_app.errorhandler(Broken)
    def broken(error: Broken) -> str:
        raise RuntimeError("the error handler failed as well")

    auth_app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production, not as under TESTING
    refresh_token = auth.tokens()["refresh_token"]
    caplog.set_level(logging.ERROR)

    answer = client.get(f"/crash/{refresh_token}")

    assert answer.status_code == 500
    assert answer.get_json()["error"] == "server_error"
    flask_lines = [r for r in caplog.records if r.getMessage().startswith("Exception on /crash/")]
    assert flask_lines  # Flask logged it, with the path
    for record in flask_lines:
        RedactSecrets().filter(record)  # what the services' log handler does to every record
        assert refresh_token not in logging.Formatter("%(message)s").format(record)


def series(client: FlaskClient, name: str = "tokenpair_http_requests_total") -> set[str]:
    text = client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line.startswith(name + "{")}


def test_random_methods_and_paths_add_no_metric_series(client: FlaskClient) -> None:
    # One of each kind first: an unknown method on a route and off it, an unknown path.
    client.open("/healthz", method="BREW")
    client.open("/no/such/page", method="BREW")
    client.get("/no/such/page")
    before = series(client)

    for i in range(50):
        client.open(f"/random/{i}", method=f"M{i}ETHOD")
        client.open("/healthz", method=f"X{i}")
        client.get(f"/another/{i}?q={i}")

    after = series(client)
    assert after == before | {s for s in after if 'endpoint="/metrics"' in s}
    assert not [s for s in after if "random" in s or "METHOD" in s]


@pytest.mark.parametrize("value", ["off", "127.0.0.1:9101"])
def test_the_api_port_answers_metrics_404_when_they_are_off_or_elsewhere(
    value: str, monkeypatch: pytest.MonkeyPatch, auth_env: dict[str, str], tmp_path: Path
) -> None:
    monkeypatch.setenv("METRICS_ADDRESS", value)
    app = auth_service.create_app(
        {**auth_env, "AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"}
    )

    answer = app.test_client().get("/metrics")

    assert answer.status_code == 404
    assert answer.get_json()["error"] == "not_found"


def test_a_malformed_metrics_address_stops_the_app_with_one_line(
    monkeypatch: pytest.MonkeyPatch,
    auth_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("METRICS_ADDRESS", "9101")

    with pytest.raises(SystemExit) as stopped:
        auth_service.create_app({**auth_env, "AUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'm.db'}"})

    assert stopped.value.code == 4
    assert "METRICS_ADDRESS must be host:port" in capsys.readouterr().err


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_store_and_its_folders_are_created_owner_only(
    auth_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default ./var is the one folder the service creates
    old_umask = os.umask(0o022)  # the usual umask, which would give 0644 files
    try:
        store = tmp_path / "var" / "auth.db"
        environ = {k: v for k, v in auth_env.items() if k != "AUTH_DATABASE_URL"}
        app = auth_service.create_app(environ)
        with app.app_context():
            upgrade()
            # A served request writes through the WAL: the -wal and -shm files exist now.
            client = app.test_client()
            client.post("/auth/register", json={"username": "file-modes", "password": "x" * 20})
            wal, shm = Path(f"{store}-wal"), Path(f"{store}-shm")
            assert wal.exists() and shm.exists()
            assert (mode(store), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    assert mode(store.parent) == 0o700


def test_an_existing_store_others_can_read_is_reported_not_changed(
    auth_env: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = tmp_path / "shared.db"
    store.touch(mode=0o644)
    store.chmod(0o644)

    auth_service.create_app({**auth_env, "AUTH_DATABASE_URL": f"sqlite:///{store}"})

    assert mode(store) == 0o644
    assert any("accessible to other users" in r.getMessage() for r in caplog.records)


def test_sql_errors_never_quote_bound_values() -> None:
    assert engine_options("sqlite:///x.db")["hide_parameters"] is True
    assert engine_options("postgresql+psycopg://u@h/db")["hide_parameters"] is True
