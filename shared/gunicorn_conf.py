"""Gunicorn settings both services run with, in the quickstart, the e2e tests and containers.

    gunicorn -c python:shared.gunicorn_conf --bind 0.0.0.0:8001 'auth_service:create_app()'

Workers and threads come from the environment, so one image scales per deployment.
"""

import importlib
import os
import sys
import tempfile

from shared.config import ProcessSettings, exit_on_config_error
from shared.gunicorn_http import harden_gunicorn

# A bad value stops gunicorn here with one line naming the variable (exit 4), before it binds.
with exit_on_config_error("gunicorn"):
    _process = ProcessSettings.from_env(os.environ)

# Workers are processes: the CPU-bound work (argon2id, RSA signing) scales with them. Each has a
# few threads so that a client stalling in the middle of its request holds one thread, not the
# whole worker (a sync worker would freeze until `timeout`); behind the proxy no stalled body
# reaches gunicorn at all.
worker_class = "gthread"
workers = _process.workers
threads = _process.threads
timeout = _process.timeout
# On SIGTERM, finish in-flight requests for up to this long before exiting.
graceful_timeout = _process.graceful_timeout
keepalive = 5
# gunicorn >= 25.1 opens a control socket for `gunicornc` at one path per user, so the second
# service on a host would take over the first one's. Both are run with signals instead.
control_socket_disable = True
# The apps log one JSON line per request themselves (with the request id); gunicorn's own
# access log would repeat it in another shape.
accesslog = None
errorlog = "-"

# gunicorn's own lines (start, worker boot and exit) in the same JSON shape as the apps' lines,
# through the same redaction filter: its "Invalid request" warnings quote what the client sent.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "shared.redaction.RedactSecrets"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "static_fields": {"service": "gunicorn"},
        }
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
            "filters": ["redact"],
        }
    },
    "loggers": {
        "gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        # Off (see accesslog): its format writes the request line with the query string.
        "gunicorn.access": {"handlers": [], "propagate": False, "filters": ["redact"]},
    },
    # The apps attach their own JSON handler to the root logger (shared/observability.py).
    "root": {"level": "INFO", "handlers": []},
}

# Prometheus: every worker writes its samples here and /metrics adds them up. A fresh
# folder per start, so counters of a previous run never leak in.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="tokenpair-metrics-")


def check_service_settings(app_uri: str) -> None:
    """Read the settings of the service *app_uri* serves; a bad one ends gunicorn (exit 4)."""
    from shared.metrics_listener import metrics_address

    package = app_uri.split(":")[0].split(".")[0]
    settings = importlib.import_module(f"{package}.settings")
    with exit_on_config_error(package):
        settings.Settings.from_env(os.environ)
        metrics_address(os.environ)


def _warn_about_plain_http(server: object) -> None:
    from shared.plain_http import plain_http_warning

    warning = plain_http_warning(
        server.cfg.address,  # type: ignore[attr-defined]
        certfile=server.cfg.certfile,  # type: ignore[attr-defined]
        behind_proxy=_process.behind_tls_proxy,
    )
    if warning:
        server.log.warning(warning)  # type: ignore[attr-defined]


def when_ready(server: object) -> None:
    """Serve /metrics from the master on METRICS_ADDRESS, if set: off the API listener."""
    from shared.metrics_listener import metrics_address, serve_metrics

    address = metrics_address(os.environ)
    if isinstance(address, tuple):
        serve_metrics(*address)
        log = server.log  # type: ignore[attr-defined]
        log.info("Serving metrics at: http://%s:%d/metrics", *address)


def post_fork(server: object, worker: object) -> None:
    """No Server banner, and gunicorn's own error answers in the one JSON shape (each worker)."""
    harden_gunicorn()


def _app_on_command_line() -> str | None:
    """Return the WSGI app named on gunicorn's command line (None outside gunicorn)."""
    program = sys.argv[0] if sys.argv else ""
    launcher = os.path.join("gunicorn", "__main__.py")  # python -m gunicorn
    if "gunicorn" not in os.path.basename(program) and not program.endswith(launcher):
        return None
    from gunicorn.config import Config  # gunicorn has loaded it before it reads this file

    args: list[str] = Config().parser().parse_known_args(sys.argv[1:])[0].args
    return args[0] if args else None


# The settings are checked here, as gunicorn reads this file, while the app on its command
# line is known: then a bad one is the only line, before the master logs its start.
_app_uri = _app_on_command_line()
if _app_uri is not None:
    check_service_settings(_app_uri)


def on_starting(server: object) -> None:
    """Check the service's settings once, in the master, before any worker starts.

    A bad setting then stops gunicorn with the one line naming it (exit 4), instead of each
    worker failing on its own (this also covers an app named elsewhere than the command line).
    """
    check_service_settings(server.cfg.wsgi_app or server.app.app_uri)  # type: ignore[attr-defined]
    _warn_about_plain_http(server)


def child_exit(server: object, worker: object) -> None:
    """Drop a dead worker's live gauges from the aggregate."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
