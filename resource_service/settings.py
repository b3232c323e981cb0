"""The resource service's settings: where its notes live and which public keys it trusts.

Two parts: the store (all a Flask CLI command such as ``db upgrade`` needs, since a migration
job knows only the database URL) and, for serving, the keys that verify access tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from resource_service.keysource import DEFAULT_MAX_STALE
from shared.config import ConfigError, Env, body_limit
from shared.db import database_url
from shared.observability import LOG_LEVELS
from shared.origins import parse_origins

# The largest request body by default: room for the longest note, escaped (10,000 characters).
DEFAULT_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class StoreSettings:
    """What every process of the resource service needs, its Flask CLI commands included."""

    database_url: str
    log_level: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> StoreSettings:
        """Read the store's variables; raise ConfigError naming a bad one."""
        env = Env(environ)
        return StoreSettings(
            database_url=database_url(
                "RESOURCE_DATABASE_URL", env.optional("RESOURCE_DATABASE_URL"), "resource.db"
            ),
            log_level=env.choice("LOG_LEVEL", "INFO", LOG_LEVELS),
        )


@dataclass(frozen=True)
class Settings(StoreSettings):
    """Everything the serving resource service needs; see the README for each variable."""

    public_key_file: str | None
    jwks_url: str | None
    jwks_max_stale: float
    issuer: str
    audience: str
    leeway: float
    cors_origins: tuple[str, ...]
    max_body_bytes: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str], *, key_source_required: bool = True) -> Settings:
        """Read and cross-check every RESOURCE_* variable; raise ConfigError naming the bad one.

        Without *key_source_required* (a Flask CLI command) neither key source needs to be set,
        but whatever is set is checked all the same.
        """
        env = Env(environ)
        settings = cls(
            **asdict(StoreSettings.from_env(environ)),
            public_key_file=env.optional("RESOURCE_PUBLIC_KEY_FILE"),
            jwks_url=env.optional("RESOURCE_JWKS_URL"),
            jwks_max_stale=env.number("RESOURCE_JWKS_MAX_STALE", DEFAULT_MAX_STALE),
            issuer=env.text("RESOURCE_ISSUER", "http://localhost:8001"),
            audience=env.text("RESOURCE_AUDIENCE", "tokenpair-resource"),
            leeway=env.number("RESOURCE_LEEWAY", 5.0),
            cors_origins=parse_origins(
                "RESOURCE_CORS_ORIGINS", env.optional("RESOURCE_CORS_ORIGINS")
            ),
            max_body_bytes=body_limit(env, "RESOURCE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )
        if settings.public_key_file and settings.jwks_url:
            raise ConfigError(
                "RESOURCE_PUBLIC_KEY_FILE and RESOURCE_JWKS_URL are both set; set exactly one"
            )
        if key_source_required and not settings.public_key_file and not settings.jwks_url:
            raise ConfigError(
                "RESOURCE_PUBLIC_KEY_FILE or RESOURCE_JWKS_URL is required: "
                "the public keys that verify access tokens"
            )
        if settings.jwks_url and urlsplit(settings.jwks_url).scheme not in ("http", "https"):
            raise ConfigError("RESOURCE_JWKS_URL must be an http:// or https:// URL")
        if settings.leeway > 300:
            raise ConfigError("RESOURCE_LEEWAY must be at most 300 seconds")
        return settings
