"""AccessTokenVerifier: one valid shape of token is accepted; every known attack is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from auth_service.keystore import PrivateKey
from auth_service.tokens import child_token, new_refresh_token
from shared.bearer import REQUIRED_CLAIMS, AccessTokenVerifier, InvalidToken
from shared.keys import PublicKey, public_key
from tests.unit.fakes import AUDIENCE, ISSUER, Mint, StaticKeySource, access_claims


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    """Return a compact JWS built without PyJWT, which refuses to make the forgeries below."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def rejection(verifier: AccessTokenVerifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token)
    return caught.value


# Accepted -----------------------------------------------------------------------------------


def test_a_valid_token_is_accepted_with_its_claims_and_scopes(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = verifier.verify(mint(claims={"sub": "user-7", "jti": "jti-1", "exp": 4_000_000_000}))

    assert token.sub == "user-7"
    assert token.scopes == frozenset({"notes:read", "notes:write"})
    assert token.scope == "notes:read notes:write"
    assert token.expires_at == 4_000_000_000
    assert token.jti == "jti-1"
    assert token.sid == "session-1"
    assert token.claims["iss"] == ISSUER
    assert token.claims["aud"] == AUDIENCE


def test_the_scope_of_an_accepted_token_is_reported_sorted_and_deduplicated(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = verifier.verify(mint(claims={"scope": "notes:write  notes:read notes:write"}))

    assert token.scopes == frozenset({"notes:read", "notes:write"})
    assert token.scope == "notes:read notes:write"


def test_an_empty_scope_is_accepted_as_no_scopes(verifier: AccessTokenVerifier, mint: Mint) -> None:
    assert verifier.verify(mint(claims={"scope": ""})).scopes == frozenset()


def test_a_token_without_a_session_id_is_accepted_with_sid_none(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    assert verifier.verify(mint(drop=["sid"])).sid is None


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_every_spelling_of_the_access_token_type_is_accepted(
    verifier: AccessTokenVerifier, mint: Mint, typ: str
) -> None:
    assert verifier.verify(mint(headers={"typ": typ})).sub == "user-1"


def test_an_audience_list_that_contains_this_audience_is_accepted(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    assert verifier.verify(mint(claims={"aud": ["other-api", AUDIENCE]})).sub == "user-1"


@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_a_token_signed_with_a_trusted_es256_or_eddsa_key_is_accepted(
    kind: str, mint: Mint, private_keys: dict[str, PrivateKey]
) -> None:
    private = private_keys[kind]
    trusted = public_key(private.public_key())
    verifier = AccessTokenVerifier(StaticKeySource(trusted), issuer=ISSUER, audience=AUDIENCE)

    token = mint(key=private, alg=trusted.alg, headers={"kid": trusted.kid})

    assert verifier.verify(token).sub == "user-1"


def test_a_token_that_expired_within_the_leeway_is_accepted(
    key_source: StaticKeySource, mint: Mint
) -> None:
    verifier = AccessTokenVerifier(key_source, issuer=ISSUER, audience=AUDIENCE, leeway=30)

    token = mint(claims={"exp": int(time.time()) - 10})

    assert verifier.verify(token).sub == "user-1"


def test_the_verifier_asks_its_key_source_only_for_the_kid_in_the_header(
    verifier: AccessTokenVerifier, key_source: StaticKeySource, mint: Mint, rsa_public: PublicKey
) -> None:
    verifier.verify(mint())

    assert key_source.asked == [rsa_public.kid]


def test_a_hand_made_token_properly_signed_is_accepted_so_the_forgeries_below_are_fair(
    verifier: AccessTokenVerifier, rsa_private_key: rsa.RSAPrivateKey, rsa_public: PublicKey
) -> None:
    header = {"alg": "RS256", "typ": "at+jwt", "kid": rsa_public.kid}

    token = hand_made_token(
        header,
        access_claims(sub="hand-made"),
        lambda data: rsa_private_key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )

    assert verifier.verify(token).sub == "hand-made"


# Signature and algorithm attacks ------------------------------------------------------------


def test_an_unsigned_token_with_alg_none_is_rejected(
    verifier: AccessTokenVerifier, rsa_public: PublicKey
) -> None:
    header = {"alg": "none", "typ": "at+jwt", "kid": rsa_public.kid}
    token = hand_made_token(header, access_claims(), lambda _: b"")

    assert "RS256" in rejection(verifier, token).description


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_is_rejected_in_any_letter_case_even_with_a_signature_segment(
    verifier: AccessTokenVerifier, rsa_public: PublicKey, alg: str
) -> None:
    header = {"alg": alg, "typ": "at+jwt", "kid": rsa_public.kid}
    token = hand_made_token(header, access_claims(), lambda _: b"anything")

    rejection(verifier, token)


@pytest.mark.parametrize("encoding", ["pem", "der", "jwk-json"])
def test_a_token_signed_with_hs256_using_the_public_key_is_rejected(
    verifier: AccessTokenVerifier, rsa_public: PublicKey, encoding: str
) -> None:
    # The classic confusion: a verifier that lets the header pick the algorithm would run
    # HMAC with the (public!) RSA key bytes as the secret, and this forgery would pass.
    secrets_an_attacker_has = {
        "pem": rsa_public.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "der": rsa_public.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "jwk-json": json.dumps(rsa_public.to_jwk()).encode(),
    }
    secret = secrets_an_attacker_has[encoding]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_public.kid}
    token = hand_made_token(
        header, access_claims(), lambda data: hmac.new(secret, data, hashlib.sha256).digest()
    )

    assert rejection(verifier, token).description == "The access token must be signed with RS256"


def test_a_token_signed_by_a_foreign_rsa_key_under_the_trusted_kid_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, foreign_rsa_private_key: rsa.RSAPrivateKey
) -> None:
    token = mint(key=foreign_rsa_private_key)

    assert rejection(verifier, token).description == "The access token signature is invalid"


def test_a_token_whose_header_embeds_the_attackers_own_jwk_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, foreign_rsa_private_key: rsa.RSAPrivateKey
) -> None:
    foreign = public_key(foreign_rsa_private_key.public_key())
    token = mint(
        key=foreign_rsa_private_key,
        headers={"kid": foreign.kid, "jwk": foreign.to_jwk(), "jku": "https://evil.example/"},
    )

    assert rejection(verifier, token).description == "The access token was signed by an unknown key"


@pytest.mark.parametrize("kind", ["ec", "ed25519"])
def test_a_token_of_another_algorithm_under_the_kid_of_the_rs256_key_is_rejected(
    kind: str, verifier: AccessTokenVerifier, mint: Mint, private_keys: dict[str, PrivateKey]
) -> None:
    alg = {"ec": "ES256", "ed25519": "EdDSA"}[kind]
    token = mint(key=private_keys[kind], alg=alg)

    assert rejection(verifier, token).description == "The access token must be signed with RS256"


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
def test_a_token_signed_by_the_trusted_rsa_key_with_another_rsa_algorithm_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, alg: str
) -> None:
    # The key is pinned to one algorithm: RS256 only, even for signatures the key really made.
    assert "RS256" in rejection(verifier, mint(alg=alg)).description


