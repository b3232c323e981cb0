"""RFC 6750 answers: status, WWW-Authenticate header and JSON body, for every bearer failure."""

from __future__ import annotations

import time

import pytest
from flask import Flask, jsonify
from flask.typing import ResponseReturnValue

from shared.bearer import (
    VERIFIER_EXTENSION,
    AccessTokenVerifier,
    authenticate,
    bearer_challenge,
    bearer_error,
    current_token,
    require_token,
    token_from_request,
)
from shared.errors import ApiError, register_error_handlers
from tests.unit.fakes import AUDIENCE, ISSUER, Mint, UnavailableKeySource

NO_CREDENTIALS = 'Bearer realm="tokenpair"'
INSUFFICIENT_WRITE = 'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:write"'
EXPIRED = (
    'Bearer realm="tokenpair", error="invalid_token", error_description="The access token expired"'
)
MALFORMED_HEADERS = [
    "Basic dXNlcjpwYXNz",
    "Basic x",
    "Bearer",
    "Bearer ",
    "Bearer  ",
    "Bearer a b",
    "Bearer a,b",
    'Bearer "abc"',
    "Bearer\tabc",
    "Bearerabc",
    "Token abc",
    "abc",
    "",
    " ",
    "Bearer abc=def",
    "Bearer =abc",
    "Bearer Bearer abc",
]


@pytest.fixture
def app(verifier: AccessTokenVerifier) -> Flask:
    """A minimal service that uses the bearer helpers the way both real services do."""
    app = Flask(__name__)
    app.extensions[VERIFIER_EXTENSION] = verifier
    register_error_handlers(app)

    @app.get("/me")
    @require_token()
    def me() -> ResponseReturnValue:
        return jsonify(sub=current_token().sub, scope=current_token().scope)

    @app.post("/notes")
    @require_token("notes:write")
    def create_note() -> ResponseReturnValue:
        return jsonify(created_by=current_token().sub), 201

    return app


def raised(app: Flask, authorization: str | None, *scopes: str) -> ApiError:
    headers = {} if authorization is None else {"Authorization": authorization}
    with app.test_request_context(headers=headers), pytest.raises(ApiError) as caught:
        authenticate(*scopes)
    return caught.value


# The challenge header -----------------------------------------------------------------------


def test_a_bare_challenge_names_only_the_realm() -> None:
    assert bearer_challenge() == NO_CREDENTIALS


def test_challenge_parameters_follow_the_realm_quoted_and_in_the_order_given() -> None:
    challenge = bearer_challenge(error="invalid_token", error_description="The token is bad")

    assert challenge == (
        'Bearer realm="tokenpair", error="invalid_token", error_description="The token is bad"'
    )


def test_an_invalid_token_error_carries_its_description_in_header_and_body() -> None:
    error = bearer_error(401, "invalid_token", "The access token is malformed")

    assert (error.status, error.code, error.description) == (
        401,
        "invalid_token",
        "The access token is malformed",
    )
    assert error.headers == {
        "WWW-Authenticate": 'Bearer realm="tokenpair", error="invalid_token", '
        'error_description="The access token is malformed"'
    }


def test_an_insufficient_scope_error_names_the_scope_and_no_description_in_the_header() -> None:
    error = bearer_error(403, "insufficient_scope", "Needs notes:write", scope="notes:write")

    assert error.status == 403
    assert error.headers == {"WWW-Authenticate": INSUFFICIENT_WRITE}


# Reading the Authorization header -----------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc.DEF-ghi_jkl~mno+pqr/stu==", "bearer abc", "BEARER abc", "Bearer   abc"],
)
def test_the_token_is_taken_from_a_well_formed_header_in_any_scheme_case(
    app: Flask, authorization: str
) -> None:
    with app.test_request_context(headers={"Authorization": authorization}):
        token = token_from_request()

    assert token == authorization.split()[-1]


