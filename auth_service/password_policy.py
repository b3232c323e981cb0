"""What a username and a new password must look like (passwords.py hashes them)."""

from __future__ import annotations

import re
import unicodedata

from auth_service.errors import InvalidRequest

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 1024  # argon2 hashes any length; a cap keeps a request's cost bounded


def normalise_username(raw: str) -> str:
    """Return the one spelling of a username: NFKC, surrounding space stripped, case folded.

    ``VICTIM  ``, ``victim`` and fullwidth ``ｖｉｃｔｉｍ`` are one account and one throttle key.
    """
    return unicodedata.normalize("NFKC", raw).strip().casefold()


def check_username(name: str) -> None:
    """Refuse a normalised username outside 3-64 of letters, digits, '.', '_', '-'."""
    if not USERNAME.fullmatch(name):
        raise InvalidRequest(
            "username must be 3-64 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def check_password_length(password: str) -> None:
    """Refuse a password longer than any this service hashes, before any hashing."""
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidRequest(f"password must be at most {PASSWORD_MAX_LENGTH} characters")


def check_new_password(password: str, username: str) -> None:
    """Refuse a new password that is too short, too long, or too weak for *username*."""
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise InvalidRequest(
            f"password must be {PASSWORD_MIN_LENGTH}-{PASSWORD_MAX_LENGTH} characters long"
        )
    if username in password.casefold() or len(set(password)) < 5:
        raise InvalidRequest("password is too weak: avoid the username and repeated characters")
