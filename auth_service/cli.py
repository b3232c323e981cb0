"""`flask --app auth_service keys ...`, `sessions ...`, `clients ...`: operator commands."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup

from auth_service import authorization_codes, clients, sessions
from auth_service.context import deps, operation
from auth_service.errors import AuthError
from auth_service.keystore import KeyRetireRefused, KeyStore, key_states
from auth_service.settings import Settings
from shared.commands import CommandFailed, first_line, store_errors
from shared.keys import jwks_document
from shared.observability import audit

SERVICE = "auth_service"
MISSING = "does not exist; create the first key with: flask --app auth_service keys init"

keys_cli = AppGroup("keys", help="Manage the private signing keys in AUTH_KEYS_DIR.")
sessions_cli = AppGroup("sessions", help="Maintain the session store.")
clients_cli = AppGroup("clients", help="Register, list and remove OAuth 2.0 clients.")


def _settings() -> Settings:
    return deps().settings


def _now() -> datetime:
    return deps().clock()


def _keys_dir_problem(path: str) -> str | None:
    """Return what makes AUTH_KEYS_DIR unusable as an existing folder of keys, or None."""
    if not os.path.exists(path):
        parent = os.path.dirname(os.path.abspath(path))
        while not os.path.exists(parent):
            parent = os.path.dirname(parent)
        if not os.path.isdir(parent):
            return f"cannot be a folder: {parent} is a file"
        return MISSING
    if not os.path.isdir(path):
        return "is not a folder"
    if not os.access(path, os.R_OK | os.X_OK):
        return "cannot be read (permission denied)"
    return None


@contextmanager
def _key_store(*, create: bool = False) -> Iterator[KeyStore]:
    """Yield the store of AUTH_KEYS_DIR; any failure is one line naming the variable and why.

    Only *create* (``keys init``) may make the folder; every other command needs it to exist.
    """
    path = _settings().keys_dir
    problem = _keys_dir_problem(path)
    if problem and not (create and problem == MISSING):
        raise CommandFailed(SERVICE, f"AUTH_KEYS_DIR ({path}) {problem}")
    try:
        yield KeyStore(path)
    except OSError as error:  # unwritable, a path through a file, a full disk, ...
        where = f" at {error.filename}" if error.filename and error.filename != path else ""
        reason = error.strerror or first_line(error)
        raise CommandFailed(SERVICE, f"AUTH_KEYS_DIR ({path}): {reason}{where}") from None
    except (ValueError, KeyError) as error:  # a key file that is not what keys init wrote
        raise CommandFailed(
            SERVICE, f"AUTH_KEYS_DIR ({path}) holds a damaged key file: {first_line(error)}"
        ) from None


def _table(rows: list[tuple[str, ...]]) -> str:
    """Return *rows* as text columns, each as wide as its widest cell."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = (
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    )
    return "\n".join(line.rstrip() for line in lines)


@keys_cli.command("init")
def keys_init() -> None:
    """Create a signing key if AUTH_KEYS_DIR holds none (safe at every start)."""
    settings = _settings()
    now = _now()
    with _key_store(create=True) as store:
        key, created = store.init(settings.signing_alg, now)
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
    with _key_store() as store:
        key = store.create(settings.signing_alg, now, activates_at=now + delay)
    audit(
        "signing_key_rotated", kid=key.kid, alg=key.alg, activates_at=key.activates_at.isoformat()
    )
    click.echo(f"published key {key.kid} ({key.alg}); it signs from {key.activates_at.isoformat()}")


@keys_cli.command("list")
def keys_list() -> None:
    """Show kid, algorithm, state and dates of every key."""
    with _key_store() as store:
        statuses = key_states(store.load(), _now())
    rows: list[tuple[str, ...]] = [("kid", "alg", "state", "created", "signs from", "stopped")]
    for status in statuses:
        key, stopped = status.key, status.stopped_signing_at
        rows.append(
            (
                key.kid,
                key.alg,
                status.state,
                key.created_at.isoformat(),
                key.activates_at.isoformat(),
                stopped.isoformat() if stopped else "-",
            )
        )
    click.echo(_table(rows))


