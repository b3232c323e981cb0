"""Web origins (RFC 6454): the exact ``scheme://host[:port]`` strings browsers send in ``Origin``.

Standard library only, like ``shared.config``: both services read their allowed origins with it.
An allowed origin is compared as a whole string, so it is normalised here once (lower case,
the default port dropped) exactly as a browser serialises it; anything else (a path, a
wildcard, userinfo, a trailing slash) stops start-up rather than silently never matching.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from shared.config import ConfigError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def parse_origins(name: str, raw: str | None) -> tuple[str, ...]:
    """Return the comma-separated origins of variable *name*; raise ConfigError for a bad one."""
    if raw is None:
        return ()
    origins = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        origin = serialise(item)
        if origin is None or origin != item.lower():
            raise ConfigError(
                f"{name} must list exact origins such as https://app.example.com or "
                f"http://127.0.0.1:8003 (scheme://host[:port], no path), got {item!r}"
            )
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def origin_of(url: str) -> str | None:
    """Return the origin of an http(s) *url* (its path dropped), or None if it has none."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return serialise(f"{parts.scheme}://{parts.netloc}")


def is_loopback_origin(origin: str) -> bool:
    """Return whether *origin* is on this machine (localhost, 127.0.0.0/8 or [::1])."""
    host = urlsplit(origin).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serialise(value: str) -> str | None:
    """Return *value* as a browser serialises an origin, or None if it is not exactly one."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port that is not a number, or out of range
        return None
    host = parts.hostname
    if (
        parts.scheme.lower() not in _DEFAULT_PORTS
        or not host
        or "*" in host
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
        or value.endswith(("?", "#"))
    ):
        return None
    scheme = parts.scheme.lower()
    if ":" in host:  # IPv6: urlsplit drops the brackets
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"
