"""Serve the demo page (demo/) on an origin of its own. Standard library only: dev.py runs it.

Only the page's own files are served (no listing, no source), ``/config.json`` tells the page
where the two services are, and every answer carries the headers a page holding tokens needs:
a Content-Security-Policy that lets scripts come from this origin only and lets them talk to
nothing but the two services, no framing, no referrer.
"""

from __future__ import annotations

import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}


def security_headers(auth_url: str, resource_url: str) -> dict[str, str]:
    """Return the headers of every answer of the page (the Caddyfile sends the same)."""
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {auth_url} {resource_url}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def start_demo_server(
    host: str, port: int, auth_url: str, resource_url: str
) -> ThreadingHTTPServer:
    """Serve the page on *host*:*port* in a daemon thread; ``shutdown()`` stops it."""
    config = json.dumps({"auth": auth_url, "resource": resource_url}).encode()
    headers = security_headers(auth_url, resource_url)

    class Handler(BaseHTTPRequestHandler):
        server_version = "demo"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            path = self.path.split("?", 1)[0]
            if path == "/config.json":
                self._answer(HTTPStatus.OK, config, "application/json")
            elif path in FILES:
                name, content_type = FILES[path]
                self._answer(HTTPStatus.OK, (FOLDER / name).read_bytes(), content_type)
            else:
                self._answer(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

        def _answer(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # the services log; a static page has nothing worth a line

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="demo-page", daemon=True).start()
    return server
