"""Where the resource service gets its pinned public keys: a file, or the issuer's JWKS URL."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import requests
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from shared.config import ConfigError
from shared.keys import KeyFormatError, PublicKey, parse_jwks, parse_key_set
from shared.metrics import JWKS_FETCHES

log = logging.getLogger(__name__)

Clock = Callable[[], float]

FILE_CHECK_INTERVAL = 1.0  # seconds between looks at the key file's modification time
DEFAULT_JWKS_MAX_AGE = 300.0  # when the JWKS response names no max-age
MAX_JWKS_MAX_AGE = 86_400.0
MIN_REFETCH_INTERVAL = 5.0  # an unknown kid triggers at most one fetch per this many seconds
FETCH_TIMEOUT = (2.0, 3.0)  # connect, read


class FileKeySource:
    """Keys from a PEM public key or a JWKS JSON file, re-read when the file changes."""

    def __init__(self, path: str, clock: Clock = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = clock()
        try:
            self._mtime = os.stat(path).st_mtime_ns
            self._keys = self._read()
        except (OSError, KeyFormatError) as error:
            raise ConfigError(f"RESOURCE_PUBLIC_KEY_FILE ({path}): {error}") from None

    def key_for(self, kid: str) -> PublicKey | None:
        """Return the key with this kid from the current file."""
        self._reload_if_changed()
        return self._keys.get(kid)

    def ready(self) -> None:
        """Raise unless at least one key is loaded."""
        if not self._keys:
            raise RuntimeError("no public keys")

    def _read(self) -> dict[str, PublicKey]:
        with open(self._path, "rb") as file:
            return parse_key_set(file.read())

    def _reload_if_changed(self) -> None:
        now = self._clock()
        if now - self._checked_at < FILE_CHECK_INTERVAL:
            return
        with self._lock:
            self._checked_at = now
            try:
                mtime = os.stat(self._path).st_mtime_ns
                if mtime != self._mtime:
                    self._keys, self._mtime = self._read(), mtime
                    log.info("reloaded public keys from file: %s", sorted(self._keys))
            except (OSError, KeyFormatError) as error:
                # A half-written or vanished file must not take verification down: keep the old set.
                log.warning("kept previous public keys; cannot read key file: %s", error)


class JwksKeySource:
    """Keys fetched from the issuer's JWKS URL: lazily, cached, and refreshed within limits.

    The set is cached for the response's max-age. An unknown kid causes a re-fetch at most
    once per MIN_REFETCH_INTERVAL (a forged kid cannot make us hammer the issuer). If the
    issuer is unreachable the cached set keeps serving.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = time.monotonic,
        fetch: Callable[[str], requests.Response] | None = None,
    ) -> None:
        self._url = url
        self._clock = clock
        self._fetch = fetch or _http_get
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] | None = None
        self._expires_at = 0.0
        self._attempted_at: float | None = None

    def key_for(self, kid: str) -> PublicKey | None:
        """Return the pinned key with this kid, re-fetching the set if it is stale or lacks it."""
        keys = self._keys
        now = self._clock()
        if keys is None or now >= self._expires_at or kid not in keys:
            keys = self._refresh(now)
        return keys.get(kid) if keys else None

    def ready(self) -> None:
        """Raise unless a key set is loaded (fetching it if needed)."""
        if not self._keys and not self._refresh(self._clock()):
            raise RuntimeError("no public keys fetched yet")

    def _refresh(self, now: float) -> dict[str, PublicKey] | None:
        with self._lock:
            recently = self._attempted_at is not None and now - self._attempted_at < (
                MIN_REFETCH_INTERVAL
            )
            if recently:
                return self._keys
            self._attempted_at = now
            try:
                response = self._fetch(self._url)
                response.raise_for_status()
                self._keys = parse_jwks(response.json())
            except (requests.RequestException, ValueError) as error:
                JWKS_FETCHES.labels("error").inc()
                log.warning(
                    "JWKS fetch failed, keeping %s cached keys: %s", _count(self._keys), error
                )
                return self._keys
            JWKS_FETCHES.labels("ok").inc()
            self._expires_at = now + _max_age(response.headers.get("Cache-Control"))
            log.info("fetched JWKS: %s", sorted(self._keys))
            return self._keys


def _http_get(url: str) -> requests.Response:
    return requests.get(url, timeout=FETCH_TIMEOUT, headers={"Accept": "application/json"})


def _max_age(header: str | None) -> float:
    cache_control = parse_cache_control_header(header, cls=ResponseCacheControl)
    if cache_control.no_store or cache_control.no_cache:
        return MIN_REFETCH_INTERVAL
    max_age = cache_control.max_age
    if max_age is None:
        return DEFAULT_JWKS_MAX_AGE
    return min(max(float(max_age), MIN_REFETCH_INTERVAL), MAX_JWKS_MAX_AGE)


def _count(keys: dict[str, PublicKey] | None) -> int:
    return len(keys) if keys else 0