def test_an_rs256_token_under_the_kid_of_a_trusted_es256_key_is_rejected(
    mint: Mint, ec_private_key: ec.EllipticCurvePrivateKey
) -> None:
    trusted = public_key(ec_private_key.public_key())
    verifier = AccessTokenVerifier(StaticKeySource(trusted), issuer=ISSUER, audience=AUDIENCE)

    token = mint(headers={"kid": trusted.kid})

    assert rejection(verifier, token).description == "The access token must be signed with ES256"


def test_a_token_whose_claims_were_changed_after_signing_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    header, _, signature = mint().split(".")
    forged_claims = b64url(json.dumps(access_claims(sub="admin")).encode())

    token = f"{header}.{forged_claims}.{signature}"

    assert rejection(verifier, token).description == "The access token signature is invalid"


def test_a_token_without_its_signature_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    header, claims, _ = mint().split(".")

    rejection(verifier, f"{header}.{claims}.")


# Key id -------------------------------------------------------------------------------------


def test_a_token_signed_by_an_unknown_kid_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = mint(headers={"kid": "no-such-key"})

    assert rejection(verifier, token).description == "The access token was signed by an unknown key"


@pytest.mark.parametrize("kid", [None, ""], ids=["missing", "empty"])
def test_a_token_without_a_kid_is_rejected_before_any_key_lookup(
    verifier: AccessTokenVerifier, key_source: StaticKeySource, mint: Mint, kid: Any
) -> None:
    token = mint(drop_headers=["kid"]) if kid is None else mint(headers={"kid": kid})

    assert rejection(verifier, token).description == "The access token names no signing key (kid)"
    assert key_source.asked == []


@pytest.mark.parametrize("kid", [42, ["kid"], {"kid": 1}, None], ids=["int", "list", "obj", "null"])
def test_a_token_whose_kid_is_not_a_string_is_rejected_before_any_key_lookup(
    verifier: AccessTokenVerifier, key_source: StaticKeySource, kid: Any
) -> None:
    header = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    token = hand_made_token(header, access_claims(), lambda _: b"signature")

    rejection(verifier, token)
    assert key_source.asked == []


# Claims -------------------------------------------------------------------------------------


def test_a_token_from_another_issuer_is_rejected(verifier: AccessTokenVerifier, mint: Mint) -> None:
    token = mint(claims={"iss": "https://evil.example"})

    assert rejection(verifier, token).description == "The access token has an unexpected issuer"


