"""The resource store: notes, each owned by the ``sub`` of the token that wrote it, and the last
good key set fetched from the issuer's JWKS URL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resource_service.extensions import db
from shared.db import UTCDateTime


class Note(db.Model):  # type: ignore[name-defined]
    """A short text owned by one user."""

    __tablename__ = "notes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def to_json(self) -> dict[str, str]:
        """Return the note as the API shows it."""
        return {"id": self.id, "text": self.text, "created_at": self.created_at.isoformat()}


class StoredKeySet(db.Model):  # type: ignore[name-defined]
    """The last key set fetched from a JWKS URL: what every worker verifies with in an outage."""

    __tablename__ = "jwks_cache"

    url: Mapped[str] = mapped_column(Text, primary_key=True)
    document: Mapped[str] = mapped_column(Text)  # JWKS JSON of the keys that parsed
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_age: Mapped[float] = mapped_column(Float)  # seconds it was fresh for, from Cache-Control
