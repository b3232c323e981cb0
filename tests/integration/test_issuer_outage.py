"""The resource service on RESOURCE_JWKS_URL when the issuer goes away: 503, never 401.

The issuer is the real auth app, served over HTTP on a loopback port by a werkzeug server
that the tests stop and start; the resource apps are separate instances on one database,
as the workers of one service (or a restarted one) are.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import update
from werkzeug.serving import BaseWSGIServer, make_server

import resource_service
from resource_service.extensions import db as resource_db
from resource_service.keycache import DatabaseKeySetStore
from resource_service.keysource import DEFAULT_JWKS_MAX_AGE, MIN_REFETCH_INTERVAL, FetchedKeySet
from resource_service.models import StoredKeySet
from shared.keys import jwks_document, parse_jwks
from tests.integration.conftest import AuthActions, assert_error, bearer
from tests.support import FakeClock, fresh_database

JWKS_PATH = "/.well-known/jwks.json"


class IssuerServer:
    """The auth app over real HTTP on 127.0.0.1, stopped and started again on the same port."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def jwks_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{JWKS_PATH}"

    def start(self) -> None:
        self._server = make_server("127.0.0.1", self.port, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None


@pytest.fixture
def issuer(auth_app: Flask) -> Iterator[IssuerServer]:
    server = IssuerServer(auth_app)
    server.start()
    yield server
    server.stop()


ResourceFactory = Callable[..., Flask]


@pytest.fixture
def resource_database(database_kind: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database(database_kind, tmp_path) as url:
        yield url


@pytest.fixture
def start_resource(
    resource_database: str, issuer: IssuerServer, clock: FakeClock
) -> Iterator[ResourceFactory]:
    """Start resource apps ("workers") on one database and the issuer's JWKS URL."""
    started: list[Flask] = []

    def start(**environ: str) -> Flask:
        app = resource_service.create_app(
            {
                "RESOURCE_DATABASE_URL": resource_database,
                "RESOURCE_JWKS_URL": issuer.jwks_url,
                **environ,
            },
            clock=clock,
        )
        app.config["TESTING"] = True
        with app.app_context():
            upgrade()  # idempotent: the first one creates the schema
        started.append(app)
        return app

    yield start
    for app in started:
        with app.app_context():
            resource_db.session.remove()
            resource_db.engine.dispose()


@pytest.fixture
def headers(auth: AuthActions) -> dict[str, str]:
    """The Authorization header of a freshly logged-in user's valid access token."""
    return bearer(auth.tokens()["access_token"])


# Another worker, or a restart, while the issuer is down --------------------------------------


def test_a_worker_that_never_fetched_verifies_from_the_database_while_the_issuer_is_down(
    start_resource: ResourceFactory, issuer: IssuerServer, headers: dict[str, str]
) -> None:
    first, second = start_resource(), start_resource()
    assert first.test_client().get("/api/me", headers=headers).status_code == 200

    issuer.stop()

    api = second.test_client()
    assert api.get("/api/me", headers=headers).status_code == 200
    created = api.post("/api/notes", json={"text": "written offline"}, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert api.get("/readyz").status_code == 200


def test_a_service_restarted_while_the_issuer_is_down_verifies_with_the_stored_set(
    start_resource: ResourceFactory,
    issuer: IssuerServer,
    clock: FakeClock,
    headers: dict[str, str],
) -> None:
    assert start_resource().test_client().get("/api/me", headers=headers).status_code == 200
    issuer.stop()
    clock.advance(DEFAULT_JWKS_MAX_AGE * 2)  # long past the set's max-age

    restarted = start_resource().test_client()

    assert restarted.get("/readyz").status_code == 200
    answer = restarted.get("/api/notes", headers=headers)
    assert answer.status_code == 200, answer.get_json()


def test_a_stored_set_older_than_max_stale_is_no_longer_honoured(
    start_resource: ResourceFactory,
    issuer: IssuerServer,
    clock: FakeClock,
    headers: dict[str, str],
) -> None:
    assert start_resource().test_client().get("/api/me", headers=headers).status_code == 200
    issuer.stop()
    clock.advance(3600)

    restarted = start_resource(RESOURCE_JWKS_MAX_STALE="3600").test_client()

    assert_error(restarted.get("/api/me", headers=headers), 503, "temporarily_unavailable")
    assert restarted.get("/readyz").status_code == 503


# No key at all -------------------------------------------------------------------------------


def test_with_no_key_at_all_a_good_token_gets_503_with_retry_after_never_401(
    start_resource: ResourceFactory, issuer: IssuerServer, headers: dict[str, str]
) -> None:
    issuer.stop()  # before any resource worker fetched: nothing in memory, nothing stored
    api = start_resource().test_client()

    for answer in (
        api.get("/api/me", headers=headers),
        api.get("/api/notes", headers=headers),
        api.post("/api/notes", json={"text": "kept for later"}, headers=headers),
    ):
        body = assert_error(answer, 503, "temporarily_unavailable")
        assert "try again" in body["error_description"]
        assert 1 <= int(answer.headers["Retry-After"]) <= MIN_REFETCH_INTERVAL
        assert "WWW-Authenticate" not in answer.headers


def test_with_no_key_at_all_readyz_answers_503_naming_the_keys(
    start_resource: ResourceFactory, issuer: IssuerServer
) -> None:
    issuer.stop()
    api = start_resource().test_client()

    answer = api.get("/readyz")

    assert answer.status_code == 503
    assert answer.get_json()["checks"] == {"store": "ok", "keys": "unavailable"}


def test_once_the_issuer_is_back_a_service_that_had_no_key_recovers(
    start_resource: ResourceFactory,
    issuer: IssuerServer,
    clock: FakeClock,
    headers: dict[str, str],
) -> None:
    issuer.stop()
    api = start_resource().test_client()
    assert api.get("/api/me", headers=headers).status_code == 503

    issuer.start()
    clock.advance(MIN_REFETCH_INTERVAL)

    assert api.get("/readyz").status_code == 200
    assert api.get("/api/me", headers=headers).status_code == 200


def test_requests_without_a_token_or_with_garbage_still_get_401_during_the_outage(
    start_resource: ResourceFactory, issuer: IssuerServer
) -> None:
    issuer.stop()
    api = start_resource().test_client()

    assert_error(api.get("/api/me"), 401)
    assert_error(api.get("/api/me", headers=bearer("not.a.token")), 401, "invalid_token")


# The database store itself ------------------------------------------------------------------


@pytest.fixture
def store_app(start_resource: ResourceFactory) -> Iterator[Flask]:
    app = start_resource()
    with app.app_context():
        yield app


def a_set(key_document: dict[str, object], fetched_at: float) -> FetchedKeySet:
    return FetchedKeySet(key_document, fetched_at, DEFAULT_JWKS_MAX_AGE)


@pytest.fixture
def key_document(auth_app: Flask) -> dict[str, object]:
    document = auth_app.test_client().get(JWKS_PATH).get_json()
    return jwks_document(list(parse_jwks(document).values()))


def test_the_store_gives_back_what_was_saved_for_that_url_only(
    store_app: Flask, key_document: dict[str, object], clock: FakeClock
) -> None:
    store = DatabaseKeySetStore(resource_db)
    saved = a_set(key_document, clock().timestamp())

    store.save("https://auth.example/jwks.json", saved)

    assert store.load("https://auth.example/jwks.json") == saved
    assert store.load("https://other.example/jwks.json") is None


def test_the_store_never_replaces_a_newer_set_with_an_older_one(
    store_app: Flask, key_document: dict[str, object], clock: FakeClock
) -> None:
    store = DatabaseKeySetStore(resource_db)
    url = "https://auth.example/jwks.json"
    now = clock().timestamp()
    newer = a_set(key_document, now)
    store.save(url, newer)

    store.save(url, a_set({"keys": []}, now - 60))  # a slow worker's older fetch

    assert store.load(url) == newer
    store.save(url, a_set({"keys": []}, now + 60))
    loaded = store.load(url)
    assert loaded is not None and loaded.fetched_at == now + 60


def test_a_stored_row_that_is_not_json_is_ignored_and_said_so(
    store_app: Flask,
    key_document: dict[str, object],
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = DatabaseKeySetStore(resource_db)
    url = "https://auth.example/jwks.json"
    store.save(url, a_set(key_document, clock().timestamp()))
    with resource_db.engine.begin() as connection:
        connection.execute(update(StoredKeySet).values(document="{not json"))

    with caplog.at_level(logging.WARNING):
        assert store.load(url) is None

    assert "ignored the stored key set" in caplog.text


def test_a_store_that_cannot_be_used_answers_nothing_and_never_raises(
    database_kind: str, tmp_path: Path, issuer: IssuerServer, caplog: pytest.LogCaptureFixture
) -> None:
    with fresh_database(database_kind, tmp_path) as url:  # never migrated: no jwks_cache table
        app = resource_service.create_app(
            {"RESOURCE_DATABASE_URL": url, "RESOURCE_JWKS_URL": issuer.jwks_url}
        )
        try:
            with app.app_context(), caplog.at_level(logging.WARNING):
                store = DatabaseKeySetStore(resource_db)
                store.save(issuer.jwks_url, a_set({"keys": []}, 0.0))
                assert store.load(issuer.jwks_url) is None
        finally:
            with app.app_context():
                resource_db.engine.dispose()

    assert "cannot save the fetched key set" in caplog.text
    assert "cannot read the stored key set" in caplog.text
