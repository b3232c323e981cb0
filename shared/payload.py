"""Parse JSON request bodies strictly: each bad input gets its own 400 (or 413), never a 500."""

from __future__ import annotations

import json
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

from shared.errors import ApiError

# How a client reads the type it sent, in JSON's words.
_JSON_TYPES = {list: "an array", str: "a string", bool: "true or false", type(None): "null"}


def json_object() -> dict[str, Any]:
    """Return the request body as a JSON object, or raise 413 or 400 saying what is wrong."""
    if not request.is_json:
        raise ApiError("The body must be JSON sent with Content-Type: application/json")
    try:
        body = json.loads(_body())
    except UnicodeDecodeError:
        raise ApiError("The body is not valid JSON: it is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ApiError(
            f"The body is not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise ApiError("The body is not valid JSON: a value in it is out of range") from None
    except RecursionError:  # nesting deeper than the parser follows is malformed, not a 500
        raise ApiError("The body is not valid JSON: it is nested too deeply") from None
    if not isinstance(body, dict):
        kind = _JSON_TYPES.get(type(body), "a number")
        raise ApiError(f"The body must be a JSON object, not {kind}")
    return body


def _body() -> bytes:
    """Return the raw body, or raise 413 naming the limit, with or without Content-Length."""
    limit = request.max_content_length
    try:
        data = request.get_data(cache=True)
        # Werkzeug ends a chunked body (no Content-Length) silently at the limit, so the
        # rest would be parsed as if it were all: look one byte past it instead.
        if (
            limit is not None
            and len(data) >= limit
            and request.content_length is None
            and request.environ.get("wsgi.input_terminated")
            and request.environ["wsgi.input"].read(1)
        ):
            raise RequestEntityTooLarge()
    except RequestEntityTooLarge:
        raise ApiError(f"The body is larger than the limit of {limit} bytes", status=413) from None
    return data


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
