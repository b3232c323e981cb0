"""The services a run sets up: each declared once, shared by every figure that measures it.

Set-up is what an operator does: ``flask ... keys init``, ``db upgrade``, ``clients add``; then
the bench seeds sessions in bulk (``bench/seed.py``) and starts gunicorn.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from auth_service.keystore import KeyRing, KeyStore
from auth_service.settings import ALL_SCOPES, Settings
from auth_service.tokens import FIRST_PARTY_CLIENT_ID, AccessTokenIssuer
from bench.apps import create_bench_table
from bench.report import progress
from bench.seed import seed_sessions
from devstack import Databases, FlaskCommand, Server, run_flask, service_env
from shared.db import utcnow
from shared.keys import jwks_document

PASSWORD = "correct horse battery staple"
KEEP_TOKENS = 6_000  # refresh tokens kept per client and service, for the pools of the sides
# The load comes from one client address: the per-address limits on every login and refresh
# are for abuse, not for a benchmark, so they are set out of reach. The limits on failed logins
# (AUTH_LOGIN_MAX_FAILURES, AUTH_ADDRESS_MAX_LOGIN_FAILURES) stay as in production: no figure
# fails a login but the flood of the fairness figure, which they stop.
UNLIMITED_LOAD = {
    "AUTH_ADDRESS_MAX_LOGINS": "1000000000",
    "AUTH_ADDRESS_MAX_REFRESHES": "1000000000",
}
PAGE_CALLBACK = "https://app.example/callback"  # a redirect URI for `clients add`
# Whose sessions a chain's tokens belong to (Chain.client): the first-party client (the
# /auth/... endpoints), or a public client registered with `clients add` (Service.oauth_sessions).
FIRST_PARTY, OAUTH = "first-party", "oauth"


@dataclass(frozen=True)
class Service:
    """One gunicorn instance of a service, on a fresh database of *engine*."""

    app: str  # "auth_service" or "resource_service"
    engine: str = "sqlite"
    sessions: int = 0  # first-party sessions seeded, each with a live refresh token
    oauth_sessions: int = 0  # sessions of a public client registered with `clients add`
    env: tuple[tuple[str, str], ...] = ()  # settings over UNLIMITED_LOAD
    user: bool = False  # register a user (fills {username} in requests)
    large: bool = False  # skipped by --quick


@dataclass
class Running:
    """A declared service, set up: its server, the values its requests are filled with, and
    the refresh tokens of each client, handed out pool by pool."""

    service: Service
    server: Server
    database: str  # its URL
    values: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, list[str]] = field(default_factory=dict)

    def take(self, client: str, count: int) -> list[str]:
        """Hand out *count* unused refresh tokens of *client*'s sessions."""
        kept = self.tokens.get(client, [])
        if len(kept) < count:
            raise RuntimeError(f"{self.server.name}: {len(kept)} tokens of {client} left")
        taken, self.tokens[client] = kept[:count], kept[count:]
        return taken

    def upgrade(self) -> FlaskCommand:
        return FlaskCommand(self.service.app, ("db", "upgrade"), self.server.env)


def set_up(
    services: dict[str, Service], folder: Path, databases: Databases, workers: int
) -> dict[str, Running]:
    """Create the key, the databases and the servers; migrate, register a client and seed."""
    keys_dir, jwks_file = folder / "keys", folder / "jwks.json"
    running: dict[str, Running] = {}
    for name, service in services.items():
        url = databases.postgres(name) if service.engine == "postgresql" else databases.sqlite(name)
        if service.app == "auth_service":
            settings = {"AUTH_DATABASE_URL": url, **UNLIMITED_LOAD, **dict(service.env)}
            factory = "bench.apps:create_auth_app()"
        else:
            settings = {"RESOURCE_DATABASE_URL": url, "RESOURCE_PUBLIC_KEY_FILE": str(jwks_file)}
            factory = "resource_service:create_app()"
        env = _env(workers, keys_dir, settings)
        running[name] = Running(service, Server(name, factory, env, folder), url)
    auth = [run for run in running.values() if run.service.app == "auth_service"]
    resource = [run for run in running.values() if run.service.app == "resource_service"]
    key_env = _env(1, keys_dir, {"AUTH_DATABASE_URL": databases.sqlite("keys")})
    run_flask(
        [FlaskCommand("auth_service", ("keys", "init"), key_env), *map(Running.upgrade, auth)]
    )
    progress("registering a client, migrating the resource service ...")
    # What `flask --app auth_service keys public` prints: the resource service's key file.
    jwks_file.write_text(json.dumps(jwks_document([k.public for k in KeyStore(keys_dir).load()])))
    oauth = [run for run in auth if run.service.oauth_sessions]
    add = ("clients", "add", "bench", "--redirect-uri", PAGE_CALLBACK)
    adding = [FlaskCommand("auth_service", add, run.server.env) for run in oauth]
    outputs = run_flask([*adding, *map(Running.upgrade, resource)])
    for run, output in zip(oauth, outputs, strict=False):
        run.values["client_id"] = json.loads(output)["client_id"]
    for run in resource:
        run.values["access_token"] = access_token(keys_dir)
    progress("seeding ...")
    for run in auth:
        sessions, oauth_sessions = run.service.sessions, run.service.oauth_sessions
        run.tokens[FIRST_PARTY] = seed_sessions(run.database, sessions, min(sessions, KEEP_TOKENS))
        if oauth_sessions:
            run.tokens[OAUTH] = seed_sessions(
                run.database, oauth_sessions, oauth_sessions, run.values["client_id"]
            )
        create_bench_table(run.database, datetime.now(UTC))
    return running


def register_users(running: dict[str, Running]) -> None:
    """Register a user (PASSWORD) on each running service that asks for one."""
    for run in running.values():
        if run.service.user:
            username = f"bench-{uuid.uuid4().hex[:12]}"
            credentials = {"username": username, "password": PASSWORD}
            answer = requests.post(f"{run.server.url}/auth/register", json=credentials, timeout=10)
            if answer.status_code != 201:
                raise RuntimeError(f"register: {answer.status_code} {answer.text[:200]}")
            run.values["username"] = username


def access_token(keys_dir: Path) -> str:
    """Return an access token signed by the auth service's own issuer code, valid for an hour."""
    settings = Settings.from_env({"AUTH_KEYS_DIR": str(keys_dir)})  # issuer, audience: defaults
    issuer = AccessTokenIssuer(
        KeyRing(KeyStore(keys_dir)), issuer=settings.issuer, audience=settings.audience,
        ttl=timedelta(hours=1),
    )  # fmt: skip
    return issuer.issue(
        subject=uuid.uuid4().hex, scope=" ".join(ALL_SCOPES), client_id=FIRST_PARTY_CLIENT_ID,
        session_id=secrets.token_hex(16), now=utcnow(),
    )  # fmt: skip


def _env(workers: int, keys_dir: Path, settings: dict[str, str]) -> dict[str, str]:
    return service_env(workers, {"AUTH_KEYS_DIR": str(keys_dir), **settings})
