"""Private signing keys on disk (AUTH_KEYS_DIR) and the in-process key ring built from them.

Each key is two files: ``<kid>.pem`` (PKCS#8, mode 0600) and ``<kid>.json`` (algorithm and
dates). The JSON file is written last, so a key without it is incomplete and ignored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from shared.files import make_private_dir
from shared.keys import PublicKey, PublicKeyType, public_key

log = logging.getLogger(__name__)

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# How often a worker looks at the keys folder for keys another process added or changed.
RELOAD_INTERVAL_SECONDS = 1.0


class NoSigningKey(RuntimeError):
    """No key in AUTH_KEYS_DIR may sign right now."""


class KeyRetireRefused(RuntimeError):
    """Retiring this key now could break tokens in flight; the message says why."""


@dataclass(frozen=True)
class SigningKey:
    """A private key loaded once, with its public half and its schedule."""

    private_key: PrivateKey
    public: PublicKey
    created_at: datetime
    activates_at: datetime

    @property
    def kid(self) -> str:
        return self.public.kid

    @property
    def alg(self) -> str:
        return self.public.alg


@dataclass(frozen=True)
class KeyStatus:
    """Where a key is in its life: published -> active -> verify-only (-> retired: deleted)."""

    key: SigningKey
    state: str
    stopped_signing_at: datetime | None


def key_states(keys: list[SigningKey], now: datetime) -> list[KeyStatus]:
    """Return the state of each key (sorted by activation) at *now*."""
    activated = [key for key in keys if key.activates_at <= now]
    statuses = []
    for index, key in enumerate(keys):
        if key.activates_at > now:
            statuses.append(KeyStatus(key, "published", None))
        elif key is activated[-1]:
            statuses.append(KeyStatus(key, "active", None))
        else:
            # Superseded: it stopped signing when the next key activated.
            statuses.append(KeyStatus(key, "verify-only", keys[index + 1].activates_at))
    return statuses


def generate_private_key(alg: str) -> PrivateKey:
    """Create a new private key for a JWS algorithm."""
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"unsupported algorithm {alg}")


class KeyStore:
    """The keys folder: create, list and load private keys."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def create(self, alg: str, now: datetime, activates_at: datetime | None = None) -> SigningKey:
        """Generate a key, write it with mode 0600, and return it loaded."""
        make_private_dir(self.directory)  # its parents too: ./var holds the SQLite stores
        private_key = generate_private_key(alg)
        public = public_key(_public_of(private_key))
        pem = private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        meta = {
            "kid": public.kid,
            "alg": public.alg,
            "created_at": now.isoformat(),
            "activates_at": (activates_at or now).isoformat(),
        }
        self._write_private(f"{public.kid}.pem", pem)
        self._write_private(f"{public.kid}.json", json.dumps(meta, indent=2).encode())
        return SigningKey(private_key, public, now, activates_at or now)

    def init(self, alg: str, now: datetime) -> tuple[SigningKey, bool]:
        """Return the newest key, creating one first if the folder holds none."""
        keys = self.load()
        if keys:
            return keys[-1], False
        return self.create(alg, now), True

    def load(self, *, skip_unreadable: bool = False) -> list[SigningKey]:
        """Load every complete key, oldest activation first.

        A serving process passes *skip_unreadable*: a key being retired (its files vanishing)
        or a damaged file is then logged and left out instead of failing every request.
        """
        if not self.directory.is_dir():
            return []
        keys = []
        for meta_path in self.directory.glob("*.json"):
            try:
                keys.append(self._load(meta_path))
            except (OSError, ValueError, KeyError) as error:
                if not skip_unreadable:
                    raise
                log.warning("skipped key %s: %s", meta_path.stem, type(error).__name__)
        return sorted(keys, key=lambda key: (key.activates_at, key.created_at))

    def retire(self, kid: str, now: datetime, token_lifetime: timedelta, force: bool) -> None:
        """Delete a key that no token still alive can need (any time with *force*)."""
        statuses = {status.key.kid: status for status in key_states(self.load(), now)}
        status = statuses.get(kid)
        if status is None:
            raise KeyRetireRefused(f"no key {kid} in {self.directory}")
        if status.state == "active":
            raise KeyRetireRefused(f"{kid} is the signing key; rotate to a new key first")
        if status.stopped_signing_at is not None and not force:
            safe_from = status.stopped_signing_at + token_lifetime
            if now < safe_from:
                raise KeyRetireRefused(
                    f"{kid} signed tokens that may live until {safe_from.isoformat()}; "
                    "wait until then, or use --force"
                )
        # The metadata goes first: without it the key is incomplete and no process loads it.
        (self.directory / f"{kid}.json").unlink()
        (self.directory / f"{kid}.pem").unlink()

    def version(self) -> int | None:
        """Return a cheap fingerprint of the folder that changes when keys are added or removed."""
        try:
            return self.directory.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _load(self, meta_path: Path) -> SigningKey:
        meta: dict[str, Any] = json.loads(meta_path.read_text())
        loaded = serialization.load_pem_private_key(
            meta_path.with_suffix(".pem").read_bytes(), password=None
        )
        if not isinstance(loaded, PrivateKey):
            raise ValueError(f"{meta_path.name}: unsupported key type {type(loaded).__name__}")
        public = public_key(_public_of(loaded))
        if public.kid != meta["kid"] or public.alg != meta["alg"]:
            raise ValueError(f"{meta_path.name}: kid or alg does not match the key file")
        return SigningKey(
            loaded,
            public,
            datetime.fromisoformat(meta["created_at"]),
            datetime.fromisoformat(meta["activates_at"]),
        )

    def _write_private(self, name: str, data: bytes) -> None:
        # Write beside, then rename: readers never see half a key, and the mode is 0600 from birth.
        temporary = self.directory / f".{name}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.directory / name)


