"""Hypothesis strategies of random requests to both apps, with real values mixed in.

Strategies draw @placeholders@ for real usernames, tokens and ids; ``filled`` puts in the values
``fresh_values`` has just made, so generation stays deterministic while every example can use
live sessions. Used by tests/integration/test_properties.py.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from hypothesis import strategies as st

from tests.support import STRONG_PASSWORD, random_name

FIELDS = ("username", "password", "scope", "refresh_token", "text")
# Operations that can end the sessions or delete the note an example's values name.
SPENDING = {
    ("POST", "/auth/refresh"),
    ("POST", "/auth/logout"),
    ("POST", "/auth/logout-all"),
    ("DELETE", "/auth/sessions/{session_id}"),
    ("DELETE", "/api/notes/{note_id}"),
}
STRINGS = ["@writer@", "@reader@", "@WRITER@", "@password@", "@refresh@", "@reader_refresh@"]
STRINGS += ["@note@", "@session@", "notes:read", "notes:read notes:write admin"]
AUTHORIZATIONS = ["Bearer @access@", "bearer @access@", "Bearer @reader_access@"]
AUTHORIZATIONS += ["Bearer @refresh@", "Bearer @tampered@", "Bearer  @access@ ", "Basic @access@"]

_PEERS = itertools.count()  # the set-up's own client addresses: 127.1.x.y


def fresh_values(client: FlaskClient, api: FlaskClient) -> dict[str, str]:
    """Register a writer and a reader, open their sessions, write a note; return the values."""
    writer, reader = random_name(), random_name()
    # Each set from its own loopback address: per-address limits must not refuse the set-up.
    n = next(_PEERS)
    peer = {"REMOTE_ADDR": f"127.1.{n // 254 % 256}.{n % 254 + 1}"}
    for username in (writer, reader):
        credentials = {"username": username, "password": STRONG_PASSWORD}
        answer = client.post("/auth/register", json=credentials, environ_base=peer)
        assert answer.status_code == 201, answer.get_json()
    full = client.post(
        "/auth/login", json={"username": writer, "password": STRONG_PASSWORD}, environ_base=peer
    )
    read_only = client.post(
        "/auth/login",
        json={"username": reader, "password": STRONG_PASSWORD, "scope": "notes:read"},
        environ_base=peer,
    )
    assert full.status_code == read_only.status_code == 200, (full.json, read_only.json)
    full, read_only = full.get_json(), read_only.get_json()
    headers = {"Authorization": f"Bearer {full['access_token']}"}
    note = api.post("/api/notes", json={"text": "a note"}, headers=headers).get_json()
    sessions = client.get("/auth/sessions", headers=headers).get_json()["sessions"]
    access = full["access_token"]
    return {
        "writer": writer,
        "reader": reader,
        "WRITER": f"  {writer.upper()}  ",
        "password": STRONG_PASSWORD,
        "refresh": full["refresh_token"],
        "reader_refresh": read_only["refresh_token"],
        "note": note["id"],
        "session": sessions[0]["id"],
        "access": access,
        "reader_access": read_only["access_token"],
        "tampered": access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"),
    }


def filled(request: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Return *request* with every @placeholder@ replaced, escaped as where it stands."""

    def text(value: str) -> str:
        for name, real in values.items():
            value = value.replace(f"@{name}@", real)
            value = value.replace(quote(f"@{name}@", safe=""), quote(real, safe=""))
        return value

    data = request["data"]
    for name, real in values.items():
        data = data.replace(f"@{name}@".encode(), json.dumps(real)[1:-1].encode())
    return {
        **request,
        "path": text(request["path"]),
        "headers": {name: text(value) for name, value in request["headers"].items()},
        "data": data,
    }


# Header values: anything an HTTP/1.1 client can send in one line (no CR, LF or NUL).
header_text = st.text(st.characters(codec="latin-1", exclude_characters="\r\n\x00"), max_size=60)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)


