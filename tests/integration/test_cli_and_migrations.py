"""Operator commands (keys, sessions purge) and the Alembic migrations of both services."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, func, inspect, select, text

import auth_service
import resource_service
from auth_service.extensions import db as auth_db
from auth_service.keystore import KeyStore
from auth_service.models import RefreshToken, Session, ThrottleCounter
from resource_service.extensions import db as resource_db
from shared.keys import jwks_document, parse_key_set
from tests.integration.conftest import CHEAP_PASSWORDS, AuthActions, claims_of
from tests.support import STRONG_PASSWORD, FakeClock, fresh_database, random_name

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def run(app: Flask, *args: str) -> Any:
    """Run a Flask CLI command of *app* in-process and return click's result."""
    return app.test_cli_runner().invoke(args=list(args))


# keys init / keys public ----------------------------------------------------------------------


class TestKeysInit:
    """`keys init` on a deployment whose AUTH_KEYS_DIR does not exist yet."""

    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
        return {**auth_env, "AUTH_KEYS_DIR": str(tmp_path / "fresh" / "keys")}

    @pytest.fixture
    def keys(self, auth_env: dict[str, str]) -> Path:
        return Path(auth_env["AUTH_KEYS_DIR"])

    def test_keys_init_creates_a_key_only_its_owner_can_read(
        self, auth_app: Flask, keys: Path
    ) -> None:
        result = run(auth_app, "keys", "init")

        assert result.exit_code == 0, result.output
        assert result.output.startswith("created signing key ")
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        files = sorted(keys.iterdir())
        assert [f.suffix for f in files] == [".json", ".pem"]
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file.name

    def test_keys_init_run_again_keeps_the_existing_key(self, auth_app: Flask, keys: Path) -> None:
        run(auth_app, "keys", "init")
        before = {file.name: file.read_bytes() for file in keys.iterdir()}

        again = run(auth_app, "keys", "init")

        assert again.exit_code == 0, again.output
        assert again.output.startswith("kept existing signing key ")
        assert {file.name: file.read_bytes() for file in keys.iterdir()} == before

    def test_the_key_keys_init_made_signs_logins_and_is_published(
        self, auth_app: Flask, auth: AuthActions, client: FlaskClient, keys: Path
    ) -> None:
        run(auth_app, "keys", "init")
        (pem,) = keys.glob("*.pem")

        token = auth.tokens()["access_token"]

        assert jwt.get_unverified_header(token)["kid"] == pem.stem
        assert [k["kid"] for k in client.get("/.well-known/jwks.json").get_json()["keys"]] == [
            pem.stem
        ]
        assert client.get("/readyz").status_code == 200

    def test_keys_public_without_any_key_fails_telling_what_to_run(self, auth_app: Flask) -> None:
        result = run(auth_app, "keys", "public")

        assert result.exit_code != 0
        assert "keys init" in result.output


def test_keys_public_prints_the_public_key_set_as_jwks_json(
    auth_app: Flask, client: FlaskClient, keys_dir: Path
) -> None:
    result = run(auth_app, "keys", "public")

    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (key,) = KeyStore(keys_dir).load()
    assert [k["kid"] for k in document["keys"]] == [key.kid]
    for jwk in document["keys"]:
        assert PRIVATE_MEMBERS.isdisjoint(jwk), sorted(jwk)
        assert jwk["use"] == "sig" and jwk["alg"] == "RS256"
    assert document == client.get("/.well-known/jwks.json").get_json()
    assert list(parse_key_set(result.output)) == [key.kid]  # what the resource service reads


# sessions purge -------------------------------------------------------------------------------


@dataclass
class PurgeScene:
    """Sessions in every state, built by moving the clock: which purge must delete or keep."""

    deleted: dict[str, str]
    kept: dict[str, str]
    live_refresh_token: str


