"""A small notes service protected by flask-jwt-extended: the recipe (recipe.py) in use.

Configured as tokenpair's resource service is: RESOURCE_JWKS_URL (required), RESOURCE_ISSUER,
RESOURCE_AUDIENCE, RESOURCE_LEEWAY. Run it as
``gunicorn --workers 1 'examples.fje_resource.app:create_app()'`` (one worker: the notes live
in memory here; a real service keeps them in its database).
``recipe=False`` builds the same service with FJE's defaults instead (defaults.py).
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from flask import Flask, jsonify, request
from flask_jwt_extended import JWTManager, get_jwt

from .recipe import JWKS_REFETCH_COOLDOWN, LEEWAY, configure, scoped

MAX_NOTE_LENGTH = 10_000  # characters, as in tokenpair's resource service


def create_app(
    environ: Mapping[str, str] | None = None,
    *,
    recipe: bool = True,
    jwks: jwt.PyJWKClient | None = None,
) -> Flask:
    """The notes API behind FJE: the safe recipe, or (``recipe=False``) FJE's defaults."""
    env = os.environ if environ is None else environ
    issuer = env.get("RESOURCE_ISSUER", "http://localhost:8001")
    audience = env.get("RESOURCE_AUDIENCE", "tokenpair-resource")
    keys = jwks or jwt.PyJWKClient(
        env["RESOURCE_JWKS_URL"], timeout=5, cooldown_duration=JWKS_REFETCH_COOLDOWN
    )
    app = Flask(__name__)
    if recipe:
        leeway = float(env.get("RESOURCE_LEEWAY", LEEWAY))
        configure(app, keys, issuer=issuer, audience=audience, leeway=leeway)
    else:  # what a team writes first: the JWKS key for the token's kid, nothing else
        app.config.update(
            JWT_DECODE_ALGORITHMS=["RS256"],
            JWT_DECODE_ISSUER=issuer,
            JWT_DECODE_AUDIENCE=audience,
            JWT_IDENTITY_CLAIM="sub",
        )
        JWTManager(app).decode_key_loader(lambda header, _: keys.get_signing_key(header["kid"]).key)
    notes: dict[str, dict[str, dict[str, str]]] = {}  # owner (sub) -> id -> note
    lock = threading.Lock()

    def mine() -> dict[str, dict[str, str]]:
        return notes.setdefault(get_jwt()["sub"], {})

    def not_found() -> Any:  # someone else's note is "not found" too: no oracle for ids
        return jsonify(error="not_found", error_description="No such note"), 404

    @app.get("/api/me")
    @scoped()
    def me() -> Any:
        claims = get_jwt()
        expires_at = datetime.fromtimestamp(claims["exp"], UTC).isoformat()
        return jsonify(sub=claims["sub"], scope=claims["scope"], expires_at=expires_at)

    @app.get("/api/notes")
    @scoped("notes:read")
    def list_notes() -> Any:
        with lock:
            return jsonify(notes=list(mine().values()))

    @app.post("/api/notes")
    @scoped("notes:write")
    def create_note() -> Any:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE_LENGTH:
            message = f'"text" must be 1-{MAX_NOTE_LENGTH} characters and not blank'
            return jsonify(error="invalid_request", error_description=message), 400
        note = {"id": uuid.uuid4().hex, "text": text, "created_at": datetime.now(UTC).isoformat()}
        with lock:
            mine()[note["id"]] = note
        return jsonify(note), 201

    @app.get("/api/notes/<note_id>")
    @scoped("notes:read")
    def get_note(note_id: str) -> Any:
        with lock:
            note = mine().get(note_id)
        return not_found() if note is None else jsonify(note)

    @app.delete("/api/notes/<note_id>")
    @scoped("notes:write")
    def delete_note(note_id: str) -> Any:
        with lock:
            note = mine().pop(note_id, None)
        return not_found() if note is None else ("", 204)

    app.add_url_rule("/healthz", "healthz", lambda: {"status": "ok"})
    app.add_url_rule("/readyz", "readyz", lambda: {"status": "ok"})
    return app
