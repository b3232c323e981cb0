"""Parse JSON request bodies strictly: every bad input is a 400 invalid_request, never a 500."""

from __future__ import annotations

from typing import Any

from flask import request

from shared.errors import ApiError


def json_object() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise 400 invalid_request."""
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nesting deeper than the JSON parser follows is malformed, not a 500
        body = None
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
    if not storable(value):
        raise ApiError(f'"{name}" must be valid Unicode text without NUL characters')
    return value


def storable(value: str) -> bool:
    """Return whether every store can hold *value*: encodable as UTF-8 and free of NUL."""
    # JSON may carry lone surrogates ("\\ud800") and PostgreSQL refuses NUL in text: not 500s.
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in value