@pytest.mark.parametrize("aud", ["another-api", ["another-api", "a third"]])
def test_a_token_for_another_audience_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, aud: Any
) -> None:
    token = mint(claims={"aud": aud})

    assert "audience" in rejection(verifier, token).description


@pytest.mark.parametrize("aud", ["", []], ids=["empty-string", "empty-list"])
def test_an_empty_audience_counts_as_a_missing_one(
    verifier: AccessTokenVerifier, mint: Mint, aud: Any
) -> None:
    token = mint(claims={"aud": aud})

    assert rejection(verifier, token).description == "The access token lacks the aud claim"


@pytest.mark.parametrize("claim", REQUIRED_CLAIMS)
def test_a_token_missing_a_required_claim_is_rejected_naming_it(
    verifier: AccessTokenVerifier, mint: Mint, claim: str
) -> None:
    token = mint(drop=[claim])

    assert rejection(verifier, token).description == f"The access token lacks the {claim} claim"


def test_an_expired_token_is_rejected_as_expired(verifier: AccessTokenVerifier, mint: Mint) -> None:
    token = mint(claims={"iat": int(time.time()) - 600, "exp": int(time.time()) - 1})

    error = rejection(verifier, token)

    assert error.expired is True
    assert error.description == "The access token expired"


def test_a_token_expired_just_beyond_the_leeway_is_rejected(
    key_source: StaticKeySource, mint: Mint
) -> None:
    verifier = AccessTokenVerifier(key_source, issuer=ISSUER, audience=AUDIENCE, leeway=30)

    assert rejection(verifier, mint(claims={"exp": int(time.time()) - 60})).expired is True


def test_only_expiry_marks_a_rejection_as_expired(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    assert rejection(verifier, mint(claims={"iss": "elsewhere"})).expired is False


def test_a_token_not_valid_before_a_future_time_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = mint(claims={"nbf": int(time.time()) + 60})

    error = rejection(verifier, token)

    assert error.description == "The access token is not valid yet"
    assert error.expired is False


def test_a_token_issued_in_the_future_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = mint(claims={"iat": int(time.time()) + 3600})

    assert rejection(verifier, token).description == "The access token is not valid yet"


@pytest.mark.parametrize("sub", [42, "", None, ["user-1"]], ids=["int", "empty", "null", "list"])
def test_a_token_whose_sub_is_not_a_non_empty_string_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, sub: Any
) -> None:
    rejection(verifier, mint(claims={"sub": sub}))


@pytest.mark.parametrize("scope", [["notes:read"], 1, None, {"notes:read": True}])
def test_a_token_whose_scope_is_not_a_string_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, scope: Any
) -> None:
    rejection(verifier, mint(claims={"scope": scope}))


@pytest.mark.parametrize(
    "claims",
    [{"jti": 5}, {"exp": 4_000_000_000.5}, {"exp": "soon"}, {"nbf": "x"}, {"iat": "now"}],
    ids=["jti-int", "exp-float", "exp-text", "nbf-text", "iat-text"],
)
def test_a_token_with_a_mistyped_registered_claim_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, claims: dict[str, Any]
) -> None:
    rejection(verifier, mint(claims=claims))


# Token type ---------------------------------------------------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "refresh+jwt", "at+jwt ", 1])
def test_a_token_whose_typ_is_not_the_access_token_type_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint, typ: Any
) -> None:
    error = rejection(verifier, mint(headers={"typ": typ}))

    assert error.description == "The token is not an access token (typ must be at+jwt)"


def test_a_token_without_a_typ_header_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    token = mint(drop_headers=["typ"])

    assert "typ" not in jwt.get_unverified_header(token)
    assert "typ must be at+jwt" in rejection(verifier, token).description


# Not a token at all -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "...",
        "e30.e30.",
        "W10.e30.c2ln",  # header is a JSON array
        "bnVsbA.e30.c2ln",  # header is JSON null
        "eyJhbGciOiJSUzI1NiJ9",  # header only
        "eyJ0eXAiOiJhdCtqd3QiLCJraWQiOiJ4In0.!!!.???",
        "é.é.é",
        "\x00\x00.\x00.\x00",
        "Bearer eyJ0eXAiOiJhdCtqd3QifQ.e30.e30",
    ],
)
def test_a_garbage_string_is_rejected_as_invalid_not_an_error(
    verifier: AccessTokenVerifier, garbage: str
) -> None:
    rejection(verifier, garbage)


def test_a_refresh_token_is_not_accepted_as_an_access_token(verifier: AccessTokenVerifier) -> None:
    refresh_token = new_refresh_token()

    assert rejection(verifier, refresh_token).description == "The access token is malformed"
    rejection(verifier, child_token(refresh_token, "0" * 32))


def test_a_header_payload_that_is_not_json_is_rejected(
    verifier: AccessTokenVerifier, mint: Mint
) -> None:
    header, _, signature = mint().split(".")

    rejection(verifier, f"{header}.{b64url(b'not json')}.{signature}")