class TestSessionsPurge:
    @pytest.fixture
    def auth_env(self, auth_env: dict[str, str]) -> dict[str, str]:
        return {**auth_env, "AUTH_REFRESH_TOKEN_TTL": "1000", "AUTH_SESSION_MAX_AGE": "2000"}

    @pytest.fixture
    def scene(self, auth: AuthActions, clock: FakeClock) -> PurgeScene:
        start = clock()
        username = auth.register()

        def at(seconds: int) -> None:
            clock.now = start + timedelta(seconds=seconds)

        def login() -> dict[str, Any]:
            return auth.session(username)

        at(-2050)
        aged = login()  # refreshed regularly, but older than AUTH_SESSION_MAX_AGE
        at(-1500)
        idle = login()  # never refreshed: idle for longer than AUTH_REFRESH_TOKEN_TTL
        at(-1100)
        aged_token = auth.refresh(aged["refresh_token"]).get_json()["refresh_token"]
        at(-300)
        revoked_long_ago = login()
        at(-200)
        auth.client.post("/auth/logout", json={"refresh_token": revoked_long_ago["refresh_token"]})
        at(-150)
        assert auth.refresh(aged_token).status_code == 200
        at(-50)
        revoked_recently = login()
        at(-30)
        auth.client.post("/auth/logout", json={"refresh_token": revoked_recently["refresh_token"]})
        at(0)
        live = login()

        def sid(tokens: dict[str, Any]) -> str:
            return str(claims_of(tokens["access_token"])["sid"])

        return PurgeScene(
            deleted={
                "older than the maximum age": sid(aged),
                "idle too long": sid(idle),
                "revoked longer ago than the retention": sid(revoked_long_ago),
            },
            kept={"revoked recently": sid(revoked_recently), "live": sid(live)},
            live_refresh_token=live["refresh_token"],
        )

    @pytest.mark.parametrize(("batch_size", "batches"), [(1, 3), (2, 2), (1000, 1)])
    def test_purge_deletes_ended_sessions_and_their_tokens_in_bounded_batches(
        self, auth_app: Flask, auth: AuthActions, scene: PurgeScene, batch_size: int, batches: int
    ) -> None:
        deletes: list[str] = []

        def count_session_deletes(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if statement.lstrip().upper().startswith("DELETE FROM SESSIONS"):
                deletes.append(statement)

        with auth_app.app_context():
            engine = auth_db.engine
        event.listen(engine, "before_cursor_execute", count_session_deletes)
        try:
            result = run(
                auth_app,
                "sessions",
                "purge",
                "--batch-size",
                str(batch_size),
                "--revoked-retention",
                "100",
            )
        finally:
            event.remove(engine, "before_cursor_execute", count_session_deletes)

        assert result.exit_code == 0, result.output
        assert result.output.splitlines()[0] == "purged 3 sessions"
        assert len(deletes) == batches
        with auth_app.app_context():
            remaining = set(auth_db.session.scalars(select(Session.id)))
            token_sessions = set(auth_db.session.scalars(select(RefreshToken.session_id)))
        assert remaining == set(scene.kept.values())
        assert token_sessions == set(scene.kept.values())
        assert auth.refresh(scene.live_refresh_token).status_code == 200

    def test_purging_again_finds_nothing_left_to_delete(
        self, auth_app: Flask, scene: PurgeScene
    ) -> None:
        run(auth_app, "sessions", "purge", "--revoked-retention", "100")

        again = run(auth_app, "sessions", "purge", "--revoked-retention", "100")

        assert again.exit_code == 0, again.output
        assert again.output.splitlines()[0] == "purged 0 sessions"

    def test_by_default_a_revoked_session_is_kept_for_a_day(
        self, auth_app: Flask, scene: PurgeScene
    ) -> None:
        result = run(auth_app, "sessions", "purge")

        assert result.output.splitlines()[0] == "purged 2 sessions"
        with auth_app.app_context():
            remaining = set(auth_db.session.scalars(select(Session.id)))
        assert scene.deleted["revoked longer ago than the retention"] in remaining

    def test_purge_rejects_a_batch_size_of_zero(self, auth_app: Flask) -> None:
        result = run(auth_app, "sessions", "purge", "--batch-size", "0")

        assert result.exit_code == 2
        assert "batch-size" in result.output


def test_purge_forgets_throttle_counters_whose_window_has_passed(
    auth_app: Flask, auth: AuthActions, clock: FakeClock
) -> None:
    auth.login(random_name(), "wrong password!")
    clock.advance(301)  # past AUTH_LOGIN_FAILURE_WINDOW and AUTH_ADDRESS_WINDOW
    auth.login(random_name(), "wrong password!")
    with auth_app.app_context():
        recent = set(
            auth_db.session.scalars(
                select(ThrottleCounter.key).where(ThrottleCounter.window_ends_at > clock())
            )
        )
    # The second name's counter, and the address's two counters, whose windows started again.
    assert len(recent) == 3

    result = run(auth_app, "sessions", "purge")

    assert result.exit_code == 0, result.output
    assert "purged 1 throttle counters" in result.output
    with auth_app.app_context():
        assert set(auth_db.session.scalars(select(ThrottleCounter.key))) == recent


# Migrations -----------------------------------------------------------------------------------


@dataclass
class Service:
    app: Flask
    db: SQLAlchemy
    version_table: str


@pytest.fixture(params=["auth_service", "resource_service"])
def unmigrated(
    request: pytest.FixtureRequest,
    database_kind: str,
    tmp_path: Path,
    keys_dir: Path,
    clock: FakeClock,
) -> Iterator[Service]:
    """One service on a fresh, empty database that no migration has touched yet."""
    with fresh_database(database_kind, tmp_path) as url:
        if request.param == "auth_service":
            app = auth_service.create_app(
                {"AUTH_DATABASE_URL": url, "AUTH_KEYS_DIR": str(keys_dir)}, clock=clock
            )
            service = Service(app, auth_db, "auth_alembic_version")
        else:
            jwks = tmp_path / "jwks.json"
            jwks.write_text(
                json.dumps(jwks_document([k.public for k in KeyStore(keys_dir).load()]))
            )
            app = resource_service.create_app(
                {"RESOURCE_DATABASE_URL": url, "RESOURCE_PUBLIC_KEY_FILE": str(jwks)}, clock=clock
            )
            service = Service(app, resource_db, "resource_alembic_version")
        yield service
        with app.app_context():
            service.db.session.remove()
            service.db.engine.dispose()


def table_names(service: Service) -> set[str]:
    with service.app.app_context():
        return set(inspect(service.db.engine).get_table_names())


def model_tables(service: Service) -> set[str]:
    return set(service.db.metadata.tables)


def head_revision(service: Service) -> list[str]:
    """Return the newest revision of the service's migration scripts."""
    return [ScriptDirectory(service.app.extensions["migrate"].directory).get_current_head()]


def current_revision(service: Service) -> list[str]:
    with service.app.app_context(), service.db.engine.connect() as connection:
        return list(connection.scalars(text(f"SELECT version_num FROM {service.version_table}")))


def test_upgrade_brings_an_empty_database_to_the_models_schema(unmigrated: Service) -> None:
    assert table_names(unmigrated) == set()

    with unmigrated.app.app_context():
        upgrade()

    assert table_names(unmigrated) == model_tables(unmigrated) | {unmigrated.version_table}
    assert current_revision(unmigrated) == head_revision(unmigrated)


def test_upgrade_run_twice_changes_nothing(unmigrated: Service) -> None:
    with unmigrated.app.app_context():
        upgrade()
        upgrade()

    assert table_names(unmigrated) == model_tables(unmigrated) | {unmigrated.version_table}
    assert current_revision(unmigrated) == head_revision(unmigrated)


def test_downgrade_to_base_and_upgrade_again_round_trips(unmigrated: Service) -> None:
    with unmigrated.app.app_context():
        upgrade()
        downgrade(revision="base")
        assert table_names(unmigrated) == {unmigrated.version_table}
        assert current_revision(unmigrated) == []
        upgrade()

    assert table_names(unmigrated) == model_tables(unmigrated) | {unmigrated.version_table}
    assert current_revision(unmigrated) == head_revision(unmigrated)


def test_the_migrations_match_the_models_with_no_drift(unmigrated: Service) -> None:
    with unmigrated.app.app_context():
        upgrade()
        with unmigrated.db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"version_table": unmigrated.version_table, "compare_type": True},
            )
            differences = compare_metadata(context, unmigrated.db.metadata)

    assert differences == []


