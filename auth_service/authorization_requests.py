"""The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), checked in the order of §4.1.2.1.

First the client and its redirect URI: until both are known good, nothing may be sent to the
URI (an open redirector otherwise), so a failure is ``UntrustedRedirect`` (an error page).
After that every failure is ``Refused``, which the view sends to the redirect URI with
``error``, ``error_description`` and ``state``. Rules only: the parameters come in as a
mapping of lists, as parsed from the query or the form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from auth_service import authorization_codes, clients
from auth_service.clients import Client
from auth_service.context import Operation
from auth_service.errors import InvalidScope
from shared.payload import storable

# The parameters of the request itself; the pages add their own (csrf, username, ...).
PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "state",
)


class UntrustedRedirect(Exception):
    """The client or its redirect URI is missing, unknown or not registered: an error page."""


class Refused(Exception):
    """An error to send to the (registered) redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str, redirect_uri: str, state: str | None):
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state


@dataclass(frozen=True)
class AuthorizationRequest:
    """A request that passed every check: what a code will be bound to."""

    client: Client
    redirect_uri: str
    code_challenge: str
    scope: str
    state: str | None

    def fields(self) -> list[tuple[str, str]]:
        """Return the parameters that repeat this request (the pages' hidden fields)."""
        fields = [
            ("response_type", "code"),
            ("client_id", self.client.id),
            ("redirect_uri", self.redirect_uri),
            ("code_challenge", self.code_challenge),
            ("code_challenge_method", "S256"),
            ("scope", self.scope),
        ]
        return fields + ([("state", self.state)] if self.state is not None else [])

    def fingerprint(self) -> list[str]:
        """Return what an approval is bound to: this request, exactly."""
        return [value for _, value in self.fields()]


def parse(op: Operation, params: Mapping[str, Sequence[str]]) -> AuthorizationRequest:
    """Check an authorization request; UntrustedRedirect or Refused say what is wrong."""
    client_id = _trusted_single(params, "client_id")
    client = clients.find(op, client_id)
    if client is None:
        raise UntrustedRedirect("The client_id is not one of a registered client.")
    redirect_uri = _trusted_single(params, "redirect_uri")
    if redirect_uri not in client.redirect_uris:  # exactly, character for character
        raise UntrustedRedirect("The redirect_uri is not registered for this client.")

    states = params.get("state", [])
    if len(states) > 1 or (states and not storable(states[0])):
        raise Refused("invalid_request", '"state" must be sent once, as text', redirect_uri, None)
    state = states[0] if states and states[0] else None

    def refuse(error: str, description: str) -> Refused:
        return Refused(error, description, redirect_uri, state)

    values: dict[str, str | None] = {}
    for name in ("response_type", "code_challenge", "code_challenge_method", "scope"):
        given = params.get(name, [])
        if len(given) > 1:
            raise refuse("invalid_request", f'"{name}" must be sent only once')
        if given and not storable(given[0]):
            raise refuse("invalid_request", f'"{name}" must be text without NUL characters')
        values[name] = given[0] if given and given[0] else None  # §3.1: empty is omitted
    if values["response_type"] is None:
        raise refuse("invalid_request", '"response_type" is required: code')
    if values["response_type"] != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    challenge, method = values["code_challenge"], values["code_challenge_method"]
    if challenge is None:
        raise refuse("invalid_request", "PKCE is required: code_challenge, with method S256")
    if method != "S256":  # RFC 7636 §4.4.1; a missing method would mean plain
        raise refuse("invalid_request", "code_challenge_method must be S256 (plain is refused)")
    if not authorization_codes.is_challenge(challenge):
        raise refuse("invalid_request", "code_challenge must be 43 base64url characters (S256)")
    try:
        scope = clients.grantable_scope(client, values["scope"])
    except InvalidScope as error:
        raise refuse("invalid_scope", str(error)) from None
    return AuthorizationRequest(client, redirect_uri, challenge, scope, state)


def redirect_to(redirect_uri: str, params: dict[str, str | None]) -> str:
    """Return *redirect_uri* with *params* added to its query (kept, per RFC 6749 §3.1.2)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    if urlsplit(redirect_uri).query:
        return f"{redirect_uri}&{query}"
    return f"{redirect_uri.removesuffix('?')}?{query}"


def _trusted_single(params: Mapping[str, Sequence[str]], name: str) -> str:
    given = params.get(name, [])
    if not given or not given[0]:
        raise UntrustedRedirect(f"The request has no {name}.")
    if len(given) > 1:
        raise UntrustedRedirect(f"The request has more than one {name}.")
    if not storable(given[0]):
        raise UntrustedRedirect(f"The {name} is not valid text.")
    return given[0]