def test_a_request_without_credentials_gets_401_with_a_bare_challenge(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(ApiError) as caught:
        token_from_request()

    assert caught.value.status == 401
    assert caught.value.headers == {"WWW-Authenticate": NO_CREDENTIALS}


@pytest.mark.parametrize("authorization", MALFORMED_HEADERS)
def test_a_malformed_authorization_header_gets_400_invalid_request(
    app: Flask, authorization: str
) -> None:
    error = raised(app, authorization)

    assert (error.status, error.code) == (400, "invalid_request")
    assert error.headers["WWW-Authenticate"].startswith(
        'Bearer realm="tokenpair", error="invalid_request", error_description="'
    )


# authenticate() -----------------------------------------------------------------------------


def test_a_valid_token_authenticates_with_a_lowercase_bearer_scheme(app: Flask, mint: Mint) -> None:
    with app.test_request_context(headers={"Authorization": f"bearer {mint()}"}):
        token = authenticate("notes:read")

    assert token.sub == "user-1"


def test_a_token_holding_every_required_scope_is_accepted(app: Flask, mint: Mint) -> None:
    with app.test_request_context(headers={"Authorization": f"Bearer {mint()}"}):
        token = authenticate("notes:read", "notes:write")

    assert token.scopes == {"notes:read", "notes:write"}


def test_a_request_without_credentials_is_answered_401_without_an_error_code(app: Flask) -> None:
    error = raised(app, None, "notes:read")

    assert error.status == 401
    assert error.headers == {"WWW-Authenticate": NO_CREDENTIALS}


def test_a_bad_token_is_answered_401_invalid_token_with_why(app: Flask, mint: Mint) -> None:
    error = raised(app, f"Bearer {mint(claims={'iss': 'https://evil.example'})}")

    assert (error.status, error.code) == (401, "invalid_token")
    assert error.headers["WWW-Authenticate"] == (
        'Bearer realm="tokenpair", error="invalid_token", '
        'error_description="The access token has an unexpected issuer"'
    )


def test_an_expired_token_is_answered_401_saying_it_expired(app: Flask, mint: Mint) -> None:
    error = raised(app, f"Bearer {mint(claims={'exp': int(time.time()) - 1})}")

    assert (error.status, error.code) == (401, "invalid_token")
    assert error.headers == {"WWW-Authenticate": EXPIRED}


def test_a_token_without_the_needed_scope_is_answered_403_naming_the_scope(
    app: Flask, mint: Mint
) -> None:
    error = raised(app, f"Bearer {mint(claims={'scope': 'notes:read'})}", "notes:write")

    assert (error.status, error.code) == (403, "insufficient_scope")
    assert error.headers == {"WWW-Authenticate": INSUFFICIENT_WRITE}


def test_insufficient_scope_names_every_scope_the_request_needs(app: Flask, mint: Mint) -> None:
    error = raised(app, f"Bearer {mint(claims={'scope': ''})}", "notes:read", "notes:write")

    assert error.headers["WWW-Authenticate"] == (
        'Bearer realm="tokenpair", error="insufficient_scope", scope="notes:read notes:write"'
    )


def test_scopes_are_matched_whole_not_by_prefix(app: Flask, mint: Mint) -> None:
    error = raised(app, f"Bearer {mint(claims={'scope': 'notes:writer notes'})}", "notes:write")

    assert error.status == 403


# Through a real view: status, header and body agree ----------------------------------------


def test_a_decorated_view_runs_with_the_verified_token(app: Flask, mint: Mint) -> None:
    response = app.test_client().get("/me", headers={"Authorization": f"Bearer {mint()}"})

    assert response.status_code == 200
    assert response.get_json() == {"sub": "user-1", "scope": "notes:read notes:write"}


def test_without_credentials_the_view_answers_401_with_header_and_json_body(app: Flask) -> None:
    response = app.test_client().get("/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS
    assert response.get_json()["error"] != "invalid_token"
    assert response.get_json()["error_description"]


def test_an_expired_token_answer_has_the_same_code_and_text_in_header_and_body(
    app: Flask, mint: Mint
) -> None:
    token = mint(claims={"exp": int(time.time()) - 1})

    response = app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == EXPIRED
    assert response.get_json() == {
        "error": "invalid_token",
        "error_description": "The access token expired",
    }


def test_an_insufficient_scope_answer_is_403_with_header_and_json_body(
    app: Flask, mint: Mint
) -> None:
    token = mint(claims={"scope": "notes:read"})

    response = app.test_client().post("/notes", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == INSUFFICIENT_WRITE
    assert response.get_json()["error"] == "insufficient_scope"


@pytest.mark.parametrize(
    "authorization",
    [*MALFORMED_HEADERS, "Bearer x", "Bearer " + "A" * 8000, "Bearer e30.e30.e30", "Bearer ....."],
)
def test_no_authorization_header_however_malformed_causes_a_server_error(
    app: Flask, authorization: str
) -> None:
    response = app.test_client().get("/me", headers={"Authorization": authorization})

    assert response.status_code in (400, 401)
    assert response.headers["WWW-Authenticate"].startswith(NO_CREDENTIALS)
    assert response.get_json()["error"] in ("invalid_request", "invalid_token")


# No key can check the token (the issuer is unreachable): 503, never a verdict on the token ------


@pytest.fixture
def outage_app(app: Flask) -> Flask:
    """The same service, but its key source has no key set and cannot reach the issuer."""
    app.extensions[VERIFIER_EXTENSION] = AccessTokenVerifier(
        UnavailableKeySource(), issuer=ISSUER, audience=AUDIENCE
    )
    return app


def test_a_good_token_that_no_key_can_check_is_answered_503_with_retry_after(
    outage_app: Flask, mint: Mint
) -> None:
    response = outage_app.test_client().get("/me", headers={"Authorization": f"Bearer {mint()}"})

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "3"
    assert response.get_json() == {
        "error": "temporarily_unavailable",
        "error_description": "The access token cannot be checked right now; try again shortly",
    }


def test_the_unavailable_answer_has_no_challenge_since_other_credentials_would_not_help(
    outage_app: Flask, mint: Mint
) -> None:
    response = outage_app.test_client().post(
        "/notes", headers={"Authorization": f"Bearer {mint()}"}
    )

    assert response.status_code == 503
    assert "WWW-Authenticate" not in response.headers


@pytest.mark.parametrize("token", ["e30.e30.e30", "not-a-jwt"])
def test_a_token_that_is_bad_whatever_the_keys_is_still_refused_during_an_outage(
    outage_app: Flask, token: str
) -> None:
    response = outage_app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_a_refresh_token_style_jwt_of_the_wrong_type_is_refused_without_asking_for_keys(
    outage_app: Flask, mint: Mint
) -> None:
    token = mint(headers={"typ": "JWT"})

    response = outage_app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert "at+jwt" in response.get_json()["error_description"]


def test_without_credentials_the_outage_changes_nothing(outage_app: Flask) -> None:
    response = outage_app.test_client().get("/me")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == NO_CREDENTIALS
