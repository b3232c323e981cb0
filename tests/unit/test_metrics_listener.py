"""Where /metrics is served (METRICS_ADDRESS), and labels a client cannot multiply."""

from __future__ import annotations

import pytest

from shared.config import ConfigError
from shared.metrics import method_label
from shared.metrics_listener import OFF, metrics_address, metrics_on_api_port


def test_metrics_stay_on_the_api_port_unless_an_address_or_off_is_set() -> None:
    assert metrics_address({}) is None
    assert metrics_address({"METRICS_ADDRESS": "  "}) is None
    assert metrics_on_api_port({})
    assert metrics_address({"METRICS_ADDRESS": "OFF"}) == OFF
    assert not metrics_on_api_port({"METRICS_ADDRESS": "off"})
    assert metrics_address({"METRICS_ADDRESS": "127.0.0.1:9101"}) == ("127.0.0.1", 9101)
    assert metrics_address({"METRICS_ADDRESS": "[::1]:9101"}) == ("::1", 9101)
    assert not metrics_on_api_port({"METRICS_ADDRESS": "10.0.0.5:9101"})


@pytest.mark.parametrize("value", ["9101", ":9101", "localhost", "host:0", "host:65536", "h:x"])
def test_a_malformed_metrics_address_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError, match="METRICS_ADDRESS must be host:port"):
        metrics_address({"METRICS_ADDRESS": value})


def test_known_methods_are_their_own_label_and_every_other_method_is_one() -> None:
    assert [method_label(m) for m in ("GET", "POST", "DELETE", "OPTIONS")] == [
        "GET", "POST", "DELETE", "OPTIONS"
    ]  # fmt: skip
    assert {method_label(m) for m in ("FOO", "PROPFIND", "get", "X" * 20)} == {"other"}
