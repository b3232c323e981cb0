"""Settings from the environment: contract defaults, and one clear line for every bad value."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import FlaskGroup

import auth_service
import resource_service
from auth_service.settings import Settings as AuthSettings
from resource_service.settings import Settings as ResourceSettings
from resource_service.settings import StoreSettings as ResourceStoreSettings
from shared.config import (
    APP_LOAD_ERROR,
    ConfigError,
    Env,
    ProcessSettings,
    exit_on_config_error,
    loaded_for_a_cli_command,
)

JWKS_URL = "http://localhost:8001/.well-known/jwks.json"
HERE = Path(__file__).resolve().parent


Reader = Callable[[Mapping[str, str]], object]


def config_error(read: Reader, environ: dict[str, str]) -> str:
    with pytest.raises(ConfigError) as caught:
        read(environ)
    return str(caught.value)


# Env ----------------------------------------------------------------------------------------


def test_text_returns_the_value_stripped_of_surrounding_whitespace() -> None:
    assert Env({"NAME": "  value \n"}).text("NAME") == "value"


@pytest.mark.parametrize("environ", [{}, {"NAME": ""}, {"NAME": "   "}])
def test_text_falls_back_to_the_default_when_unset_or_blank(environ: dict[str, str]) -> None:
    assert Env(environ).text("NAME", "fallback") == "fallback"


def test_a_required_text_that_is_unset_fails_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match="^NAME is required but not set$"):
        Env({"NAME": " "}).text("NAME")


@pytest.mark.parametrize(
    ("environ", "expected"), [({}, None), ({"X": " "}, None), ({"X": "a"}, "a")]
)
def test_optional_is_none_when_unset_or_blank(
    environ: dict[str, str], expected: str | None
) -> None:
    assert Env(environ).optional("X") == expected


@pytest.mark.parametrize(("raw", "expected"), [("42", 42), (" 7 ", 7), ("", 3), ("  ", 3)])
def test_an_integer_is_parsed_or_defaulted(raw: str, expected: int) -> None:
    assert Env({"N": raw}).integer("N", 3) == expected


@pytest.mark.parametrize("raw", ["abc", "1.5", "1e3", "0x10", "ten"])
def test_a_non_integer_fails_naming_the_variable_and_the_value(raw: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Env({"N": raw}).integer("N", 3, minimum=1)

    assert str(caught.value) == f"N must be an integer >= 1, got {raw!r}"


def test_an_integer_below_its_minimum_fails_naming_the_variable() -> None:
    with pytest.raises(ConfigError, match=r"^N must be an integer >= 1, got '0'$"):
        Env({"N": "0"}).integer("N", 3, minimum=1)


@pytest.mark.parametrize(("raw", "expected"), [("2.5", 2.5), ("3", 3.0), ("", 5.0)])
def test_a_number_is_parsed_or_defaulted(raw: str, expected: float) -> None:
    assert Env({"F": raw}).number("F", 5.0) == expected


@pytest.mark.parametrize("raw", ["abc", "-0.5", "nan", "-inf"])
def test_a_bad_number_fails_naming_the_variable(raw: str) -> None:
    with pytest.raises(ConfigError, match="^F must be a number >= 0"):
        Env({"F": raw}).number("F", 5.0)


@pytest.mark.parametrize(
    ("raw", "expected"), [("", "INFO"), ("debug", "DEBUG"), (" Error ", "ERROR")]
)
def test_a_choice_is_matched_case_insensitively_or_defaulted(raw: str, expected: str) -> None:
    assert Env({"LEVEL": raw}).choice("LEVEL", "INFO", ("DEBUG", "INFO", "ERROR")) == expected


def test_a_value_outside_the_choices_fails_naming_the_variable_and_the_choices() -> None:
    with pytest.raises(ConfigError, match="^LEVEL must be one of DEBUG, INFO"):
        Env({"LEVEL": "verbose"}).choice("LEVEL", "INFO", ("DEBUG", "INFO"))


@pytest.mark.parametrize("read", [AuthSettings.from_env, ResourceSettings.from_env])
def test_both_services_refuse_an_unknown_log_level(read: Reader) -> None:
    environ = {"RESOURCE_JWKS_URL": JWKS_URL, "LOG_LEVEL": "chatty"}

    assert config_error(read, environ).startswith("LOG_LEVEL")


# exit_on_config_error -----------------------------------------------------------------------


def test_a_config_error_becomes_one_line_on_stderr_and_exit_status_4(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught, exit_on_config_error("auth_service"):
        raise ConfigError("AUTH_ACCESS_TOKEN_TTL must be an integer >= 1, got 'abc'")

    assert caught.value.code == APP_LOAD_ERROR == 4
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "auth_service: configuration error: "
        "AUTH_ACCESS_TOKEN_TTL must be an integer >= 1, got 'abc'\n"
    )


def test_errors_other_than_config_errors_pass_through_unchanged() -> None:
    with pytest.raises(KeyError), exit_on_config_error("auth_service"):
        raise KeyError("not a configuration problem")


def test_a_block_without_errors_runs_normally(capsys: pytest.CaptureFixture[str]) -> None:
    with exit_on_config_error("auth_service"):
        result = 1 + 1

    assert result == 2
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("create_app", "environ", "variable"),
    [
        (auth_service.create_app, {"AUTH_ACCESS_TOKEN_TTL": "abc"}, "AUTH_ACCESS_TOKEN_TTL"),
        (auth_service.create_app, {"AUTH_SIGNING_ALG": "HS256"}, "AUTH_SIGNING_ALG"),
        (resource_service.create_app, {}, "RESOURCE_PUBLIC_KEY_FILE"),
        (resource_service.create_app, {"RESOURCE_JWKS_URL": "ftp://x/"}, "RESOURCE_JWKS_URL"),
    ],
)
def test_an_app_factory_with_a_bad_setting_stops_with_one_line_naming_the_variable(
    capsys: pytest.CaptureFixture[str], create_app: Reader, environ: dict[str, str], variable: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        create_app(environ)

    assert caught.value.code == 4
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert variable in err


# Auth service settings ----------------------------------------------------------------------


def test_the_auth_service_defaults_are_those_of_the_contract() -> None:
    settings = AuthSettings.from_env({})

    assert settings.database_url == f"sqlite:///{os.path.abspath('var/auth.db')}"
    assert settings.keys_dir == "./var/keys"
    assert settings.issuer == "http://localhost:8001"
    assert settings.audience == "tokenpair-resource"
    assert settings.access_token_ttl == 300
    assert settings.refresh_token_ttl == 1_209_600
    assert settings.refresh_reuse_grace == 10
    assert settings.signing_alg == "RS256"
    assert settings.scopes == ("notes:read", "notes:write")


def test_the_auth_service_reads_every_contract_variable() -> None:
    settings = AuthSettings.from_env(
        {
            "AUTH_DATABASE_URL": "postgresql+psycopg://auth@db:5432/auth",
            "AUTH_KEYS_DIR": "/run/keys",
            "AUTH_ISSUER": "https://auth.example",
            "AUTH_AUDIENCE": "notes-api",
            "AUTH_ACCESS_TOKEN_TTL": "60",
            "AUTH_REFRESH_TOKEN_TTL": "3600",
            "AUTH_REFRESH_REUSE_GRACE": "0",
            "AUTH_SIGNING_ALG": "EdDSA",
            "AUTH_TRUSTED_PROXIES": "1",
        }
    )

    assert settings.database_url == "postgresql+psycopg://auth@db:5432/auth"
    assert settings.keys_dir == "/run/keys"
    assert (settings.issuer, settings.audience) == ("https://auth.example", "notes-api")
    assert (settings.access_token_ttl, settings.refresh_token_ttl) == (60, 3600)
    assert settings.refresh_reuse_grace == 0
    assert settings.signing_alg == "EdDSA"
    assert settings.trusted_proxies == 1


@pytest.mark.parametrize("alg", ["RS256", "ES256", "EdDSA"])
def test_every_asymmetric_signing_algorithm_is_accepted(alg: str) -> None:
    assert AuthSettings.from_env({"AUTH_SIGNING_ALG": alg}).signing_alg == alg


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AUTH_ACCESS_TOKEN_TTL", "abc"),
        ("AUTH_ACCESS_TOKEN_TTL", "0"),
        ("AUTH_ACCESS_TOKEN_TTL", "-300"),
        ("AUTH_ACCESS_TOKEN_TTL", "2.5"),
        ("AUTH_REFRESH_TOKEN_TTL", "two weeks"),
        ("AUTH_REFRESH_TOKEN_TTL", "0"),
        ("AUTH_REFRESH_REUSE_GRACE", "-1"),
        ("AUTH_REFRESH_REUSE_GRACE", "ten"),
        ("AUTH_SESSION_MAX_AGE", "forever"),
        ("AUTH_LOGIN_MAX_FAILURES", "0"),
        ("AUTH_LOGIN_FAILURE_WINDOW", "x"),
        ("AUTH_LOGIN_FAILURE_WINDOW", "604801"),
        ("AUTH_ADDRESS_MAX_LOGIN_FAILURES", "0"),
        ("AUTH_ADDRESS_MAX_LOGINS", "0"),
        ("AUTH_ADDRESS_MAX_REFRESHES", "many"),
        ("AUTH_ADDRESS_WINDOW", "0"),
        ("AUTH_ADDRESS_WINDOW", "604801"),
        ("AUTH_ADDRESS_MAX_REGISTRATIONS", "-1"),
        ("AUTH_REGISTRATION_WINDOW", "1h"),
        ("AUTH_REGISTRATION_WINDOW", "604801"),
        ("AUTH_TRUSTED_PROXIES", "-1"),
        ("AUTH_TRUSTED_PROXIES", "yes"),
        ("AUTH_KEY_ACTIVATION_DELAY", "-1"),
        ("AUTH_CODE_TTL", "0"),
        ("AUTH_CODE_TTL", "61"),
        ("AUTH_CODE_TTL", "a minute"),
        ("AUTH_AUTHORIZE_PAGE_TTL", "59"),
        ("AUTH_AUTHORIZE_PAGE_TTL", "3601"),
        ("AUTH_CONCURRENT_HASHES", "0"),
        ("AUTH_CONCURRENT_HASHES", "65"),
        ("AUTH_CONCURRENT_HASHES", "all"),
        ("AUTH_SIGNING_ALG", "HS256"),
        ("AUTH_SIGNING_ALG", "none"),
        ("AUTH_SIGNING_ALG", "rs256"),
        ("AUTH_SIGNING_ALG", "RS512"),
        ("AUTH_DATABASE_URL", "not a url"),
        ("AUTH_DATABASE_URL", "mysql://user@db/auth"),
        ("AUTH_DATABASE_URL", "/var/lib/auth.db"),
    ],
)
def test_a_bad_auth_setting_is_refused_naming_its_variable(variable: str, value: str) -> None:
    message = config_error(AuthSettings.from_env, {variable: value})

    assert message.startswith(variable)


@pytest.mark.parametrize(("access", "refresh"), [("600", "600"), ("3600", "600")])
def test_an_access_token_that_outlives_its_refresh_token_is_refused(
    access: str, refresh: str
) -> None:
    message = config_error(
        AuthSettings.from_env,
        {"AUTH_ACCESS_TOKEN_TTL": access, "AUTH_REFRESH_TOKEN_TTL": refresh},
    )

    assert "AUTH_ACCESS_TOKEN_TTL" in message and "AUTH_REFRESH_TOKEN_TTL" in message


def test_a_session_max_age_shorter_than_the_refresh_ttl_is_refused() -> None:
    message = config_error(
        AuthSettings.from_env, {"AUTH_SESSION_MAX_AGE": "3600", "AUTH_REFRESH_TOKEN_TTL": "7200"}
    )

    assert message.startswith("AUTH_SESSION_MAX_AGE")


def test_the_auth_service_limits_default_to_the_documented_numbers() -> None:
    settings = AuthSettings.from_env({})

    assert (settings.login_max_failures, settings.login_failure_window) == (5, 300)
    assert settings.address_max_login_failures == 20
    assert (settings.address_max_logins, settings.address_max_refreshes) == (30, 600)
    assert settings.address_window == 60
    assert (settings.address_max_registrations, settings.registration_window) == (20, 3600)
    assert settings.trusted_proxies == 0


def test_an_authorization_code_lives_60_seconds_by_default_and_1_to_60_when_set() -> None:
    assert AuthSettings.from_env({}).auth_code_ttl == 60
    assert AuthSettings.from_env({"AUTH_CODE_TTL": "1"}).auth_code_ttl == 1
    assert AuthSettings.from_env({"AUTH_CODE_TTL": "30"}).auth_code_ttl == 30


def test_a_login_or_approval_page_lives_600_seconds_by_default_and_60_to_3600_when_set() -> None:
    assert AuthSettings.from_env({}).authorize_page_ttl == 600
    assert AuthSettings.from_env({"AUTH_AUTHORIZE_PAGE_TTL": "60"}).authorize_page_ttl == 60
    assert AuthSettings.from_env({"AUTH_AUTHORIZE_PAGE_TTL": "3600"}).authorize_page_ttl == 3600


def test_fewer_failures_per_address_than_per_username_is_refused_naming_both() -> None:
    message = config_error(
        AuthSettings.from_env,
        {"AUTH_LOGIN_MAX_FAILURES": "10", "AUTH_ADDRESS_MAX_LOGIN_FAILURES": "5"},
    )

    assert message.startswith("AUTH_ADDRESS_MAX_LOGIN_FAILURES")
    assert "AUTH_LOGIN_MAX_FAILURES" in message


def test_a_reuse_grace_as_long_as_the_refresh_ttl_is_refused() -> None:
    message = config_error(
        AuthSettings.from_env,
        {
            "AUTH_ACCESS_TOKEN_TTL": "10",
            "AUTH_REFRESH_TOKEN_TTL": "60",
            "AUTH_REFRESH_REUSE_GRACE": "60",
        },
    )

    assert message.startswith("AUTH_REFRESH_REUSE_GRACE")


# Resource service settings ------------------------------------------------------------------


def test_the_resource_service_defaults_are_those_of_the_contract() -> None:
    settings = ResourceSettings.from_env({"RESOURCE_PUBLIC_KEY_FILE": "/keys/public.pem"})

    assert settings.database_url == f"sqlite:///{os.path.abspath('var/resource.db')}"
    assert settings.public_key_file == "/keys/public.pem"
    assert settings.jwks_url is None
    assert settings.issuer == "http://localhost:8001"
    assert settings.audience == "tokenpair-resource"
    assert settings.leeway == 5.0
    assert settings.jwks_max_stale == 86_400


def test_the_resource_service_reads_how_long_a_stale_key_set_may_verify() -> None:
    settings = ResourceSettings.from_env(
        {"RESOURCE_JWKS_URL": JWKS_URL, "RESOURCE_JWKS_MAX_STALE": "0"}
    )

    assert settings.jwks_max_stale == 0


def test_the_store_settings_need_neither_a_key_file_nor_a_jwks_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/r.db"

    settings = ResourceStoreSettings.from_env({"RESOURCE_DATABASE_URL": url})

    assert settings == ResourceStoreSettings(database_url=url, log_level="INFO")


def test_a_cli_command_needs_no_key_source() -> None:
    settings = ResourceSettings.from_env({}, key_source_required=False)

    assert (settings.public_key_file, settings.jwks_url) == (None, None)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        (
            {"RESOURCE_PUBLIC_KEY_FILE": "/keys/public.pem", "RESOURCE_JWKS_URL": JWKS_URL},
            "RESOURCE_PUBLIC_KEY_FILE",
        ),
        ({"RESOURCE_JWKS_URL": "ftp://auth.example/jwks.json"}, "RESOURCE_JWKS_URL"),
        ({"RESOURCE_LEEWAY": "301"}, "RESOURCE_LEEWAY"),
    ],
)
def test_a_cli_command_still_refuses_a_bad_setting_it_was_given(
    environ: dict[str, str], variable: str
) -> None:
    message = config_error(
        lambda env: ResourceSettings.from_env(env, key_source_required=False), environ
    )

    assert message.startswith(variable)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RESOURCE_DATABASE_URL", "mysql://user@db/notes"), ("LOG_LEVEL", "LOUD")],
)
def test_the_store_settings_still_refuse_a_bad_value_of_their_own(
    variable: str, value: str
) -> None:
    assert config_error(ResourceStoreSettings.from_env, {variable: value}).startswith(variable)


@pytest.mark.parametrize("url", [JWKS_URL, "https://auth.example/.well-known/jwks.json"])
def test_the_resource_service_may_take_its_keys_from_a_jwks_url(url: str) -> None:
    settings = ResourceSettings.from_env({"RESOURCE_JWKS_URL": url})

    assert (settings.jwks_url, settings.public_key_file) == (url, None)


def test_the_resource_service_reads_its_issuer_audience_and_database() -> None:
    url = f"sqlite:///{HERE / 'resource.db'}"  # a folder that exists
    settings = ResourceSettings.from_env(
        {
            "RESOURCE_JWKS_URL": JWKS_URL,
            "RESOURCE_ISSUER": "https://auth.example",
            "RESOURCE_AUDIENCE": "notes-api",
            "RESOURCE_DATABASE_URL": url,
            "RESOURCE_LEEWAY": "0",
        }
    )

    assert (settings.issuer, settings.audience) == ("https://auth.example", "notes-api")
    assert settings.database_url == url
    assert settings.leeway == 0.0


def test_setting_both_a_key_file_and_a_jwks_url_is_refused_naming_both() -> None:
    message = config_error(
        ResourceSettings.from_env,
        {"RESOURCE_PUBLIC_KEY_FILE": "/keys/public.pem", "RESOURCE_JWKS_URL": JWKS_URL},
    )

    assert "RESOURCE_PUBLIC_KEY_FILE" in message and "RESOURCE_JWKS_URL" in message


@pytest.mark.parametrize(
    "environ", [{}, {"RESOURCE_PUBLIC_KEY_FILE": "  ", "RESOURCE_JWKS_URL": ""}]
)
def test_setting_neither_a_key_file_nor_a_jwks_url_is_refused_naming_both(
    environ: dict[str, str],
) -> None:
    message = config_error(ResourceSettings.from_env, environ)

    assert "RESOURCE_PUBLIC_KEY_FILE" in message and "RESOURCE_JWKS_URL" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RESOURCE_JWKS_URL", "ftp://auth.example/jwks.json"),
        ("RESOURCE_JWKS_URL", "file:///etc/jwks.json"),
        ("RESOURCE_JWKS_URL", "localhost:8001/.well-known/jwks.json"),
        ("RESOURCE_LEEWAY", "abc"),
        ("RESOURCE_LEEWAY", "-1"),
        ("RESOURCE_LEEWAY", "301"),
        ("RESOURCE_LEEWAY", "inf"),
        ("RESOURCE_JWKS_MAX_STALE", "-1"),
        ("RESOURCE_JWKS_MAX_STALE", "a day"),
        ("RESOURCE_DATABASE_URL", "not a url"),
        ("RESOURCE_DATABASE_URL", "mysql://user@db/notes"),
    ],
)
def test_a_bad_resource_setting_is_refused_naming_its_variable(variable: str, value: str) -> None:
    environ = {"RESOURCE_JWKS_URL": JWKS_URL, variable: value}

    assert config_error(ResourceSettings.from_env, environ).startswith(variable)


# Who is loading the app: a Flask CLI command, or a server ------------------------------------


def loaded_by(args: list[str]) -> list[bool]:
    """Run the Flask CLI with *args* on a factory that records what it was told, then stops."""
    seen: list[bool] = []

    def factory() -> Flask:
        seen.append(loaded_for_a_cli_command())
        raise SystemExit(APP_LOAD_ERROR)  # nothing more to load: the answer is recorded

    CliRunner().invoke(FlaskGroup(create_app=factory), args)
    return seen


def test_outside_the_flask_cli_as_under_gunicorn_the_app_is_not_loaded_for_a_command() -> None:
    assert loaded_for_a_cli_command() is False


@pytest.mark.parametrize("args", [["routes"], ["shell"], ["db", "upgrade"]])
def test_a_flask_cli_command_loads_the_app_for_that_command(args: list[str]) -> None:
    assert loaded_by(args) == [True]


def test_flask_run_serves_requests_so_it_does_not_count_as_a_command() -> None:
    assert loaded_by(["run", "--port", "0"]) == [False]


# SQLite folders ------------------------------------------------------------------------------


def test_an_sqlite_file_in_a_folder_that_does_not_exist_is_refused_naming_the_variable() -> None:
    message = config_error(
        AuthSettings.from_env, {"AUTH_DATABASE_URL": "sqlite:////nonexistent/dir/auth.db"}
    )

    assert message.startswith("AUTH_DATABASE_URL: ")
    assert "/nonexistent/dir" in message and "does not exist" in message


def test_the_default_var_folder_is_allowed_before_it_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no ./var here yet: the service creates it

    settings = AuthSettings.from_env({"AUTH_DATABASE_URL": "sqlite:///var/auth.db"})

    assert settings.database_url == "sqlite:///var/auth.db"
    assert not (tmp_path / "var").exists()


# Process variables ---------------------------------------------------------------------------


def test_the_process_variables_have_the_documented_defaults() -> None:
    assert ProcessSettings.from_env({}) == ProcessSettings(
        workers=2, threads=4, timeout=30, graceful_timeout=20
    )


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("WEB_CONCURRENCY", "0"),
        ("WEB_CONCURRENCY", "abc"),
        ("WEB_CONCURRENCY", "6400"),
        ("GUNICORN_THREADS", "0"),
        ("GUNICORN_THREADS", "1.5"),
        ("GUNICORN_TIMEOUT", "abc"),
        ("GUNICORN_TIMEOUT", "0"),
        ("GUNICORN_GRACEFUL_TIMEOUT", "-1"),
    ],
)
def test_a_bad_process_variable_is_refused_naming_it_and_the_value(name: str, raw: str) -> None:
    message = config_error(ProcessSettings.from_env, {name: raw})

    assert message.startswith(f"{name} must be an integer ")
    assert repr(raw) in message


def test_a_metrics_folder_that_does_not_exist_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "metrics"

    message = config_error(ProcessSettings.from_env, {"PROMETHEUS_MULTIPROC_DIR": str(missing)})

    assert message == f"PROMETHEUS_MULTIPROC_DIR ({missing}) is not a writable folder"


def test_an_existing_metrics_folder_is_accepted(tmp_path: Path) -> None:
    settings = ProcessSettings.from_env({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})

    assert settings.metrics_dir == str(tmp_path)


BODY_LIMITS = [
    (AuthSettings.from_env, "AUTH_MAX_BODY_BYTES", {}),
    (ResourceSettings.from_env, "RESOURCE_MAX_BODY_BYTES", {"RESOURCE_JWKS_URL": JWKS_URL}),
]


@pytest.mark.parametrize(("read", "name", "base"), BODY_LIMITS)
def test_each_service_reads_its_body_limit(read: Reader, name: str, base: dict[str, str]) -> None:
    assert read({**base, name: "2048"}).max_body_bytes == 2048  # type: ignore[attr-defined]


def test_the_body_limits_default_to_16_kib_for_auth_and_64_kib_for_resource() -> None:
    assert AuthSettings.from_env({}).max_body_bytes == 16 * 1024
    assert ResourceSettings.from_env({"RESOURCE_JWKS_URL": JWKS_URL}).max_body_bytes == 64 * 1024


@pytest.mark.parametrize(("read", "name", "base"), BODY_LIMITS)
@pytest.mark.parametrize("raw", ["1023", str(10 * 1024 * 1024 + 1), "16k", "-1"])
def test_a_body_limit_outside_1_kib_to_10_mib_fails_naming_the_variable(
    read: Reader, name: str, base: dict[str, str], raw: str
) -> None:
    with pytest.raises(ConfigError, match=f"{name}.*from 1024 to 10485760"):
        read({**base, name: raw})
