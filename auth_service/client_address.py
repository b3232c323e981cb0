"""The client address the throttles count by: the peer, or a hop of X-Forwarded-For we trust.

Werkzeug's ProxyFix takes the same hop but rewrites REMOTE_ADDR for the whole app without
checking it is an address; this keeps the peer intact, refuses a malformed hop, and counts
an IPv6 client by its /64 (one subscriber's network), which ProxyFix has no notion of.
"""

from __future__ import annotations

import ipaddress

from auth_service.errors import InvalidRequest

IPV6_PREFIX = 64  # one customer network: a client there can pick any of 2**64 addresses


def client_address(peer: str | None, forwarded_for: list[str], trusted_proxies: int) -> str:
    """Return the address to count a request by.

    With *trusted_proxies* = N, each of N proxies appended the address it received from, so
    the client is the N-th entry from the right of X-Forwarded-For. Entries further left were
    written by the client and are never read; with fewer than N entries the request did not
    pass every proxy, and the peer is the client.
    """
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    if trusted_proxies == 0 or len(hops) < trusted_proxies:
        return _bucket(peer) or (peer or "unknown")
    chosen = _bucket(hops[-trusted_proxies])
    if chosen is None:
        raise InvalidRequest("X-Forwarded-For must list IP addresses")
    return chosen


def _bucket(text: str | None) -> str | None:
    """Return the canonical form of an IP address (an IPv6 one as its /64), or None."""
    if not text:
        return None
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:443"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, IPV6_PREFIX), strict=False))
    return str(address)
