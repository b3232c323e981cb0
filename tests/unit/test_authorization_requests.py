"""Pure parts of the authorization request rules: the redirect URL and the PKCE transform."""

from __future__ import annotations

import pytest

from auth_service.authorization_codes import is_challenge, s256
from auth_service.authorization_requests import redirect_to


@pytest.mark.parametrize(
    ("registered", "expected"),
    [
        ("https://app.example/cb", "https://app.example/cb?code=c&state=s+1"),
        ("https://app.example/cb?tenant=7", "https://app.example/cb?tenant=7&code=c&state=s+1"),
        ("https://app.example/cb?", "https://app.example/cb?code=c&state=s+1"),
    ],
)
def test_the_redirect_keeps_the_registered_query_and_adds_the_answer(
    registered: str, expected: str
) -> None:
    assert redirect_to(registered, {"code": "c", "state": "s 1", "error": None}) == expected


def test_s256_is_the_transform_of_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert is_challenge(s256(verifier))
    assert not is_challenge(verifier + "x") and not is_challenge(
        "E9Melhoa2Owv+rEMTJguCHaoeK1t8URWbuGrSstw-cM"
    )
