"""The auth service's settings, read once from the environment and validated together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.config import ConfigError, Env, body_limit
from shared.db import database_url
from shared.keys import SUPPORTED_ALGORITHMS
from shared.observability import LOG_LEVELS
from shared.origins import is_loopback_origin, parse_origins

ALL_SCOPES = ("notes:read", "notes:write")
# The longest throttle window accepted: a counter row is purged once its window has passed.
MAX_WINDOW = 7 * 86_400
# The largest request body by default: a login or registration is a few hundred bytes.
DEFAULT_MAX_BODY_BYTES = 16 * 1024
MAX_CODE_TTL = 60  # seconds an authorization code may live (CONTRACT.md)
MAX_AUTHORIZE_PAGE_TTL = 3600  # seconds a login or approval page may stay usable
MAX_CONCURRENT_HASHES = 64  # argon2id verifications at once per process (64 MiB each)


@dataclass(frozen=True)
class Settings:
    """Everything the auth service can be configured with; see the README for each variable."""

    database_url: str
    keys_dir: str
    issuer: str
    audience: str
    signing_alg: str
    access_token_ttl: int
    refresh_token_ttl: int
    session_max_age: int
    refresh_reuse_grace: int
    login_max_failures: int
    login_failure_window: int
    address_max_login_failures: int
    address_max_logins: int
    address_max_refreshes: int
    address_window: int
    address_max_registrations: int
    registration_window: int
    trusted_proxies: int
    key_activation_delay: int
    jwks_max_age: int
    max_body_bytes: int
    auth_code_ttl: int
    authorize_page_ttl: int
    concurrent_hashes: int
    log_level: str
    browser_origins: tuple[str, ...]
    scopes: tuple[str, ...] = ALL_SCOPES

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and cross-check every AUTH_* variable; raise ConfigError naming the bad one."""
        env = Env(environ)
        settings = cls(
            database_url=database_url(
                "AUTH_DATABASE_URL", env.optional("AUTH_DATABASE_URL"), "auth.db"
            ),
            keys_dir=env.text("AUTH_KEYS_DIR", "./var/keys"),
            issuer=env.text("AUTH_ISSUER", "http://localhost:8001"),
            audience=env.text("AUTH_AUDIENCE", "tokenpair-resource"),
            signing_alg=env.text("AUTH_SIGNING_ALG", "RS256"),
            access_token_ttl=env.integer("AUTH_ACCESS_TOKEN_TTL", 300, minimum=1),
            refresh_token_ttl=env.integer("AUTH_REFRESH_TOKEN_TTL", 1_209_600, minimum=1),
            session_max_age=env.integer("AUTH_SESSION_MAX_AGE", 2_592_000, minimum=1),
            refresh_reuse_grace=env.integer("AUTH_REFRESH_REUSE_GRACE", 10, minimum=0),
            login_max_failures=env.integer("AUTH_LOGIN_MAX_FAILURES", 5, minimum=1),
            login_failure_window=env.integer("AUTH_LOGIN_FAILURE_WINDOW", 300, minimum=1),
            address_max_login_failures=env.integer(
                "AUTH_ADDRESS_MAX_LOGIN_FAILURES", 20, minimum=1
            ),
            address_max_logins=env.integer("AUTH_ADDRESS_MAX_LOGINS", 30, minimum=1),
            address_max_refreshes=env.integer("AUTH_ADDRESS_MAX_REFRESHES", 600, minimum=1),
            address_window=env.integer("AUTH_ADDRESS_WINDOW", 60, minimum=1),
            address_max_registrations=env.integer("AUTH_ADDRESS_MAX_REGISTRATIONS", 20, minimum=1),
            registration_window=env.integer("AUTH_REGISTRATION_WINDOW", 3600, minimum=1),
            trusted_proxies=env.integer("AUTH_TRUSTED_PROXIES", 0, minimum=0),
            key_activation_delay=env.integer("AUTH_KEY_ACTIVATION_DELAY", 600, minimum=0),
            jwks_max_age=env.integer("AUTH_JWKS_MAX_AGE", 300, minimum=0),
            max_body_bytes=body_limit(env, "AUTH_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            # RFC 6749 §4.1.2 recommends at most ten minutes; the contract says at most 60 s.
            auth_code_ttl=env.integer("AUTH_CODE_TTL", 60, minimum=1, maximum=MAX_CODE_TTL),
            authorize_page_ttl=env.integer(
                "AUTH_AUTHORIZE_PAGE_TTL", 600, minimum=60, maximum=MAX_AUTHORIZE_PAGE_TTL
            ),
            concurrent_hashes=env.integer(
                "AUTH_CONCURRENT_HASHES", 1, minimum=1, maximum=MAX_CONCURRENT_HASHES
            ),
            log_level=env.choice("LOG_LEVEL", "INFO", LOG_LEVELS),
            browser_origins=parse_origins(
                "AUTH_BROWSER_ORIGINS", env.optional("AUTH_BROWSER_ORIGINS")
            ),
        )
        settings._check()
        return settings

    def _check(self) -> None:
        if self.signing_alg not in SUPPORTED_ALGORITHMS:
            raise ConfigError(
                f"AUTH_SIGNING_ALG must be one of {', '.join(SUPPORTED_ALGORITHMS)}, "
                f"got {self.signing_alg!r}"
            )
        if self.access_token_ttl >= self.refresh_token_ttl:
            raise ConfigError(
                "AUTH_ACCESS_TOKEN_TTL must be shorter than AUTH_REFRESH_TOKEN_TTL "
                f"({self.access_token_ttl} >= {self.refresh_token_ttl})"
            )
        if self.session_max_age < self.refresh_token_ttl:
            raise ConfigError(
                "AUTH_SESSION_MAX_AGE must be at least AUTH_REFRESH_TOKEN_TTL "
                f"({self.session_max_age} < {self.refresh_token_ttl})"
            )
        if self.key_activation_delay < self.jwks_max_age:
            # Otherwise a verifier holding a cached key set meets tokens of a key it never saw.
            raise ConfigError(
                "AUTH_KEY_ACTIVATION_DELAY must be at least AUTH_JWKS_MAX_AGE "
                f"({self.key_activation_delay} < {self.jwks_max_age})"
            )
        if self.refresh_reuse_grace >= self.refresh_token_ttl:
            raise ConfigError(
                "AUTH_REFRESH_REUSE_GRACE must be shorter than AUTH_REFRESH_TOKEN_TTL"
            )
        if self.address_max_login_failures < self.login_max_failures:
            # Otherwise one username would use up its address's whole budget of failures.
            raise ConfigError(
                "AUTH_ADDRESS_MAX_LOGIN_FAILURES must be at least AUTH_LOGIN_MAX_FAILURES "
                f"({self.address_max_login_failures} < {self.login_max_failures})"
            )
        for origin in self.browser_origins:
            # The refresh cookie is Secure: a plain-HTTP page could never get it back, except
            # on loopback, which browsers treat as potentially trustworthy.
            if origin.startswith("http://") and not is_loopback_origin(origin):
                raise ConfigError(
                    f"AUTH_BROWSER_ORIGINS: {origin} cannot keep the Secure refresh cookie; "
                    "use https:// (http:// only for localhost, 127.0.0.1 or [::1])"
                )
        for name, seconds in (
            ("AUTH_LOGIN_FAILURE_WINDOW", self.login_failure_window),
            ("AUTH_ADDRESS_WINDOW", self.address_window),
            ("AUTH_REGISTRATION_WINDOW", self.registration_window),
        ):
            if seconds > MAX_WINDOW:
                raise ConfigError(f"{name} must be at most {MAX_WINDOW} seconds, got {seconds}")
