"""gunicorn says so at start-up when it would serve tokens over plain HTTP beyond loopback.

Each case starts the auth service once with tokenpair's gunicorn settings, bound as given,
waits until it answers (always over 127.0.0.1: the traffic stays on loopback, a bind to
0.0.0.0 listens there too) and reads its log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.harness import SETUP_COMMANDS, Service, base_env, free_port
from tests.support import GENEROUS_ADDRESS_LIMITS

WARNING = "serving plain HTTP on"


@dataclass
class BoundService(Service):
    """The auth service bound to *host* instead of the harness's 127.0.0.1."""

    host: str = "127.0.0.1"

    def command(self) -> list[str]:
        command = super().command()
        command[command.index("--bind") + 1] = f"{self.host}:{self.port}"
        return command


def start_log(site: Path, workdir: Path, host: str, extra: dict[str, str]) -> str:
    """Start the auth service bound to *host* with *extra* settings; return its log once ready."""
    workdir.mkdir()
    port = free_port()
    env = {**base_env(site), "AUTH_ISSUER": f"http://127.0.0.1:{port}", **GENEROUS_ADDRESS_LIMITS}
    env.pop("GUNICORN_BEHIND_TLS_PROXY", None)
    env.update(extra)
    service = BoundService("auth", "auth_service", port, env, workdir, workers=1, host=host)
    for args in SETUP_COMMANDS[service.app]:
        service.flask(*args)
    service.start()
    try:
        return service.log_path.read_text(errors="replace")
    finally:
        service.stop()


def test_a_bind_to_every_interface_warns_naming_the_address(site: Path, tmp_path: Path) -> None:
    log = start_log(site, tmp_path / "public", "0.0.0.0", {})

    warnings = [line for line in log.splitlines() if WARNING in line]
    assert len(warnings) == 1, log
    assert "0.0.0.0:" in warnings[0] and "GUNICORN_BEHIND_TLS_PROXY=1" in warnings[0]
    assert '"level": "WARNING"' in warnings[0]


@pytest.mark.parametrize(
    ("host", "extra"),
    [("127.0.0.1", {}), ("0.0.0.0", {"GUNICORN_BEHIND_TLS_PROXY": "1"})],
    ids=["loopback", "behind a TLS proxy"],
)
def test_no_warning_on_loopback_or_behind_a_tls_proxy(
    site: Path, tmp_path: Path, host: str, extra: dict[str, str]
) -> None:
    log = start_log(site, tmp_path / "quiet", host, extra)

    assert "Listening at" in log, log  # the log was read after gunicorn wrote its start
    assert WARNING not in log, log
