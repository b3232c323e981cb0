"""Public key handling: RFC 7638 thumbprints, JWK round trips, and what a key set may hold."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.utils import base64url_decode

from auth_service.keystore import PrivateKey
from shared.keys import (
    KeyFormatError,
    PublicKey,
    PublicKeyType,
    algorithm_for,
    jwks_document,
    parse_jwks,
    parse_key_set,
    public_key,
    thumbprint,
)

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_E = "AQAB"
RFC7638_KID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def rfc7638_key() -> rsa.RSAPublicKey:
    n = int.from_bytes(base64url_decode(RFC7638_N), "big")
    e = int.from_bytes(base64url_decode(RFC7638_E), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def pem(key: PublicKeyType) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def der(key: PublicKeyType) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def jwks_text(*jwks: dict[str, Any]) -> str:
    return json.dumps({"keys": list(jwks)})


@pytest.fixture(params=["rsa", "ec", "ed25519"])
def any_public_key(
    request: pytest.FixtureRequest, private_keys: dict[str, PrivateKey]
) -> PublicKey:
    return public_key(private_keys[request.param].public_key())


# Thumbprints --------------------------------------------------------------------------------


def test_the_thumbprint_of_the_rfc_7638_example_key_is_the_one_the_rfc_gives() -> None:
    assert thumbprint(rfc7638_key()) == RFC7638_KID


def test_a_public_key_is_named_by_its_thumbprint_and_signs_with_rs256() -> None:
    key = public_key(rfc7638_key())

    assert key.kid == RFC7638_KID
    assert key.alg == "RS256"


def test_a_jwks_entry_keeps_the_kid_its_document_gives_it() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": RFC7638_E, "kid": "2011-04-29", "alg": "RS256"}

    keys = parse_key_set(jwks_text(jwk))

    assert list(keys) == ["2011-04-29"]
    assert thumbprint(keys["2011-04-29"].key) == RFC7638_KID


def test_different_keys_have_different_thumbprints(
    rsa_private_key: rsa.RSAPrivateKey, foreign_rsa_private_key: rsa.RSAPrivateKey
) -> None:
    assert thumbprint(rsa_private_key.public_key()) != thumbprint(
        foreign_rsa_private_key.public_key()
    )


def test_a_thumbprint_is_base64url_of_a_sha256_digest_without_padding(
    any_public_key: PublicKey,
) -> None:
    kid = thumbprint(any_public_key.key)

    assert len(kid) == 43
    assert "=" not in kid and "+" not in kid and "/" not in kid
    assert len(base64url_decode(kid)) == 32


# JWK round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "alg", "kty"),
    [("rsa", "RS256", "RSA"), ("ec", "ES256", "EC"), ("ed25519", "EdDSA", "OKP")],
)
def test_each_supported_key_type_survives_a_jwk_round_trip(
    kind: str,
    alg: str,
    kty: str,
    private_keys: dict[str, PrivateKey],
) -> None:
    private = private_keys[kind]
    original = public_key(private.public_key())

    jwk = original.to_jwk()
    parsed = parse_jwks({"keys": [jwk]})

    assert (jwk["kty"], jwk["kid"], jwk["use"], jwk["alg"]) == (kty, original.kid, "sig", alg)
    assert list(parsed) == [original.kid]
    assert parsed[original.kid].alg == alg
    assert der(parsed[original.kid].key) == der(original.key)
    assert thumbprint(parsed[original.kid].key) == original.kid


def test_a_published_jwk_holds_no_private_member(any_public_key: PublicKey) -> None:
    jwk = any_public_key.to_jwk()

    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & set(jwk)


def test_a_jwks_document_lists_every_key_and_parses_back_to_the_same_set(
    rsa_public: PublicKey,
    ec_private_key: ec.EllipticCurvePrivateKey,
    ed25519_private_key: ed25519.Ed25519PrivateKey,
) -> None:
    keys = [
        rsa_public,
        public_key(ec_private_key.public_key()),
        public_key(ed25519_private_key.public_key()),
    ]

    document = jwks_document(keys)
    parsed = parse_key_set(json.dumps(document))

    assert [jwk["kid"] for jwk in document["keys"]] == [key.kid for key in keys]
    assert {kid: key.alg for kid, key in parsed.items()} == {key.kid: key.alg for key in keys}


def test_a_jwks_entry_without_use_or_alg_is_taken_as_a_signing_key_of_its_type(
    rsa_public: PublicKey,
) -> None:
    jwk = {k: v for k, v in rsa_public.to_jwk().items() if k not in ("use", "alg")}

    parsed = parse_jwks({"keys": [jwk]})

    assert parsed[rsa_public.kid].alg == "RS256"


# PEM ----------------------------------------------------------------------------------------


def test_a_pem_public_key_is_parsed_into_a_set_of_one_named_by_its_thumbprint(
    any_public_key: PublicKey,
) -> None:
    keys = parse_key_set(pem(any_public_key.key))

    assert list(keys) == [any_public_key.kid]
    assert keys[any_public_key.kid].alg == any_public_key.alg
    assert der(keys[any_public_key.kid].key) == der(any_public_key.key)


def test_a_pem_given_as_text_with_surrounding_whitespace_is_accepted(
    rsa_public: PublicKey,
) -> None:
    text = "\n  " + pem(rsa_public.key).decode() + "\n\n"

    assert list(parse_key_set(text)) == [rsa_public.kid]


# Rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "private_format",
    [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL],
)
def test_a_private_key_pem_is_refused_so_a_verifier_never_holds_a_signing_key(
    rsa_private_key: rsa.RSAPrivateKey, private_format: serialization.PrivateFormat
) -> None:
    private_pem = rsa_private_key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    )

    with pytest.raises(KeyFormatError, match="private key"):
        parse_key_set(private_pem)


def test_a_pem_bundle_that_also_holds_a_private_key_is_refused(
    rsa_private_key: rsa.RSAPrivateKey, rsa_public: PublicKey
) -> None:
    private_pem = rsa_private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )

    with pytest.raises(KeyFormatError, match="private key"):
        parse_key_set(pem(rsa_public.key) + private_pem)


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
def test_a_jwks_key_with_a_private_d_member_is_refused(
    kind: str,
    private_keys: dict[str, PrivateKey],
) -> None:
    private = private_keys[kind]
    jwk = public_key(private.public_key()).to_jwk()
    jwk["d"] = "AQAB"

    with pytest.raises(KeyFormatError, match="private or symmetric"):
        parse_key_set(jwks_text(jwk))


def test_a_symmetric_oct_key_is_refused_so_nobody_can_mint_hs256_tokens() -> None:
    jwk = {"kty": "oct", "kid": "shared-secret", "k": "c2VjcmV0", "alg": "HS256"}

    with pytest.raises(KeyFormatError, match="private or symmetric"):
        parse_key_set(jwks_text(jwk))


@pytest.mark.parametrize("use", ["enc", "", None, 1])
def test_a_key_whose_use_is_not_sig_is_refused(rsa_public: PublicKey, use: Any) -> None:
    jwk = {**rsa_public.to_jwk(), "use": use}

    with pytest.raises(KeyFormatError, match="use must be sig"):
        parse_key_set(jwks_text(jwk))


@pytest.mark.parametrize(
    ("kind", "alg"),
    [
        ("rsa", "RS384"),
        ("rsa", "PS256"),
        ("rsa", "ES256"),
        ("rsa", "HS256"),
        ("rsa", "none"),
        ("ec", "RS256"),
        ("ec", "ES384"),
        ("ed25519", "RS256"),
        ("ed25519", "ES256"),
    ],
)
def test_a_key_whose_alg_does_not_match_its_key_type_is_refused(
    kind: str,
    alg: str,
    private_keys: dict[str, PrivateKey],
) -> None:
    private = private_keys[kind]
    jwk = {**public_key(private.public_key()).to_jwk(), "alg": alg}

    with pytest.raises(KeyFormatError, match=jwk["kid"]):
        parse_key_set(jwks_text(jwk))


@pytest.mark.parametrize("kid", [None, "", 42, ["a"]], ids=["missing", "empty", "int", "list"])
def test_a_jwks_key_without_a_string_kid_is_refused(rsa_public: PublicKey, kid: Any) -> None:
    jwk = rsa_public.to_jwk()
    if kid is None:
        del jwk["kid"]
    else:
        jwk["kid"] = kid

    with pytest.raises(KeyFormatError, match="needs a kid"):
        parse_key_set(jwks_text(jwk))


def test_a_jwks_document_with_no_keys_is_refused() -> None:
    with pytest.raises(KeyFormatError, match="no keys"):
        parse_key_set('{"keys": []}')


@pytest.mark.parametrize(
    "text",
    [
        b"",
        "   ",
        "not a key",
        "{",
        "[]",
        "null",
        '"keys"',
        "{}",
        '{"keys": {}}',
        '{"keys": "abc"}',
        '{"keys": [1]}',
        '{"keys": [null]}',
        b"\xff\xfe\x00garbage",
        "-----BEGIN PUBLIC KEY-----\nZ2FyYmFnZQ==\n-----END PUBLIC KEY-----\n",
        "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n",
    ],
)
def test_garbage_is_refused_with_a_key_format_error(text: str | bytes) -> None:
    with pytest.raises(KeyFormatError):
        parse_key_set(text)


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "RSA", "kid": "k", "e": "AQAB"},
        {"kty": "RSA", "kid": "k", "n": 5, "e": "AQAB"},
        {"kty": "RSA", "kid": "k", "n": "!!!", "e": "AQAB"},
        {"kid": "k", "n": RFC7638_N, "e": RFC7638_E},
        {"kty": "foo", "kid": "k"},
        {"kty": "EC", "kid": "k", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        {"kty": "OKP", "kid": "k", "crv": "Ed25519", "x": "AAAA"},
        {"kty": "OKP", "kid": "k", "crv": "X25519", "x": "A" * 43},
    ],
    ids=[
        "rsa-without-n",
        "rsa-n-not-a-string",
        "rsa-n-not-base64url",
        "no-kty",
        "unknown-kty",
        "ec-point-not-on-the-curve",
        "okp-short-x",
        "okp-key-agreement-curve",
    ],
)
def test_a_malformed_jwk_is_refused_with_a_key_format_error_naming_its_kid(
    jwk: dict[str, Any],
) -> None:
    with pytest.raises(KeyFormatError, match="key k"):
        parse_key_set(jwks_text(jwk))


def test_one_bad_key_spoils_the_whole_set(rsa_public: PublicKey) -> None:
    bad = {**rsa_public.to_jwk(), "kid": "other", "use": "enc"}

    with pytest.raises(KeyFormatError):
        parse_key_set(jwks_text(rsa_public.to_jwk(), bad))


def test_an_rsa_key_under_2048_bits_is_refused_as_pem_and_as_jwk() -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    jwk = {**PublicKey(kid="small", alg="RS256", key=small).to_jwk()}

    with pytest.raises(KeyFormatError, match="2048"):
        parse_key_set(pem(small))
    with pytest.raises(KeyFormatError, match="2048"):
        parse_key_set(jwks_text(jwk))
    with pytest.raises(KeyFormatError, match="2048"):
        algorithm_for(small)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()).public_key(),
        lambda: ed448.Ed448PrivateKey.generate().public_key(),
    ],
    ids=["ec-p384", "ed448"],
)
def test_a_public_key_of_an_unsupported_type_is_refused(make: Any) -> None:
    with pytest.raises(KeyFormatError, match="unsupported"):
        parse_key_set(pem(make()))


def test_an_unsupported_curve_in_a_jwks_is_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    jwk = {**PublicKey(kid="p384", alg="ES384", key=p384).to_jwk()}
    del jwk["alg"]

    with pytest.raises(KeyFormatError, match="unsupported"):
        parse_key_set(jwks_text(jwk))


def test_a_pem_public_key_of_an_algorithm_unknown_to_cryptography_is_refused() -> None:
    # SubjectPublicKeyInfo { algorithm 1.2.3.4, BIT STRING 0x0102 }
    spki = bytes.fromhex("300c300506032a03040303000102")
    text = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(spki).decode()
    text += "\n-----END PUBLIC KEY-----\n"

    with pytest.raises(KeyFormatError, match="not a PEM public key"):
        parse_key_set(text)