def _public_of(private_key: PrivateKey) -> PublicKeyType:
    return private_key.public_key()


class KeyRing:
    """The keys of one process, loaded once and reloaded only when the folder changes."""

    def __init__(self, store: KeyStore, clock_seconds: Any = time.monotonic) -> None:
        self._store = store
        self._monotonic = clock_seconds
        self._lock = threading.Lock()
        self._keys: list[SigningKey] = []
        self._by_kid: dict[str, SigningKey] = {}
        self._version: int | None = None
        self._checked_at: float | None = None

    def signing_key(self, now: datetime) -> SigningKey:
        """Return the key that signs at *now*: the most recently activated one."""
        active = [key for key in self._current() if key.activates_at <= now]
        if not active:
            raise NoSigningKey("no signing key is active; run: flask --app auth_service keys init")
        return active[-1]

    def check(self, now: datetime) -> None:
        """Raise NoSigningKey unless a key can sign at *now* (the readiness check)."""
        self.signing_key(now)

    def key_for(self, kid: str) -> PublicKey | None:
        """Return the public key with this kid (any published key verifies)."""
        self._current()
        key = self._by_kid.get(kid)
        return key.public if key else None

    def private_keys(self) -> list[SigningKey]:
        """Return every loaded key, private half included (for keys derived from them)."""
        return list(self._current())

    def public_keys(self) -> list[PublicKey]:
        """Return every published public key."""
        return [key.public for key in self._current()]

    def _current(self) -> list[SigningKey]:
        now = self._monotonic()
        if self._checked_at is not None and now - self._checked_at < RELOAD_INTERVAL_SECONDS:
            return self._keys
        with self._lock:
            version = self._store.version()
            if self._checked_at is None or version != self._version:
                self._keys = self._store.load(skip_unreadable=True)
                self._by_kid = {key.kid: key for key in self._keys}
                self._version = version
            self._checked_at = now
        return self._keys
