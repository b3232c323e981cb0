"""The resource service: per-user notes behind locally verified access tokens.

It holds only public keys. Run it with ``gunicorn 'resource_service:create_app()'``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from flask import Flask
from flask_cors import CORS

from resource_service.api import CLOCK_EXTENSION, bp
from resource_service.extensions import VERSION_TABLE, db, migrate
from resource_service.keycache import DatabaseKeySetStore
from resource_service.keysource import FileKeySource, JwksKeySource
from resource_service.settings import Settings, StoreSettings
from shared.bearer import VERIFIER_EXTENSION, AccessTokenVerifier
from shared.config import exit_on_config_error, loaded_for_a_cli_command
from shared.db import init_store, ping, utcnow
from shared.errors import register_error_handlers
from shared.headers import init_response_headers
from shared.health import health_blueprint
from shared.observability import configure_logging, init_observability

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(
    environ: Mapping[str, str] | None = None, *, clock: Callable[[], datetime] = utcnow
) -> Flask:
    """Create the resource service from the environment (tests pass *environ* and *clock*)."""
    environ = os.environ if environ is None else environ
    with exit_on_config_error("resource_service"):
        if loaded_for_a_cli_command():
            # `db upgrade` runs in migration jobs that know the database URL and nothing else;
            # a setting that is given is still checked.
            return _store_app(Settings.from_env(environ, key_source_required=False))
        settings = Settings.from_env(environ)
        keys: FileKeySource | JwksKeySource
        if settings.public_key_file:
            keys = FileKeySource(settings.public_key_file)
        else:
            assert settings.jwks_url is not None
            keys = JwksKeySource(
                settings.jwks_url,
                clock=lambda: clock().timestamp(),
                store=DatabaseKeySetStore(db),
                max_stale=settings.jwks_max_stale,
            )

    app = _store_app(settings)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions[CLOCK_EXTENSION] = clock
    app.extensions[VERIFIER_EXTENSION] = AccessTokenVerifier(
        keys, issuer=settings.issuer, audience=settings.audience, leeway=settings.leeway
    )
    register_error_handlers(app)
    init_response_headers(app)
    init_observability(app, "resource_service")
    if settings.cors_origins:
        # Bearer tokens only, no cookies: a page sends Authorization and reads the RFC 6750
        # answer (WWW-Authenticate says when to refresh).
        CORS(
            app,
            resources={r"/api/.*": {}},
            origins=list(settings.cors_origins),
            supports_credentials=False,
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["WWW-Authenticate", "Retry-After"],
            methods=["GET", "POST", "DELETE"],
            max_age=600,
            # Its default answers a request without Origin with every allowed origin listed.
            always_send=False,
        )
    app.register_blueprint(bp)
    app.register_blueprint(
        health_blueprint({"store": lambda: ping(db, VERSION_TABLE), "keys": keys.ready})
    )
    return app


def _store_app(settings: StoreSettings) -> Flask:
    """Return the app with logging and its store bound: all that the Flask CLI commands need."""
    configure_logging("resource_service", settings.log_level)
    app = Flask(__name__, static_folder=None)  # an API: no /static route to describe or probe
    with exit_on_config_error("resource_service"):
        init_store(
            app, db, migrate, settings.database_url, MIGRATIONS, variable="RESOURCE_DATABASE_URL"
        )
    return app
