"""Take secrets out of log records before any handler writes them: one filter for every log.

The apps never log a header, a body or a query string on purpose (``shared/observability.py``).
This filter is the second line, for text a library writes: gunicorn's "Invalid request" warning
quotes the raw request line or header it could not parse, a traceback may quote a value. Both
the apps' JSON handler and gunicorn's (``shared/gunicorn_conf.py``) run every record through it.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"

# A JWS in compact form: a base64url JSON header (always starting "eyJ", i.e. '{"'), then
# payload and signature.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
# A header that carries credentials, written as "Name: value" or "name=value": to line end.
_CREDENTIAL_HEADER = re.compile(
    r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie)(\s*[:=]\s*)[^\r\n]*"
)
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|digest)\s+[^\s'\",]+")
# A query string: everything after "?" up to whitespace or a quote.
_QUERY = re.compile(r"\?[^\s'\"]+")
# A named secret in a form body, JSON or key=value text: "password": "...", code=...
_NAMED_SECRET = re.compile(
    r"(?i)\b(password|passwd|secret|client_secret|access_token|refresh_token|id_token|token"
    r"|code|code_verifier|assertion)(['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,;}]*"
)
# A long run of token characters as a path segment ("Exception on /api/notes/<token> [GET]",
# Flask's line for an error no handler caught): a refresh token is 43 of them.
_PATH_TOKEN = re.compile(r"(?<=/)[A-Za-z0-9_-]{32,}")
# In gunicorn's own lines only: the quoted client data after "<what was invalid>: ", and any
# long run of token characters (a refresh token is 43 of them). The apps' lines keep theirs:
# key ids (43 characters too) are what an operator needs there.
_QUOTED_CLIENT_DATA = re.compile(r"(:\s*)(['\"]).*")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")

# Each rule above needs one of these; most strings (ids, routes, outcomes) have none, so one
# search settles them (the filter runs on every access line).
_CANDIDATE = re.compile(r"(?i)eyJ|\?|[:=]|\b(?:bearer|basic|digest)\b|/[A-Za-z0-9_-]{32}")

# Attributes every LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str, *, request_data: bool = False) -> str:
    """Return *text* with tokens, credentials, query strings and named secrets replaced.

    *request_data*: the text may quote raw request data (gunicorn's lines); cut that too.
    """
    if not request_data and not _CANDIDATE.search(text):
        return text
    text = _JWT.sub(REDACTED, text)
    text = _CREDENTIAL_HEADER.sub(rf"\1\2{REDACTED}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    text = _QUERY.sub(f"?{REDACTED}", text)
    text = _NAMED_SECRET.sub(rf"\1\2{REDACTED}", text)
    text = _PATH_TOKEN.sub(REDACTED, text)
    if request_data:
        text = _QUOTED_CLIENT_DATA.sub(rf"\1{REDACTED}", text)
        text = _TOKEN_RUN.sub(REDACTED, text)
    return text


class RedactSecrets(logging.Filter):
    """Redact the message, the traceback and every ``extra`` string of each record, in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        request_data = record.name.startswith("gunicorn.")
        record.msg = redact(record.getMessage(), request_data=request_data)
        record.args = None
        if record.exc_info:
            # Formatted here, so no formatter later prints the unredacted exception text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, request_data=request_data)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, request_data=request_data)
        extra = vars(record)
        for name in extra.keys() - _STANDARD_ATTRIBUTES:
            if isinstance(extra[name], str):
                extra[name] = redact(extra[name], request_data=request_data)
        return True
