"""The last good key set, kept in the resource database for every worker, replica and restart.

Only JwksKeySource writes here, and only a set that came from the configured JWKS URL and
parsed; it parses what it reads back with the same parser. A failing store never fails a
request: the worker keeps the set it holds, and says so in the log.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from resource_service.keysource import FetchedKeySet
from resource_service.models import StoredKeySet

log = logging.getLogger(__name__)

_TABLE = StoredKeySet.__table__


class DatabaseKeySetStore:
    """A KeySetStore on the resource database (table ``jwks_cache``, one row per JWKS URL)."""

    def __init__(self, db: SQLAlchemy) -> None:
        self._db = db

    def load(self, url: str) -> FetchedKeySet | None:
        """Return the last set saved for *url*, or None when there is none or it is unreadable."""
        query = select(_TABLE.c.document, _TABLE.c.fetched_at, _TABLE.c.max_age).where(
            _TABLE.c.url == url
        )
        try:
            with self._db.engine.connect() as connection:
                row = connection.execute(query).one_or_none()
        except SQLAlchemyError as error:
            log.warning("cannot read the stored key set: %s", type(error).__name__)
            return None
        if row is None:
            return None
        try:
            document = json.loads(row.document)
        except ValueError:
            log.warning("ignored the stored key set: not JSON")
            return None
        return FetchedKeySet(document, row.fetched_at.timestamp(), float(row.max_age))

    def save(self, url: str, fetched: FetchedKeySet) -> None:
        """Keep *fetched* as the set of *url*, unless one fetched later is kept already."""
        engine = self._db.engine
        insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        statement = insert(_TABLE).values(
            url=url,
            document=json.dumps(fetched.document, sort_keys=True),
            fetched_at=datetime.fromtimestamp(fetched.fetched_at, UTC),
            max_age=fetched.max_age,
        )
        # One statement, so concurrent workers never interleave; a slower, older fetch loses.
        statement = statement.on_conflict_do_update(
            index_elements=[_TABLE.c.url],
            set_={
                "document": statement.excluded.document,
                "fetched_at": statement.excluded.fetched_at,
                "max_age": statement.excluded.max_age,
            },
            where=_TABLE.c.fetched_at <= statement.excluded.fetched_at,
        )
        try:
            with engine.begin() as connection:
                connection.execute(statement)
        except SQLAlchemyError as error:
            log.warning("cannot save the fetched key set: %s", type(error).__name__)
