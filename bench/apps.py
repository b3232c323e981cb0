"""The auth service plus one bench-only endpoint, the baseline the refresh figure is held against.

    gunicorn -c python:shared.gunicorn_conf 'bench.apps:create_auth_app()'

``POST /bench/write`` does one INSERT and one UPDATE in one transaction, through the same
app, engine, pool, middleware and server settings as ``POST /auth/refresh``: the ratio of the
two is what rotation costs beyond the smallest write a request can make. The production
factory never registers it; its table exists only in the bench's databases.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, update

import auth_service
from auth_service.extensions import db
from shared.db import UTCDateTime, utcnow

BENCH_ROWS = 10_000

metadata = MetaData()
# Shaped like refresh_tokens: an integer key, a unique 64-character hash, a timestamp.
bench_writes = Table(
    "bench_writes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("written_at", UTCDateTime, nullable=False),
)

bp = Blueprint("bench", __name__)


@bp.post("/bench/write")
def write() -> Response:
    now = utcnow()
    db.session.execute(
        insert(bench_writes).values(token_hash=secrets.token_hex(32), written_at=now)
    )
    # A random existing row, as a refresh updates its own session's row: no hot spot.
    db.session.execute(
        update(bench_writes)
        .where(bench_writes.c.id == random.randint(1, BENCH_ROWS))
        .values(written_at=now)
    )
    db.session.commit()
    return jsonify(status="ok")


def create_auth_app() -> Flask:
    """Create the production auth service, then add POST /bench/write."""
    app = auth_service.create_app()
    app.register_blueprint(bp)
    return app


def create_bench_table(url: str, now: datetime) -> None:
    """Create bench_writes in the database at *url* with BENCH_ROWS rows to update."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            metadata.create_all(connection)
            # Ids 1..BENCH_ROWS come from the fresh table's own sequence (SERIAL, ROWID).
            connection.execute(
                insert(bench_writes),
                [
                    {"token_hash": secrets.token_hex(32), "written_at": now}
                    for _ in range(BENCH_ROWS)
                ],
            )
    finally:
        engine.dispose()
