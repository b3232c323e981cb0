"""Prometheus metrics of both services; /metrics serves them (all gunicorn workers aggregated).

Under gunicorn with ``-c python:shared.gunicorn_conf`` every worker writes its samples to
PROMETHEUS_MULTIPROC_DIR and /metrics aggregates them; without it a worker shows only its own.
Where /metrics is served is ``shared/metrics_listener.py``'s concern. Every label has a bounded
set of values: a client can never add a series.
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

# The methods the services answer; any other (a client may send any token) is one "other".
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
# Requests that matched no route, whatever their path, count as this one endpoint.
UNMATCHED = "unmatched"

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


def method_label(method: str) -> str:
    """Return *method* if the services know it, else ``other``: the label stays bounded."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


def metrics_registry() -> CollectorRegistry:
    """Return the registry /metrics renders: every worker's samples under gunicorn."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def metrics_response() -> Response:
    """Render every metric in the Prometheus text format."""
    return Response(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)