# A kid is a base64url thumbprint, so it may begin with "-": it must not be taken for an option.
@keys_cli.command("retire", context_settings={"ignore_unknown_options": True})
@click.argument("kid")
@click.option("--force", is_flag=True, help="Retire even if tokens it signed may still live.")
def keys_retire(kid: str, force: bool) -> None:
    """Remove a key that stopped signing more than one access-token lifetime ago."""
    settings = _settings()
    lifetime = timedelta(seconds=settings.access_token_ttl)
    try:
        with _key_store() as store:
            store.retire(kid, _now(), lifetime, force)
    except KeyRetireRefused as refused:
        raise CommandFailed(SERVICE, str(refused)) from None
    audit("signing_key_retired", kid=kid, forced=force)
    click.echo(f"retired key {kid}")


@keys_cli.command("public")
def keys_public() -> None:
    """Print the public key set (JWKS JSON): all the resource service needs."""
    with _key_store() as store:
        keys = store.load()
    if not keys:
        raise CommandFailed(SERVICE, "no keys yet; run: flask --app auth_service keys init")
    click.echo(json.dumps(jwks_document([key.public for key in keys]), indent=2))


@sessions_cli.command("purge")
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--revoked-retention",
    default=86_400,
    show_default=True,
    type=click.IntRange(0),
    help=(
        "Seconds a revoked session is kept (for the audit trail) before it is deleted; "
        "also how long after its expiry a used authorization code still revokes on replay."
    ),
)
def sessions_purge(batch_size: int, revoked_retention: int) -> None:
    """Delete expired and long-revoked sessions in bounded batches, old counters and codes."""
    with store_errors(SERVICE, "AUTH_DATABASE_URL", _settings().database_url):
        deleted, counters = sessions.purge(
            operation(),
            batch_size=batch_size,
            revoked_retention=timedelta(seconds=revoked_retention),
        )
        codes = authorization_codes.purge(
            operation().db, _now(), used_retention=timedelta(seconds=revoked_retention)
        )
    click.echo(f"purged {deleted} sessions")
    click.echo(f"purged {counters} throttle counters whose window has ended")
    click.echo(f"purged {codes} authorization codes")


@clients_cli.command("add")
@click.argument("name")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact; repeat for more.")
@click.option("--confidential", is_flag=True, help="Give the client a secret (a server app).")
@click.option("--scope", default=None, help="The scopes it may ask for (default: all).")
@click.option(
    "--first-party", is_flag=True, help="The operator's own app: its users skip the approval step."
)
def clients_add(
    name: str,
    redirect_uris: tuple[str, ...],
    confidential: bool,
    scope: str | None,
    first_party: bool,
) -> None:
    """Register a client; print it as JSON, with its secret (shown only this once)."""
    with store_errors(SERVICE, "AUTH_DATABASE_URL", _settings().database_url):
        try:
            registered = clients.register(
                operation(),
                name,
                list(redirect_uris),
                confidential=confidential,
                scope=scope,
                first_party=first_party,
            )
        except AuthError as refused:
            raise CommandFailed(SERVICE, str(refused)) from None
    client = registered.client
    shown = {
        "client_id": client.id,
        **({"client_secret": registered.secret} if registered.secret else {}),
        "name": client.name,
        "redirect_uris": client.redirect_uris,
        "scope": client.scope,
        "token_endpoint_auth_method": clients.auth_method(client),
        "first_party": client.first_party,
    }
    click.echo(json.dumps(shown, indent=2))


@clients_cli.command("list")
def clients_list() -> None:
    """Show every registered client: id, type, scopes, first-party or not, name, redirect URIs."""
    with store_errors(SERVICE, "AUTH_DATABASE_URL", _settings().database_url):
        registered = clients.all_clients(operation())
    rows: list[tuple[str, ...]] = [
        ("client_id", "type", "scope", "first-party", "name", "redirect URIs")
    ]
    for client in registered:
        kind = "confidential" if client.confidential else "public"
        party = "yes" if client.first_party else "no"
        uris = " ".join(client.redirect_uris)
        rows.append((client.id, kind, client.scope, party, client.name, uris))
    click.echo(_table(rows))


@clients_cli.command("remove")
@click.argument("client_id")
def clients_remove(client_id: str) -> None:
    """Remove a client; every session it holds is revoked."""
    with store_errors(SERVICE, "AUTH_DATABASE_URL", _settings().database_url):
        try:
            revoked = clients.remove(operation(), client_id)
        except AuthError as refused:
            raise CommandFailed(SERVICE, str(refused)) from None
    click.echo(f"removed client {client_id}; revoked {revoked} sessions")
