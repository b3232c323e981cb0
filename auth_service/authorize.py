"""HTTP views of the authorization endpoint (RFC 6749 §4.1): the login and approval pages.

Thin: parse the request (authorization_requests), check the page's CSRF token and approval
record (form_tokens), the password through the login rule and its throttles (accounts), issue
the code (authorization_codes), and render or redirect. Server-rendered HTML, no JavaScript.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import Blueprint, Response, render_template, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.urls import iri_to_uri

from auth_service import accounts, authorization_codes, errors, form_tokens
from auth_service.api import client as client_address
from auth_service.authorization_requests import (
    PARAMETERS,
    AuthorizationRequest,
    Refused,
    UntrustedRedirect,
    parse,
    redirect_to,
)
from auth_service.context import Operation, deps, operation
from shared.payload import storable

bp = Blueprint("authorize", __name__)

PATH = "/oauth/authorize"
COOKIE = "tokenpair_authorize"
FORM = "application/x-www-form-urlencoded"
# The pages' only style, inline; the CSP allows exactly this text by its hash (no 'unsafe-inline').
CSS = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}"
    "main{max-width:22rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;"
    "box-shadow:0 1px 4px #0002}"
    "h1{font-size:1.4rem;margin-top:0}"
    "label{display:block;margin-top:1rem;font-weight:600}"
    "input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;margin-top:.25rem}"
    "button{margin-top:1.25rem;padding:.5rem 1.25rem;font:inherit;border:0;border-radius:4px;"
    "background:#2557d6;color:#fff;cursor:pointer}"
    "button.secondary{background:#e4e6eb;color:#1d1f23;margin-left:.5rem}"
    ".message{background:#fdecea;color:#8a1c1c;padding:.5rem .75rem;border-radius:4px}"
)
_CSS_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"
# A CSP source expression may name only this much of a redirect URI: its origin.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]+)?|http://\[::1\](:[0-9]+)?")


@bp.get(PATH)
def start() -> Response:
    """Check the authorization request and show the login page."""
    try:
        authorization = parse(operation(), request.args.to_dict(flat=False))
    except UntrustedRedirect as error:
        return _error_page(str(error), 400)
    except Refused as refused:
        return _redirect_error(refused, 302)
    nonce = form_tokens.new_nonce()
    response = _login_page(authorization, nonce, None, 200)
    response.set_cookie(
        COOKIE,
        nonce,
        max_age=deps().settings.authorize_page_ttl,
        path=PATH,
        secure=_secure_cookie(),
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.post(PATH)
def submit() -> Response:
    """Take the login form, or the approval form, of a page served by start()."""
    if request.mimetype != FORM:
        return _error_page(f"The form must be sent as {FORM}.", 400)
    form = request.form
    op = operation()
    try:
        authorization = parse(op, {name: form.getlist(name) for name in PARAMETERS})
    except UntrustedRedirect as error:
        return _error_page(str(error), 400)
    except Refused as refused:
        return _redirect_error(refused, 303)
    nonce = request.cookies.get(COOKIE)
    if nonce is None or not form_tokens.csrf_ok(deps(), nonce, _single(form, "csrf")):
        return _error_page(
            "This sign-in page expired or was not sent from this service. "
            "Go back to the application and start again.",
            403,
        )
    if "consent" in form:
        return _approval(op, authorization, nonce, form)
    return _login(op, authorization, nonce, form)


def _login(
    op: Operation, authorization: AuthorizationRequest, nonce: str, form: MultiDict[str, str]
) -> Response:
    username, password = _single(form, "username"), _single(form, "password")
    if not username or not password:
        return _login_page(authorization, nonce, "Enter your username and password.", 400)
    try:
        user = accounts.authenticate(op, username, password, client_address())
    except errors.Throttled as throttled:
        message = f"Too many sign-in attempts. Try again in {throttled.retry_after} seconds."
        response = _login_page(authorization, nonce, message, 429)
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    except (errors.InvalidGrant, errors.InvalidRequest):
        return _login_page(authorization, nonce, "The username or password is incorrect.", 400)
    if authorization.client.first_party:
        return _redirect_code(op, authorization, user.id)
    approval = form_tokens.approval_token(deps(), nonce, user.id, authorization.fingerprint())
    return _page(
        "approve.html",
        authorization,
        200,
        csrf=form_tokens.csrf_token(deps(), nonce),
        approval=approval,
        scopes=authorization.scope.split(),
    )


def _approval(
    op: Operation, authorization: AuthorizationRequest, nonce: str, form: MultiDict[str, str]
) -> Response:
    user_id = form_tokens.approved_user(
        deps(), nonce, _single(form, "approval"), authorization.fingerprint()
    )
    if user_id is None:
        return _error_page(
            "This approval page expired or does not belong to this sign-in. "
            "Go back to the application and start again.",
            403,
        )
    consent = _single(form, "consent")
    if consent == "approve":
        return _redirect_code(op, authorization, user_id)
    if consent == "deny":
        refused = Refused(
            "access_denied", "The user denied the request", authorization.redirect_uri,
            authorization.state,
        )  # fmt: skip
        return _redirect_error(refused, 303)
    refused = Refused(
        "invalid_request", 'consent must be "approve" or "deny"', authorization.redirect_uri,
        authorization.state,
    )  # fmt: skip
    return _redirect_error(refused, 303)


def _redirect_code(op: Operation, authorization: AuthorizationRequest, user_id: str) -> Response:
    code = authorization_codes.issue(
        op,
        authorization.client,
        authorization.redirect_uri,
        authorization.code_challenge,
        user_id,
        authorization.scope,
    )
    target = redirect_to(
        authorization.redirect_uri,
        {"code": code, "state": authorization.state, "iss": deps().settings.issuer},
    )
    response = _redirect(target, 303)
    response.delete_cookie(
        COOKIE, path=PATH, secure=_secure_cookie(), httponly=True, samesite="Strict"
    )
    return response


def _redirect_error(refused: Refused, status: int) -> Response:
    target = redirect_to(
        refused.redirect_uri,
        {
            "error": refused.error,
            "error_description": refused.description,
            "state": refused.state,
            "iss": deps().settings.issuer,
        },
    )
    return _redirect(target, status)


def _login_page(
    authorization: AuthorizationRequest, nonce: str, message: str | None, status: int
) -> Response:
    csrf = form_tokens.csrf_token(deps(), nonce)
    return _page("login.html", authorization, status, csrf=csrf, message=message)


def _page(
    template: str, authorization: AuthorizationRequest, status: int, **context: object
) -> Response:
    body = render_template(
        template,
        action=url_for("authorize.submit"),
        css=CSS,
        client=authorization.client,
        fields=authorization.fields(),
        **context,
    )
    return _html(body, status, form_target=_origin(authorization.redirect_uri))


def _error_page(message: str, status: int) -> Response:
    body = render_template("error.html", message=message, css=CSS)
    return _html(body, status, form_target=None)


def _html(body: str, status: int, *, form_target: str | None) -> Response:
    """Answer an HTML page that no one may frame or cache, and that runs no script."""
    response = Response(body, status=status, mimetype="text/html")
    # form-action covers where the form's POST redirects to (browsers check the redirect).
    form_action = "'self'" + (f" {form_target}" if form_target else "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src {_CSS_HASH}; "
        f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _secure_cookie() -> bool:
    # Secure whenever the service is served over HTTPS (its issuer URL says so). Not on a
    # plain-HTTP issuer (the loopback quickstart): HTTP clients other than browsers (requests,
    # httpx) never send a Secure cookie over http://, not even to localhost.
    return deps().settings.issuer.startswith("https://")


def _redirect(target: str, status: int) -> Response:
    # Not flask.redirect: its HTML body would quote the code; a redirect needs no body.
    # iri_to_uri: a registered URI may hold non-ASCII characters, a header may not.
    return Response(status=status, headers={"Location": iri_to_uri(target)})


def _origin(uri: str) -> str | None:
    parts = urlsplit(uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    return origin if _ORIGIN.fullmatch(origin) else None


def _single(form: MultiDict[str, str], name: str) -> str | None:
    values = form.getlist(name)
    if len(values) != 1 or not storable(values[0]):
        return None
    return values[0]
