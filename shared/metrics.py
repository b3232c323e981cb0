"""Prometheus metrics of both services; /metrics serves them (all gunicorn workers aggregated).

Under gunicorn with ``-c python:shared.gunicorn_conf`` every worker writes its samples to
PROMETHEUS_MULTIPROC_DIR and /metrics aggregates them; without it a worker shows only its own.
"""

from __future__ import annotations

import os

from flask import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

HTTP_REQUESTS = Counter(
    "tokenpair_http_requests_total",
    "HTTP requests answered, by endpoint and status.",
    ["service", "endpoint", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tokenpair_http_request_duration_seconds",
    "Time to answer an HTTP request, by endpoint.",
    ["service", "endpoint"],
)
TOKENS_ISSUED = Counter(
    "tokenpair_tokens_issued_total", "Tokens issued, by kind (access, refresh).", ["kind"]
)
REFRESHES = Counter(
    "tokenpair_refreshes_total",
    "Refresh requests, by outcome (rotated, grace_retry, rejected).",
    ["outcome"],
)
REUSE_DETECTIONS = Counter(
    "tokenpair_refresh_reuse_total",
    "A rotated refresh token presented again: grace_retry, concurrent, or theft (revoked).",
    ["kind"],
)
SESSIONS_REVOKED = Counter(
    "tokenpair_sessions_revoked_total", "Sessions revoked, by reason.", ["reason"]
)
VERIFICATION_FAILURES = Counter(
    "tokenpair_token_verification_failures_total",
    "Access tokens refused, by reason.",
    ["service", "reason"],
)
JWKS_FETCHES = Counter(
    "tokenpair_jwks_fetches_total", "JWKS fetches by the resource service, by outcome.", ["outcome"]
)


def metrics_response() -> Response:
    """Render every metric in the Prometheus text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
