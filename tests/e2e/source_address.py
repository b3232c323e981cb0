"""HTTP clients that send from a chosen loopback address: distinct clients, no forged headers."""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


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
