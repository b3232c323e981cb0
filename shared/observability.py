"""Structured JSON logs with a request id on every line, an access line per request, audit events.

Nothing here ever logs a header, a body, a query string, a path, a token, a password or a key:
only ids, routes and outcomes. Every record still passes ``shared.redaction.RedactSecrets``.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from shared.config import exit_on_config_error
from shared.metrics import (
    HTTP_LATENCY,
    HTTP_REQUESTS,
    UNMATCHED,
    method_label,
    metrics_response,
)
from shared.metrics_listener import metrics_on_api_port
from shared.redaction import RedactSecrets

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is logged on every line, so it is kept only when it is short: a UUID (36) or a
# trace id (32 hex) fits, a refresh token (43) or an access token does not.
_VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,40}")
_HANDLER_MARK = "_tokenpair_json"

access_log = logging.getLogger("tokenpair.access")
audit_log = logging.getLogger("tokenpair.audit")


def _stamp_request_id(
    factory: Callable[..., logging.LogRecord],
) -> Callable[..., logging.LogRecord]:
    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = g.get("request_id") if has_request_context() else None
        return record

    make_record._tokenpair = True  # type: ignore[attr-defined]
    return make_record


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every log record to stderr as one JSON object; safe to call more than once."""
    # Every record, whichever handler gets it, carries the id of the request it belongs to.
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "_tokenpair", False):
        logging.setLogRecordFactory(_stamp_request_id(factory))
    root = logging.getLogger()
    if any(getattr(handler, _HANDLER_MARK, False) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            static_fields={"service": service},
        )
    )
    handler.addFilter(RedactSecrets())
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
    root.setLevel(level)


def init_observability(app: Flask, service: str) -> None:
    """Request ids, one JSON access line and HTTP metrics per request, and GET /metrics."""
    # METRICS_ADDRESS is a process setting (gunicorn's master may serve /metrics itself).
    with exit_on_config_error(service):
        if metrics_on_api_port(os.environ):
            app.add_url_rule("/metrics", "metrics", metrics_response)

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        elapsed = time.perf_counter() - started if started else 0.0
        # The route, not the path: a client may put anything in a path (a token, by mistake),
        # and both the log and the metric labels stay bounded.
        route = request.url_rule.rule if request.url_rule else UNMATCHED
        method = method_label(request.method)
        HTTP_REQUESTS.labels(service, route, method, response.status_code).inc()
        HTTP_LATENCY.labels(service, route).observe(elapsed)
        access_log.info(
            "request",
            extra={
                "method": method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return response


def audit(event: str, **fields: Any) -> None:
    """Log a security event (login, refresh, reuse, logout, revocation, key change) for routing."""
    audit_log.info(event, extra={"audit": True, "event": event, **fields})
