"""HTTP views of the resource service: every one behind a verified access token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import delete, select

from resource_service.extensions import db
from resource_service.models import Note
from shared.bearer import current_token, require_token
from shared.errors import ApiError
from shared.payload import json_object, storable, string_field

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_NOTE_LENGTH = 10_000
CLOCK_EXTENSION = "tokenpair.clock"


@bp.get("/me")
@require_token()
def me() -> Response:
    token = current_token()
    expires_at = datetime.fromtimestamp(token.expires_at, UTC).isoformat()
    return jsonify(sub=token.sub, scope=token.scope, expires_at=expires_at)


@bp.get("/notes")
@require_token("notes:read")
def list_notes() -> Response:
    notes = db.session.scalars(
        select(Note).where(Note.owner == current_token().sub).order_by(Note.created_at, Note.id)
    )
    return jsonify(notes=[note.to_json() for note in notes])


@bp.post("/notes")
@require_token("notes:write")
def create_note() -> tuple[Response, int]:
    text = string_field(json_object(), "text")
    assert text is not None
    if not text.strip() or len(text) > MAX_NOTE_LENGTH:
        raise ApiError(f'"text" must be 1-{MAX_NOTE_LENGTH} characters and not blank')
    note = Note(
        id=uuid.uuid4().hex,
        owner=current_token().sub,
        text=text,
        created_at=current_app.extensions[CLOCK_EXTENSION](),
    )
    db.session.add(note)
    db.session.commit()
    return jsonify(note.to_json()), 201


@bp.get("/notes/<note_id>")
@require_token("notes:read")
def get_note(note_id: str) -> Response:
    if not storable(note_id):  # e.g. %00, which PostgreSQL cannot even compare
        raise ApiError("No such note", status=404, code="not_found")
    note = db.session.scalar(
        select(Note).where(Note.id == note_id, Note.owner == current_token().sub)
    )
    if note is None:  # someone else's note is "not found" too: no oracle for ids
        raise ApiError("No such note", status=404, code="not_found")
    return jsonify(note.to_json())


@bp.delete("/notes/<note_id>")
@require_token("notes:write")
def delete_note(note_id: str) -> tuple[str, int]:
    if not storable(note_id):  # e.g. %00, which PostgreSQL cannot even compare
        raise ApiError("No such note", status=404, code="not_found")
    deleted = db.session.execute(
        delete(Note).where(Note.id == note_id, Note.owner == current_token().sub)
    )
    db.session.commit()
    if deleted.rowcount == 0:  # type: ignore[attr-defined]
        raise ApiError("No such note", status=404, code="not_found")
    return "", 204
