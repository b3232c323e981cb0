"""The auth service: users, sessions, rotating refresh tokens and RS256 access tokens.

Run it with ``gunicorn 'auth_service:create_app()'``; nothing happens at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask

from auth_service import authorize, introspection, oauth
from auth_service.api import bp
from auth_service.browser import init_browser_clients
from auth_service.cli import clients_cli, keys_cli, sessions_cli
from auth_service.context import AuthDeps, bind
from auth_service.extensions import VERSION_TABLE, db, migrate
from auth_service.keystore import KeyRing, KeyStore
from auth_service.passwords import Passwords
from auth_service.policy import Policy
from auth_service.settings import Settings
from auth_service.throttling import Limits
from auth_service.tokens import AccessTokenIssuer
from shared.bearer import VERIFIER_EXTENSION, AccessTokenVerifier
from shared.config import exit_on_config_error
from shared.db import init_store, ping, utcnow
from shared.errors import register_error_handlers
from shared.headers import init_response_headers
from shared.health import health_blueprint
from shared.observability import configure_logging, init_observability

MIGRATIONS = str(Path(__file__).parent / "migrations")


def create_app(
    environ: Mapping[str, str] | None = None,
    *,
    clock: Callable[[], datetime] = utcnow,
    passwords: Passwords | None = None,
) -> Flask:
    """Create the auth service from the environment (tests pass *environ*, *clock*, *passwords*)."""
    with exit_on_config_error("auth_service"):
        settings = Settings.from_env(os.environ if environ is None else environ)

    configure_logging("auth_service", settings.log_level)
    # An API, and a few server-rendered pages (templates/): no /static route to describe or probe.
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=settings.max_body_bytes)
    with exit_on_config_error("auth_service"):
        init_store(
            app, db, migrate, settings.database_url, MIGRATIONS, variable="AUTH_DATABASE_URL"
        )

    keys = KeyRing(KeyStore(settings.keys_dir))
    # The auth service checks its own access tokens (logout-all, sessions, introspection) like
    # any verifier, on the app's clock like the rules that check their sessions.
    verifier = AccessTokenVerifier(
        keys,
        issuer=settings.issuer,
        audience=settings.audience,
        clock=lambda: clock().timestamp(),
    )
    bind(
        app,
        AuthDeps(
            settings=settings,
            keys=keys,
            clock=clock,
            passwords=passwords or Passwords(concurrency=settings.concurrent_hashes),
            policy=Policy.from_settings(settings),
            limits=Limits.from_settings(settings),
            issuer=AccessTokenIssuer(
                keys,
                issuer=settings.issuer,
                audience=settings.audience,
                ttl=timedelta(seconds=settings.access_token_ttl),
            ),
            verifier=verifier,
        ),
    )
    app.extensions[VERIFIER_EXTENSION] = verifier  # for shared.bearer.authenticate()

    register_error_handlers(app)
    init_response_headers(app)
    init_observability(app, "auth_service")
    # After observability: a refusal here is still logged and counted with its request id.
    init_browser_clients(app, settings)
    app.register_blueprint(bp)
    app.register_blueprint(oauth.bp)
    app.register_blueprint(introspection.bp)
    app.register_blueprint(authorize.bp)
    app.register_blueprint(
        health_blueprint(
            {"store": lambda: ping(db, VERSION_TABLE), "signing_key": lambda: keys.check(clock())}
        )
    )
    app.cli.add_command(keys_cli)
    app.cli.add_command(sessions_cli)
    app.cli.add_command(clients_cli)
    return app
