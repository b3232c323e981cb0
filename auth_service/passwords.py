"""Password hashing with argon2id; unknown users cost the same as wrong passwords.

Each hash or verification holds one of a few slots per process (AUTH_CONCURRENT_HASHES, 1 by
default): argon2id with RFC 9106's parameters already spreads one computation over 4 threads
and 64 MiB, so a second one in the same process only adds memory and contention. Requests
beyond the slots wait their turn, costing neither CPU nor memory while they wait.
"""

from __future__ import annotations

import secrets
import threading
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hash and verify passwords with argon2-cffi's RFC 9106 defaults."""

    def __init__(self, hasher: PasswordHasher | None = None, concurrency: int = 1) -> None:
        self._hasher = hasher or PasswordHasher()
        self._slots = threading.BoundedSemaphore(concurrency)

    def hash(self, password: str) -> str:
        """Return an argon2id hash of *password*."""
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Return whether *password* matches; with no stored hash, spend the same time and fail."""
        with self._slots:
            try:
                return self._hasher.verify(stored_hash or self._dummy_hash, password) and bool(
                    stored_hash
                )
            except (VerificationError, InvalidHashError):
                return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """Return whether the hash was made with weaker parameters than today's."""
        return self._hasher.check_needs_rehash(stored_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(16))
