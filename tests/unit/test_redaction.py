"""The redaction filter every log handler of both services and of gunicorn runs."""

from __future__ import annotations

import logging
import sys

import pytest

from shared.redaction import REDACTED, RedactSecrets, redact

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
REFRESH = "Qk9ZX0VYQU1QTEVfUkVGUkVTSF9UT0tFTl8xMjM0NTY3"  # 43 token characters


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        (f"token {JWT} here", JWT),
        (f"GET /api/me?access_token={REFRESH} HTTP/1.1", REFRESH),
        (f"Authorization: Bearer {REFRESH}", REFRESH),
        (f"authorization=Basic {REFRESH}", REFRESH),
        (f"Cookie: tokenpair_refresh={REFRESH}; theme=dark", REFRESH),
        (f"saw bearer {REFRESH}", REFRESH),
        (f'{{"refresh_token": "{REFRESH}", "x": 1}}', REFRESH),
        (f"grant_type=refresh_token&refresh_token={REFRESH}&scope=a", REFRESH),
        ("password=hunter2hunter2&username=bob", "hunter2hunter2"),
        ("{'password': 'correct horse'}", "correct"),
        (f"code={REFRESH}", REFRESH),
    ],
)
def test_tokens_credentials_queries_and_named_secrets_are_redacted(text: str, gone: str) -> None:
    cleaned = redact(text)

    assert gone not in cleaned
    assert REDACTED in cleaned


def test_ordinary_lines_are_left_as_they_are() -> None:
    for line in (
        "Booting worker with pid: 4242",
        "fetched JWKS: ['abbppU70FWzIFPyLqoasS3olQP31KIg33AS-B9nUG9A']",
        "store unavailable: OperationalError",
        "Is the store ready?",
    ):
        assert redact(line) == line


def test_quoted_request_data_and_long_token_runs_are_cut_from_gunicorn_lines_only() -> None:
    line = f"Invalid request from ip=127.0.0.1: Invalid HTTP request line: 'GET /{REFRESH} x'"

    assert redact(line, request_data=True) == (
        f"Invalid request from ip=127.0.0.1: Invalid HTTP request line: {REDACTED}"
    )
    assert redact(f"Error handling request GET /{REFRESH}", request_data=True) == (
        f"Error handling request GET /{REDACTED}"
    )
    assert REFRESH in redact(f"signing key created: {REFRESH}")  # an app's key id stays


def record(name: str, msg: str, *args: object, **extra: object) -> logging.LogRecord:
    made = logging.getLogger(name).makeRecord(name, logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_the_filter_redacts_the_formatted_message_and_every_extra_string() -> None:
    made = record("tokenpair.audit", "refresh of %s", JWT, username=f"x?password={REFRESH}", n=3)

    assert RedactSecrets().filter(made) is True

    formatted = logging.Formatter("%(message)s %(username)s %(n)s").format(made)
    assert JWT not in formatted
    assert REFRESH not in formatted
    assert formatted == f"refresh of {REDACTED} x?{REDACTED} 3"


def test_the_filter_redacts_a_traceback_before_any_formatter_prints_it() -> None:
    try:
        raise ValueError(f"bad header Authorization: Bearer {REFRESH}")
    except ValueError:
        made = logging.getLogger("gunicorn.error").makeRecord(
            "gunicorn.error", logging.ERROR, __file__, 1, "Error handling request", (),
            sys.exc_info(),
        )  # fmt: skip

    RedactSecrets().filter(made)

    formatted = logging.Formatter("%(message)s").format(made)
    assert "Traceback" in formatted
    assert "ValueError" in formatted
    assert REFRESH not in formatted


def test_a_token_as_a_path_segment_is_redacted_in_every_line() -> None:
    line = f"Exception on /api/notes/{REFRESH} [GET]"

    assert redact(line) == f"Exception on /api/notes/{REDACTED} [GET]"
    assert redact("Exception on /api/notes/0123abcd [GET]") == (
        "Exception on /api/notes/0123abcd [GET]"
    )
