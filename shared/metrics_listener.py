"""Where /metrics is served: ``METRICS_ADDRESS`` (a process setting, like WEB_CONCURRENCY).

- unset: on the API port, as always (put it behind your proxy's deny rule, or use the next two);
- ``off``: nowhere;
- ``host:port`` (e.g. ``127.0.0.1:9101``): only on a listener of its own, run by gunicorn's
  master with prometheus_client's server, and the API port answers /metrics 404. The master
  adds up every worker's samples and still answers while every worker is busy.

Nothing here imports prometheus_client at module level: it picks its multiprocess mode on
import, and gunicorn's master reads this module before PROMETHEUS_MULTIPROC_DIR is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.config import ConfigError

METRICS_ADDRESS = "METRICS_ADDRESS"
OFF = "off"


def metrics_address(environ: Mapping[str, str]) -> tuple[str, int] | str | None:
    """Read METRICS_ADDRESS: None (the API port), ``"off"``, or the (host, port) of a listener."""
    value = environ.get(METRICS_ADDRESS, "").strip()
    if not value:
        return None
    if value.lower() == OFF:
        return OFF
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")  # [::1]:9101
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(
            f"{METRICS_ADDRESS} must be host:port (e.g. 127.0.0.1:9101) or off, got {value!r}"
        )
    return host, int(port)


def metrics_on_api_port(environ: Mapping[str, str] = os.environ) -> bool:
    """Tell whether the API listener serves /metrics: only when METRICS_ADDRESS is unset."""
    return metrics_address(environ) is None


def serve_metrics(host: str, port: int) -> None:
    """Serve every worker's metrics on *host*:*port* from a daemon thread of this process."""
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # reads the workers' files at each scrape
    start_http_server(port, addr=host, registry=registry)
