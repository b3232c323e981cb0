"""The refusals of the auth rules; the views map each to one status and error code."""

from __future__ import annotations


class AuthError(Exception):
    """A request the rules refuse; the message is safe to show the client."""


class InvalidRequest(AuthError):
    """Missing, malformed or too weak input."""


class InvalidScope(AuthError):
    """A login asked for a scope this service does not grant."""


class UsernameTaken(AuthError):
    """Registration of a username that exists."""


class InvalidGrant(AuthError):
    """Bad credentials, or a refresh token that is unknown, expired, revoked or reused."""


class InvalidClient(AuthError):
    """Client authentication failed: unknown client, wrong or missing secret (RFC 6749 §5.2)."""


class UnauthorizedClient(AuthError):
    """The client may not use this grant type (a public client asking for client_credentials)."""


class UnsupportedGrantType(AuthError):
    """The token endpoint does not know the grant type (there is no password grant)."""


class SessionNotFound(AuthError):
    """No active session with that id belongs to the caller."""


class Throttled(AuthError):
    """A limit is reached; the request changed nothing. Try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests; try again later")
        self.retry_after = retry_after
