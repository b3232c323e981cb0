"""/readyz tells an orchestrator the store is not usable yet: unreachable or not migrated."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade

import auth_service
import resource_service
from tests.support import fresh_database


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_readiness_waits_for_the_migrations(engine: str, tmp_path: Path, keys_dir: Path) -> None:
    jwks = tmp_path / "jwks.json"
    with fresh_database(engine, tmp_path) as auth_url, fresh_database(engine, tmp_path) as res_url:
        auth = auth_service.create_app(
            {"AUTH_DATABASE_URL": auth_url, "AUTH_KEYS_DIR": str(keys_dir)}
        )
        jwks.write_text(auth.test_client().get("/.well-known/jwks.json").get_data(as_text=True))
        resource = resource_service.create_app(
            {"RESOURCE_DATABASE_URL": res_url, "RESOURCE_PUBLIC_KEY_FILE": str(jwks)}
        )
        for app in (auth, resource):
            before = app.test_client().get("/readyz")
            assert before.status_code == 503
            assert before.get_json()["checks"]["store"] == "unavailable"
            with app.app_context():
                upgrade()
            assert app.test_client().get("/readyz").status_code == 200
            with app.app_context():
                app.extensions["sqlalchemy"].engine.dispose()
