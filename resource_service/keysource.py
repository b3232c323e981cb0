"""Where the resource service gets its pinned public keys: a file, or the issuer's JWKS URL."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import parse_cache_control_header

from shared.bearer import KeysUnavailable
from shared.config import ConfigError
from shared.keys import KeyFormatError, PublicKey, jwks_document, parse_jwks, parse_key_set
from shared.metrics import JWKS_FETCHES

log = logging.getLogger(__name__)

Clock = Callable[[], float]

FILE_CHECK_INTERVAL = 1.0  # seconds between looks at the key file's modification time
DEFAULT_JWKS_MAX_AGE = 300.0  # when the JWKS response names no max-age
MAX_JWKS_MAX_AGE = 86_400.0
MIN_REFETCH_INTERVAL = 5.0  # an unknown kid triggers at most one fetch per this many seconds
FETCH_TIMEOUT = (2.0, 3.0)  # connect, read
DEFAULT_MAX_STALE = 86_400.0  # RESOURCE_JWKS_MAX_STALE: how old a set may be and still verify


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


@dataclass(frozen=True)
class FetchedKeySet:
    """A key set as fetched from the configured JWKS URL, when, and for how long it is fresh."""

    document: Any  # JWKS JSON; only keys that parsed are ever saved, and it is parsed again on load
    fetched_at: float  # wall-clock seconds: other processes compare it with their own clock
    max_age: float


class KeySetStore(Protocol):
    """Where the last good key set outlives a worker: every worker and a restart find it there."""

    def load(self, url: str) -> FetchedKeySet | None:
        """Return the last set saved for *url*, or None (also when the store cannot be read)."""
        ...

    def save(self, url: str, fetched: FetchedKeySet) -> None:
        """Keep *fetched* for *url* unless a newer set is kept; never raise."""
        ...


@dataclass(frozen=True)
class _Pinned:
    keys: dict[str, PublicKey]
    fetched_at: float
    fresh_until: float  # until then the set is complete: a kid it lacks is not the issuer's


class JwksKeySource:
    """Keys fetched from the issuer's JWKS URL: lazily, cached, and refreshed within limits.

    The set is fresh for the response's max-age. An unknown kid causes a re-fetch at most
    once per MIN_REFETCH_INTERVAL (a forged kid cannot make us hammer the issuer). Every
    fetched set is saved to the *store*; when a fetch fails, the newest set known (this
    worker's, or the store's) keeps verifying until it is *max_stale* seconds old. Without
    any such set, or for a kid a stale set lacks, it raises KeysUnavailable: it cannot tell
    a good token from a bad one, so it must not call the token invalid.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock = time.time,
        fetch: Callable[[str], requests.Response] | None = None,
        store: KeySetStore | None = None,
        max_stale: float = DEFAULT_MAX_STALE,
    ) -> None:
        self._url = url
        self._clock = clock
        self._fetch = fetch or _http_get
        self._store = store
        self._max_stale = max_stale
        self._lock = threading.Lock()
        self._pinned: _Pinned | None = None
        self._attempted_at: float | None = None

    def key_for(self, kid: str) -> PublicKey | None:
        """Return the pinned key with this kid, None if there is none, or raise KeysUnavailable."""
        now = self._clock()
        pinned = self._pinned
        if pinned is None or now >= pinned.fresh_until or kid not in pinned.keys:
            pinned = self._refresh(now)
        if pinned is None or not self._usable(pinned, now):
            raise self._unavailable(now)
        key = pinned.keys.get(kid)
        if key is None and now >= pinned.fresh_until:
            # The issuer is unreachable and the set may predate a rotation: a forged kid and
            # a key published since look alike, and a 401 would log an honest client out.
            raise self._unavailable(now)
        return key

    def ready(self) -> None:
        """Raise KeysUnavailable unless a usable key set is at hand (fetching it if needed)."""
        now = self._clock()
        pinned = self._pinned
        if pinned is None or not self._usable(pinned, now):
            pinned = self._refresh(now)
        if pinned is None or not self._usable(pinned, now):
            raise self._unavailable(now)

    def _usable(self, pinned: _Pinned, now: float) -> bool:
        # Stale is better than nothing while the issuer is down (a key stops verifying only
        # when it is retired), but only for so long: a retired key must not live forever.
        return now < max(pinned.fresh_until, pinned.fetched_at + self._max_stale)

    def _unavailable(self, now: float) -> KeysUnavailable:
        next_attempt = (self._attempted_at or now) + MIN_REFETCH_INTERVAL
        return KeysUnavailable(retry_after=max(1, math.ceil(next_attempt - now)))

    def _refresh(self, now: float) -> _Pinned | None:
        with self._lock:
            recently = self._attempted_at is not None and now - self._attempted_at < (
                MIN_REFETCH_INTERVAL
            )
            if recently:
                if self._pinned is None or not self._usable(self._pinned, now):
                    # Waiting out the refetch interval with nothing usable: another worker
                    # may have fetched since, and its set is in the store.
                    self._pinned = _newest(self._pinned, self._stored())
                return self._pinned
            self._attempted_at = now
            try:
                response = self._fetch(self._url)
                response.raise_for_status()
                keys = parse_jwks(response.json())
            except (requests.RequestException, ValueError) as error:
                JWKS_FETCHES.labels("error").inc()
                self._pinned = _newest(self._pinned, self._stored())
                log.warning("JWKS fetch failed; %s: %s", self._describe(now), error)
                return self._pinned
            JWKS_FETCHES.labels("ok").inc()
            max_age = _max_age(response.headers.get("Cache-Control"))
            self._pinned = _Pinned(keys, now, now + max_age)
            if self._store is not None:
                # Only what parsed, from the configured URL: the store is no more trusted than that.
                document = jwks_document(list(keys.values()))
                self._store.save(self._url, FetchedKeySet(document, now, max_age))
            log.info("fetched JWKS: %s", sorted(keys))
            return self._pinned

    def _stored(self) -> _Pinned | None:
        stored = self._store.load(self._url) if self._store is not None else None
        if stored is None:
            return None
        try:
            keys = parse_jwks(stored.document)  # the same parser as for a fetched set
        except KeyFormatError as error:
            log.warning("ignored the stored key set: %s", error)
            return None
        max_age = min(max(stored.max_age, MIN_REFETCH_INTERVAL), MAX_JWKS_MAX_AGE)
        return _Pinned(keys, stored.fetched_at, stored.fetched_at + max_age)

    def _describe(self, now: float) -> str:
        pinned = self._pinned
        if pinned is None or not self._usable(pinned, now):
            return "no usable key set: requests answer 503 until a fetch succeeds"
        age = round(now - pinned.fetched_at)
        return f"verifying with the {len(pinned.keys)} keys fetched {age} s ago"


def _newest(*candidates: _Pinned | None) -> _Pinned | None:
    present = [pinned for pinned in candidates if pinned is not None]
    return max(present, key=lambda pinned: pinned.fetched_at, default=None)


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