def test_both_services_can_share_one_database(
    database_kind: str, tmp_path: Path, keys_dir: Path, clock: FakeClock
) -> None:
    # Each keeps its own version table, so one service's migrations never touch the other's.
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(jwks_document([k.public for k in KeyStore(keys_dir).load()])))
    with fresh_database(database_kind, tmp_path) as url:
        auth = auth_service.create_app(
            {"AUTH_DATABASE_URL": url, "AUTH_KEYS_DIR": str(keys_dir)}, clock=clock
        )
        resource = resource_service.create_app(
            {"RESOURCE_DATABASE_URL": url, "RESOURCE_PUBLIC_KEY_FILE": str(jwks)}, clock=clock
        )
        try:
            with auth.app_context():
                upgrade()
            with resource.app_context():
                upgrade()
                downgrade(revision="base")
                upgrade()
            with auth.app_context():
                downgrade(revision="base")
                names = set(inspect(auth_db.engine).get_table_names())
                assert names == {
                    "auth_alembic_version",
                    "resource_alembic_version",
                    "notes",
                    "jwks_cache",
                }
                upgrade()
                assert auth_db.session.scalar(select(func.count()).select_from(Session)) == 0
        finally:
            for app, db in ((auth, auth_db), (resource, resource_db)):
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()


