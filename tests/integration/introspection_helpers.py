"""Helpers of the introspection tests: the endpoint, the inactive answer, a calling client."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.integration.test_oauth_token import Client, basic

INTROSPECT = "/oauth/introspect"
INACTIVE = {"active": False}


class Introspector:
    """A confidential client asking the introspection endpoint, with Basic credentials."""

    def __init__(self, client: FlaskClient, caller: Client) -> None:
        assert caller.secret is not None
        self.client, self.headers = client, basic(caller.id, caller.secret)

    def __call__(self, token: str, **extra: str) -> dict[str, object]:
        """Return the 200 answer for *token*, checking it is never stored by a cache."""
        answer = self.client.post(INTROSPECT, data={"token": token, **extra}, headers=self.headers)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["Pragma"] == "no-cache"
        return dict(answer.get_json())
