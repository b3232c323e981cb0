"""Start gunicorn for one service: ``python -m shared.serve auth_service --bind 0.0.0.0:8001``.

gunicorn parses ``WEB_CONCURRENCY`` while it is being imported, before shared/gunicorn_conf.py
runs, so ``WEB_CONCURRENCY=abc gunicorn ...`` ends in gunicorn's own traceback. This launcher
checks the process settings first (one line naming the variable, exit status 4) and then
becomes gunicorn, with shared/gunicorn_conf.py and the service's factory; the other arguments
are gunicorn's. The Dockerfile, docker-compose.yml and ``dev.py up`` start the services with it.
"""

from __future__ import annotations

import os
import sys

from shared.config import ProcessSettings, exit_on_config_error

SERVICES = ("auth_service", "resource_service")
USAGE = "python -m shared.serve auth_service|resource_service [gunicorn options]"


def gunicorn_argv(service: str, options: list[str]) -> list[str]:
    """Return the ``python -m gunicorn`` command line that serves *service*'s factory."""
    return [
        sys.executable, "-m", "gunicorn", "--config", "python:shared.gunicorn_conf", *options,
        f"{service}:create_app()",
    ]  # fmt: skip


def main(argv: list[str]) -> None:
    """Check the process settings, then replace this process with gunicorn (same pid)."""
    if not argv or argv[0] not in SERVICES:
        print(
            f"shared.serve: the first argument must name the service; usage: {USAGE}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    with exit_on_config_error("gunicorn"):
        ProcessSettings.from_env(os.environ)
    command = gunicorn_argv(argv[0], argv[1:])
    os.execv(command[0], command)  # signals reach gunicorn's master directly, as with `exec`


if __name__ == "__main__":
    main(sys.argv[1:])
