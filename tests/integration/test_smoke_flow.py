"""The six steps of the token lifecycle, in-process on both stores."""

from flask.testing import FlaskClient

from tests.integration.conftest import AuthActions
from tests.support import FakeClock


def test_login_call_expire_refresh_and_carry_on(
    auth: AuthActions, api: FlaskClient, clock: FakeClock
) -> None:
    tokens = auth.tokens()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.get("/api/me", headers=bearer).status_code == 200

    clock.advance(-1000)  # a token minted 1000 s ago has expired by now
    old = auth.refresh(tokens["refresh_token"]).get_json()
    expired = api.get("/api/me", headers={"Authorization": f"Bearer {old['access_token']}"})
    assert expired.status_code == 401
    assert expired.headers["WWW-Authenticate"] == (
        'Bearer realm="tokenpair", error="invalid_token", '
        'error_description="The access token expired"'
    )

    clock.advance(1000)
    fresh = auth.refresh(old["refresh_token"])
    assert fresh.status_code == 200
    assert fresh.get_json()["refresh_token"] != old["refresh_token"]
    again = {"Authorization": f"Bearer {fresh.get_json()['access_token']}"}
    assert api.get("/api/me", headers=again).status_code == 200
