"""The resource store: notes, each owned by the ``sub`` of the token that wrote it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
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
