"""The start-up warning for plain HTTP beyond loopback."""

from __future__ import annotations

import pytest

from shared.config import ConfigError, behind_tls_proxy
from shared.plain_http import exposed_addresses, plain_http_warning


def test_loopback_and_unix_socket_binds_expose_nothing() -> None:
    assert exposed_addresses([("127.0.0.1", 8001), ("::1", 8001), ("localhost", 8001)]) == []
    assert exposed_addresses(["/run/tokenpair.sock"]) == []


def test_wildcard_and_public_binds_are_exposed() -> None:
    exposed = exposed_addresses([("0.0.0.0", 8001), ("::", 8002), ("api.example", 80)])
    assert exposed == ["0.0.0.0:8001", "[::]:8002", "api.example:80"]


def test_plain_http_on_a_public_bind_is_warned_about_naming_the_address() -> None:
    warning = plain_http_warning([("0.0.0.0", 8001)], certfile=None, behind_proxy=False)
    assert warning is not None
    assert "0.0.0.0:8001" in warning and "GUNICORN_BEHIND_TLS_PROXY=1" in warning


def test_no_warning_on_loopback_with_a_certificate_or_behind_a_tls_proxy() -> None:
    public = [("0.0.0.0", 8001)]
    assert plain_http_warning([("127.0.0.1", 8001)], certfile=None, behind_proxy=False) is None
    assert plain_http_warning(public, certfile="/tls/cert.pem", behind_proxy=False) is None
    assert plain_http_warning(public, certfile=None, behind_proxy=True) is None


@pytest.mark.parametrize(("raw", "expected"), [("", False), ("0", False), ("1", True)])
def test_the_behind_proxy_flag_is_0_or_1(raw: str, expected: bool) -> None:
    assert behind_tls_proxy(raw) is expected


@pytest.mark.parametrize("raw", ["yes", "true", "2"])
def test_any_other_behind_proxy_value_stops_start_up_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="GUNICORN_BEHIND_TLS_PROXY"):
        behind_tls_proxy(raw)
