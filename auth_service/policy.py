"""The lifetimes and scopes the session rules enforce, from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from auth_service.errors import InvalidScope
from auth_service.settings import Settings


@dataclass(frozen=True)
class Policy:
    """The lifetimes of sessions and refresh tokens, and the scopes a login may be granted."""

    refresh_ttl: timedelta
    session_max_age: timedelta
    reuse_grace: timedelta
    scopes: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        """Build the policy from validated settings."""
        return cls(
            refresh_ttl=timedelta(seconds=settings.refresh_token_ttl),
            session_max_age=timedelta(seconds=settings.session_max_age),
            reuse_grace=timedelta(seconds=settings.refresh_reuse_grace),
            scopes=settings.scopes,
        )

    def grant(self, requested: str | None) -> str:
        """Return the scopes granted for *requested* (all by default); InvalidScope if unknown."""
        if requested is None:
            return " ".join(self.scopes)
        asked = set(requested.split())
        unknown = asked - set(self.scopes)
        if not asked or unknown:
            raise InvalidScope(
                f"scope must be a space-separated subset of: {' '.join(self.scopes)}"
            )
        return " ".join(scope for scope in self.scopes if scope in asked)