def bodies() -> st.SearchStrategy[tuple[bytes, str]]:
    """Return (body, Content-Type): plausible requests, JSON of our fields, any JSON, raw bytes."""
    value = st.sampled_from(STRINGS) | st.text(max_size=40) | json_values
    objects = st.fixed_dictionaries({}, optional={name: value for name in FIELDS})
    plausible = st.sampled_from(
        [
            {"username": "@writer@", "password": "@password@"},
            {"username": "@WRITER@", "password": "@password@", "scope": "notes:read"},
            {"username": "@reader@", "password": "wrong password 123"},
            {"refresh_token": "@refresh@"},
            {"refresh_token": "@reader_refresh@"},
        ]
    ) | st.fixed_dictionaries(
        {
            "username": st.from_regex(r"[a-z0-9][a-z0-9._-]{2,20}", fullmatch=True),
            "password": st.sampled_from(["@password@", "short", "aaaaaaaaaaaa"]),
            "text": st.text(max_size=30),
        }
    )
    as_json = (plausible | objects | json_values).map(lambda body: json.dumps(body).encode())
    content_types = st.sampled_from(
        ["application/json", "application/json; charset=utf-8", "text/plain", ""]
    ) | header_text.filter(lambda text: text.isprintable())
    raw = st.binary(max_size=120)
    return st.tuples(as_json, st.just("application/json")) | st.tuples(as_json | raw, content_types)


def operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (METHOD, path template) of every operation an OpenAPI document describes."""
    return [
        (method.upper(), template)
        for template, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "delete")
    ]


def fill(template: str, value: str, escape: bool) -> str:
    """Put *value* into the template's {parameter}, percent-escaped or raw (minus slashes)."""
    text = quote(value, safe="") if escape else value.replace("/", "")
    return re.sub(r"\{[^}]+\}", lambda _: text, template)  # a function: no escapes in text


def targets(operation: tuple[str, str] | None) -> st.SearchStrategy[tuple[str, str]]:
    """Return (method, path): the operation's, with real, odd or escaped ids; or anything."""
    if operation is None:
        segment = st.text(max_size=12).map(lambda text: quote(text, safe=""))
        return st.tuples(
            st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"])
            | st.from_regex(r"[A-Z]{1,10}", fullmatch=True),
            st.lists(segment, max_size=4).map(lambda parts: "/" + "/".join(parts))
            | st.sampled_from(["/api/notes/", "/auth/sessions/", "//auth/login", "/api//me"]),
        )
    method, template = operation
    ident = st.sampled_from(STRINGS) | st.text(min_size=1, max_size=20)
    return st.tuples(
        st.sampled_from([method, method, method, "HEAD" if method == "GET" else method]),
        st.builds(lambda value, escape: fill(template, value, escape), ident, st.booleans()),
    )


def requests_for(operation: tuple[str, str] | None) -> st.SearchStrategy[dict[str, Any]]:
    """Return keyword arguments of EnvironBuilder: one request to *operation* (None: anywhere)."""
    query = st.just("") | st.text(max_size=30).map(lambda text: "?" + quote(text, safe="=&"))
    # Mostly a real token (the writer's, then the reader's), so the views behind the check run.
    authorization = st.sampled_from(["writer"] * 4 + ["reader"] * 2 + ["known", "random", "none"])
    authorization = authorization.flatmap(
        lambda kind: {
            "writer": st.just(AUTHORIZATIONS[0]),
            "reader": st.just(AUTHORIZATIONS[2]),
            "known": st.sampled_from(AUTHORIZATIONS),
            "random": header_text | header_text.map(lambda text: "Bearer " + text),
            "none": st.just(None),
        }[kind]
    )
    others = st.fixed_dictionaries(
        {},
        optional={
            name: header_text
            for name in ("X-Request-ID", "Origin", "Cookie", "X-Forwarded-For", "Accept")
        },
    )
    headers = st.builds(
        lambda token, rest: rest if token is None else {"Authorization": token, **rest},
        authorization,
        others,
    )
    return st.builds(
        lambda target, query, headers, body, peer: {
            "method": target[0],
            "path": target[1] + query,
            "headers": headers,
            "data": body[0],
            "content_type": body[1] or None,
            "environ_base": {"REMOTE_ADDR": peer},
        },
        targets(operation),
        query,
        headers,
        bodies(),
        st.builds("127.0.{}.{}".format, st.integers(0, 255), st.integers(1, 254)),
    )
