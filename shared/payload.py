"""Parse JSON request bodies strictly: every bad input is a 400 invalid_request, never a 500."""

from __future__ import annotations

from typing import Any

from flask import request

from shared.errors import ApiError


def json_object() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise 400 invalid_request."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("The body must be a JSON object sent with Content-Type: application/json")
    return body


def string_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    """Return body[name] as a string; raise 400 when required and missing, or not a string."""
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(f'"{name}" is required')
        return None
    if not isinstance(value, str):
        raise ApiError(f'"{name}" must be a string')
    return value
