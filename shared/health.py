"""Liveness (/healthz: the process answers) and readiness (/readyz: its dependencies work)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, Response, jsonify

log = logging.getLogger(__name__)

Check = Callable[[], None]


def health_blueprint(checks: dict[str, Check]) -> Blueprint:
    """Return a blueprint whose /readyz runs each named check; any exception means not ready."""
    blueprint = Blueprint("health", __name__)

    @blueprint.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @blueprint.get("/readyz")
    def readyz() -> tuple[Response, int]:
        results = {}
        for name, check in checks.items():
            try:
                check()
                results[name] = "ok"
            except Exception as error:  # any failure of a dependency means "not ready"
                log.warning("readiness check %s failed: %s", name, type(error).__name__)
                results[name] = "unavailable"
        ready = all(result == "ok" for result in results.values())
        return jsonify(status="ok" if ready else "unavailable", checks=results), (
            200 if ready else 503
        )

    return blueprint
