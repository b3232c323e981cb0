"""Migration 0004 (authorization codes, first-party clients) on a store that holds data."""

from __future__ import annotations

from pathlib import Path

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

import auth_service
from auth_service import clients
from auth_service.context import operation
from auth_service.extensions import db as auth_db
from tests.integration.conftest import CHEAP_PASSWORDS, AuthActions
from tests.support import FakeClock, fresh_database


def test_migration_0004_upgrades_a_populated_store_and_keeps_its_clients_and_sessions(
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
                upgrade(revision="0003")
                with auth_db.engine.begin() as connection:
                    connection.execute(
                        text(
                            "INSERT INTO oauth_clients "
                            "(id, name, secret_hash, redirect_uris, scope, created_at) "
                            "VALUES ('old-client', 'Old', NULL, "
                            "'[\"https://old.example/cb\"]', 'notes:read', :now)"
                        ),
                        {"now": clock().replace(tzinfo=None)},
                    )
            actions = AuthActions(app.test_client())
            tokens = actions.tokens()

            with app.app_context():
                upgrade()
                assert "authorization_codes" in inspect(auth_db.engine).get_table_names()
                old = clients.find(operation(), "old-client")
                assert old is not None and old.first_party is False
                assert old.redirect_uris == ["https://old.example/cb"]
            assert actions.refresh(tokens["refresh_token"]).status_code == 200

            with app.app_context():
                auth_db.session.remove()
                downgrade(revision="0003")
                inspector = inspect(auth_db.engine)
                assert "authorization_codes" not in inspector.get_table_names()
                columns = {c["name"] for c in inspector.get_columns("oauth_clients")}
                assert "first_party" not in columns
                kept = auth_db.session.execute(text("SELECT id FROM oauth_clients")).scalars()
                assert list(kept) == ["old-client"]
        finally:
            with app.app_context():
                auth_db.session.remove()
                auth_db.engine.dispose()
