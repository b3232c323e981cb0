"""HTTP clients that send from a chosen loopback address: distinct clients, no forged headers."""

from __future__ import annotations

import os
import socket
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

REQUIRED = os.environ.get("TOKENPAIR_REQUIRE_LOOPBACK_ALIASES") == "1"


class SourceAddressAdapter(HTTPAdapter):
    """Bind every connection's client socket to *address* (any of 127.0.0.0/8 on Linux)."""

    def __init__(self, address: str, **kwargs: Any) -> None:
        self._source = (address, 0)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = self._source  # passed on to urllib3's connection pools
        super().init_poolmanager(*args, **kwargs)


def client_from(address: str) -> requests.Session:
    """Return a requests session whose connections all come from *address*."""
    session = requests.Session()
    adapter = SourceAddressAdapter(address)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def require_loopback_address(address: str) -> None:
    """Skip (or fail, when TOKENPAIR_REQUIRE_LOOPBACK_ALIASES=1) unless *address* can be bound.

    Linux routes all of 127.0.0.0/8 to the loopback interface; macOS has only 127.0.0.1 until
    ``sudo ifconfig lo0 alias <address>``.
    """
    try:
        with socket.socket() as probe:
            probe.bind((address, 0))
    except OSError as error:
        reason = f"cannot send from {address} ({error.strerror}): add it to the loopback interface"
        if REQUIRED:
            pytest.fail(f"{reason} (TOKENPAIR_REQUIRE_LOOPBACK_ALIASES=1 makes it mandatory)")
        pytest.skip(reason)
