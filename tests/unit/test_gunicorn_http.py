"""What gunicorn writes itself: no Server banner, its own errors in the one JSON shape."""

from __future__ import annotations

import json
from types import SimpleNamespace

from gunicorn.http import wsgi

from shared.gunicorn_http import drop_server_header, error_body


def test_gunicorn_responses_leave_out_the_server_line_and_keep_the_others() -> None:
    drop_server_header()
    drop_server_header()  # a second call (a worker re-forked) changes nothing more
    request = SimpleNamespace(version=(1, 1), method="GET", should_close=lambda: False)
    response = wsgi.Response(request, None, SimpleNamespace(protocol="http"))
    response.start_response("200 OK", [("Content-Length", "2")])

    lines = response.default_headers()

    assert lines[0] == "HTTP/1.1 200 OK\r\n"
    assert not [line for line in lines if line.lower().startswith("server")]
    assert any(line.startswith("Date: ") for line in lines)


def test_gunicorn_error_answers_are_the_one_json_shape_without_the_request() -> None:
    assert json.loads(error_body(400)) == {
        "error": "invalid_request",
        "error_description": "The server could not parse the request",
    }
    assert json.loads(error_body(431))["error"] == "invalid_request"
    assert json.loads(error_body(501))["error"] == "invalid_request"
    assert json.loads(error_body(500))["error"] == "server_error"
    assert all(
        set(json.loads(error_body(status))) == {"error", "error_description"}
        for status in (400, 403, 414, 417, 431, 500, 501, 599)
    )
