"""Notice a service about to hand out tokens over plain HTTP to other hosts, and say so."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from shared.config import BEHIND_TLS_PROXY


def exposed_addresses(addresses: Iterable[object]) -> list[str]:
    """Return the TCP bind addresses other hosts can reach (not loopback, not a unix socket)."""
    exposed = []
    for address in addresses:
        if not isinstance(address, tuple):
            continue  # a unix socket path: only this host reaches it
        host, port = address[0], address[1]
        if _is_loopback(str(host)):
            continue
        exposed.append(f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}")
    return exposed


def plain_http_warning(
    addresses: Iterable[object], *, certfile: str | None, behind_proxy: bool
) -> str | None:
    """Return the start-up warning for plain HTTP beyond loopback, or None when there is none."""
    if certfile or behind_proxy:
        return None
    exposed = exposed_addresses(addresses)
    if not exposed:
        return None
    return (
        f"serving plain HTTP on {', '.join(exposed)}: passwords and tokens cross the network "
        f"unencrypted; put a TLS-terminating proxy in front (then set {BEHIND_TLS_PROXY}=1) "
        "or bind 127.0.0.1"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: assume other hosts can resolve and reach it
