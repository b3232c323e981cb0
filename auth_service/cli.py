"""``flask --app auth_service keys ...`` and ``sessions ...``: operator commands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup

from auth_service import sessions
from auth_service.api import operation
from auth_service.context import deps
from auth_service.keystore import KeyRetireRefused, KeyStore, key_states
from auth_service.settings import Settings
from shared.keys import jwks_document
from shared.observability import audit

keys_cli = AppGroup("keys", help="Manage the private signing keys in AUTH_KEYS_DIR.")
sessions_cli = AppGroup("sessions", help="Maintain the session store.")


def _settings() -> Settings:
    return deps().settings


def _now() -> datetime:
    return deps().clock()


@keys_cli.command("init")
def keys_init() -> None:
    """Create a signing key if AUTH_KEYS_DIR holds none (safe at every start)."""
    settings = _settings()
    now = _now()
    key, created = KeyStore(settings.keys_dir).init(settings.signing_alg, now)
    if created:
        audit("signing_key_created", kid=key.kid, alg=key.alg)
    verb = "created" if created else "kept existing"
    click.echo(f"{verb} signing key {key.kid} ({key.alg}) in {settings.keys_dir}")


@keys_cli.command("rotate")
@click.option("--now", "at_once", is_flag=True, help="Start signing with the new key at once.")
def keys_rotate(at_once: bool) -> None:
    """Publish a new signing key; it signs after AUTH_KEY_ACTIVATION_DELAY (or at once)."""
    settings = _settings()
    now = _now()
    delay = timedelta(seconds=0 if at_once else settings.key_activation_delay)
    key = KeyStore(settings.keys_dir).create(settings.signing_alg, now, activates_at=now + delay)
    audit(
        "signing_key_rotated", kid=key.kid, alg=key.alg, activates_at=key.activates_at.isoformat()
    )
    click.echo(f"published key {key.kid} ({key.alg}); it signs from {key.activates_at.isoformat()}")


@keys_cli.command("list")
def keys_list() -> None:
    """Show kid, algorithm, state and dates of every key."""
    statuses = key_states(KeyStore(_settings().keys_dir).load(), _now())
    click.echo(f"{'kid':44}  {'alg':5}  {'state':11}  {'created':25}  {'signs from':25}  stopped")
    for status in statuses:
        key, stopped = status.key, status.stopped_signing_at
        click.echo(
            f"{key.kid:44}  {key.alg:5}  {status.state:11}  {key.created_at.isoformat():25}  "
            f"{key.activates_at.isoformat():25}  {stopped.isoformat() if stopped else '-'}"
        )


@keys_cli.command("retire")
@click.argument("kid")
@click.option("--force", is_flag=True, help="Retire even if tokens it signed may still live.")
def keys_retire(kid: str, force: bool) -> None:
    """Remove a key that stopped signing more than one access-token lifetime ago."""
    settings = _settings()
    lifetime = timedelta(seconds=settings.access_token_ttl)
    try:
        KeyStore(settings.keys_dir).retire(kid, _now(), lifetime, force)
    except KeyRetireRefused as refused:
        raise click.ClickException(str(refused)) from None
    audit("signing_key_retired", kid=kid, forced=force)
    click.echo(f"retired key {kid}")


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
    """Delete expired and long-revoked sessions in bounded batches, and old throttle counters."""
    deleted, counters = sessions.purge(
        operation(), batch_size=batch_size, revoked_retention=timedelta(seconds=revoked_retention)
    )
    click.echo(f"purged {deleted} sessions")
    click.echo(f"purged {counters} throttle counters whose window has ended")