def test_the_throttle_migration_upgrades_a_populated_database_and_keeps_every_account(
    database_kind: str, tmp_path: Path, keys_dir: Path, clock: FakeClock
) -> None:
    with fresh_database(database_kind, tmp_path) as url:
        app = auth_service.create_app(
            {"AUTH_DATABASE_URL": url, "AUTH_KEYS_DIR": str(keys_dir)},
            clock=clock,
            passwords=CHEAP_PASSWORDS,
        )
        try:
            with app.app_context():
                upgrade(revision="0001")
                with auth_db.engine.begin() as connection:
                    connection.execute(
                        text(
                            "INSERT INTO login_failures (username, failures, window_started_at) "
                            "VALUES ('someone', 3, :now)"
                        ),
                        {"now": clock().replace(tzinfo=None)},
                    )
            actions = AuthActions(app.test_client())
            username = _user_at_revision_0001(app, clock)

            with app.app_context():
                upgrade()
                names = set(inspect(auth_db.engine).get_table_names())
                sessions_kept = auth_db.session.scalar(select(func.count()).select_from(Session))

            assert "login_failures" not in names and "throttle_counters" in names
            assert sessions_kept == 1
            assert actions.login(username).status_code == 200
            with app.app_context():
                downgrade(revision="0001")
                assert "login_failures" in set(inspect(auth_db.engine).get_table_names())
                assert auth_db.session.scalar(select(func.count()).select_from(Session)) == 2
        finally:
            with app.app_context():
                auth_db.session.remove()
                auth_db.engine.dispose()


def _user_at_revision_0001(app: Flask, clock: FakeClock) -> str:
    """Insert a user with a session and a refresh token the way revision 0001 stores them."""
    username = random_name()
    now = clock().replace(tzinfo=None)
    with app.app_context(), auth_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, password_hash, created_at) "
                "VALUES ('u1', :name, :hash, :now)"
            ),
            {"name": username, "hash": CHEAP_PASSWORDS.hash(STRONG_PASSWORD), "now": now},
        )
        connection.execute(
            text(
                "INSERT INTO sessions (id, user_id, scope, created_at, refreshed_at, expires_at) "
                "VALUES ('s1', 'u1', 'notes:read', :now, :now, :later)"
            ),
            {"now": now, "later": now + timedelta(days=1)},
        )
        connection.execute(
            text(
                "INSERT INTO refresh_tokens (session_id, token_hash, issued_at) "
                "VALUES ('s1', :hash, :now)"
            ),
            {"hash": "0" * 64, "now": now},
        )
    return username
