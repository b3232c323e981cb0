"""``flask --app auth_service keys ...`` and ``sessions ...``: operator commands."""

from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from auth_service.api import SERVICES_EXTENSION, auth_service
from auth_service.keystore import KeyStore
from auth_service.settings import Settings
from shared.keys import jwks_document

keys_cli = AppGroup("keys", help="Manage the private signing keys in AUTH_KEYS_DIR.")
sessions_cli = AppGroup("sessions", help="Maintain the session store.")


def _settings() -> Settings:
    settings: Settings = current_app.config["TOKENPAIR_SETTINGS"]
    return settings


@keys_cli.command("init")
def keys_init() -> None:
    """Create a signing key if AUTH_KEYS_DIR holds none (safe at every start)."""
    settings = _settings()
    now = current_app.extensions[SERVICES_EXTENSION]["clock"]()
    key, created = KeyStore(settings.keys_dir).init(settings.signing_alg, now)
    verb = "created" if created else "kept existing"
    click.echo(f"{verb} signing key {key.kid} ({key.alg}) in {settings.keys_dir}")


@keys_cli.command("public")
def keys_public() -> None:
    """Print the public key set (JWKS JSON): all the resource service needs."""
    keys = KeyStore(_settings().keys_dir).load()
    if not keys:
        raise click.ClickException("no keys yet; run: flask --app auth_service keys init")
    click.echo(json.dumps(jwks_document([key.public for key in keys]), indent=2))


@sessions_cli.command("purge")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--revoked-retention",
    default=86_400,
    show_default=True,
    type=click.IntRange(0),
    help="Seconds a revoked session is kept (for the audit trail) before it is deleted.",
)
def sessions_purge(batch_size: int, revoked_retention: int) -> None:
    """Delete expired and long-revoked sessions in bounded batches."""
    deleted = auth_service().purge(
        batch_size=batch_size, revoked_retention=timedelta(seconds=revoked_retention)
    )
    click.echo(f"purged {deleted} sessions")
