"""The one error shape of both services: ``{"error": code, "error_description": text}``."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# OAuth-style codes for the HTTP errors Werkzeug raises on its own.
_HTTP_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "invalid_request",
    415: "invalid_request",
}


class ApiError(Exception):
    """An error answer: status, OAuth-style code, human description and optional headers."""

    status = 400
    code = "invalid_request"

    def __init__(
        self,
        description: str,
        *,
        status: int | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description)
        self.description = description
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}


def error_response(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """Build the JSON error response every endpoint uses."""
    response = jsonify(error=code, error_description=description)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    """Map domain errors, HTTP errors and anything unexpected to the one error shape."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.description, error.headers)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "server_error" if status >= 500 else "invalid_request")
        response = error_response(status, code, error.description or error.name)
        if status == 405 and error.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(error.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(PoolTimeoutError)
    def _store_unavailable(error: Exception) -> Response:
        # The database is down or locked: a retryable condition, never a 500 with its details.
        log.warning("store unavailable: %s", type(getattr(error, "orig", error)).__name__)
        return error_response(
            503,
            "temporarily_unavailable",
            "The service's store is unavailable; try again shortly",
            {"Retry-After": "1"},
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return error_response(500, "server_error", "The server failed to answer this request")
