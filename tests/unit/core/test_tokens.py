"""Tokens: Ed25519 keys, registration and host tokens as issued, and every refusal of a token
or key (RFC 8725: the verifier fixes the algorithm, `crit` is refused, header key hints ignored)."""

from __future__ import annotations

import base64
import json
import math
import time
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from elemental_core import tokens
from elemental_core.tokens import InvalidKey, InvalidToken, SigningKey
from tests.unit.core.clock import window

URI = "https://api.example/elemental/v1/namespaces/default/registrations/reg"
HOST = "host-1"
KEY = SigningKey.generate()
KEY_PEM = KEY.to_pem()
OTHER_KEY = SigningKey.generate()


def segment(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def forge(payload: Any, header: Any = None, key: SigningKey = KEY) -> str:
    """A compact JWS with any header and payload, signed with Ed25519 by `key`."""
    signing_input = f"{segment(header or {'alg': 'EdDSA', 'typ': 'JWT'})}.{segment(payload)}"
    signature = key.private_key.sign(signing_input.encode())
    return f"{signing_input}.{segment(signature)}"


def payload_of(token: str) -> dict[str, Any]:
    """The claims, read without verifying (to look at tokens that verification refuses)."""
    part = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def now() -> int:
    return math.floor(time.time())


def host_claims(**changes: Any) -> dict[str, Any]:
    issued = now()
    claims = {"iat": issued, "nbf": issued, "exp": issued + 60, "iss": "test", "sub": HOST, "aud": [URI]}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def registration_claims(**changes: Any) -> dict[str, Any]:
    issued = now()
    claims = {"iat": issued, "nbf": issued, "iss": "test", "sub": URI, "aud": [URI]}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def verify_host(token: str, key: SigningKey = KEY) -> dict[str, Any]:
    return tokens.verify_host_token(token, public_key_pem=key.public_pem(), host_name=HOST, uri=URI)


def verify_registration(token: str) -> dict[str, Any]:
    return tokens.verify_registration_token(token, signing_key_pem=KEY_PEM, uri=URI)


def refusal(verify: Any, token: str) -> str:
    with pytest.raises(InvalidToken) as refused:
        verify(token)
    return str(refused.value)


# -- keys ----------------------------------------------------------------------------------------


def test_a_signing_key_round_trips_through_pkcs8_pem() -> None:
    pem = KEY.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert SigningKey.from_pem(pem).public_pem() == KEY.public_pem()
    assert SigningKey.generate().public_pem() != KEY.public_pem()


def test_the_public_pem_loads_as_the_keys_public_half() -> None:
    public_pem = KEY.public_pem()
    assert public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert (
        tokens.load_public_key(public_pem).public_bytes_raw()
        == KEY.private_key.public_key().public_bytes_raw()
    )


def test_sign_makes_an_eddsa_jws_of_the_claims() -> None:
    token = KEY.sign({"sub": "x"})
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "EdDSA"
    assert payload_of(token) == {"sub": "x"}


def ec_private_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def ec_public_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"not a key", "not a PEM private key"),
        (b"", "not a PEM private key"),
        (KEY.public_pem().encode(), "not a PEM private key"),
        (ec_private_pem(), "not an Ed25519 private key"),
    ],
    ids=["garbage", "empty", "a-public-key", "ec-key"],
)
def test_unusable_private_keys(pem: bytes, message: str) -> None:
    with pytest.raises(InvalidKey, match=f"^{message}$"):
        SigningKey.from_pem(pem)


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        ("not a key", "not a PEM public key"),
        ("", "not a PEM public key"),
        ("\ud800", "not a PEM public key"),
        (ec_public_pem(), "not an Ed25519 public key"),
    ],
    ids=["garbage", "empty", "not-encodable", "ec-key"],
)
def test_unusable_public_keys(pem: str, message: str) -> None:
    with pytest.raises(InvalidKey, match=f"^{message}$"):
        tokens.load_public_key(pem)


def test_a_host_token_checked_against_an_unusable_key_is_a_key_error() -> None:
    with pytest.raises(InvalidKey, match=r"^not an Ed25519 public key$"):
        tokens.verify_host_token(
            tokens.issue_host_token(KEY, HOST, URI), public_key_pem=ec_public_pem(), host_name=HOST, uri=URI
        )


@pytest.mark.parametrize("pem", [b"not a key", ec_private_pem()], ids=["garbage", "ec-key"])
def test_a_registration_token_checked_against_an_unusable_key_is_a_key_error(pem: bytes) -> None:
    token = tokens.issue_registration_token(KEY, URI)
    with pytest.raises(InvalidKey, match=r"^registration signing key is unusable$") as refused:
        tokens.verify_registration_token(token, signing_key_pem=pem, uri=URI)
    assert isinstance(refused.value.__cause__, InvalidKey)


# -- issuing ---------------------------------------------------------------------------------------


def test_a_registration_token_without_duration_never_expires() -> None:
    with window() as span:
        token = tokens.issue_registration_token(KEY, URI)
    claims = verify_registration(token)
    assert set(claims) == {"iat", "nbf", "iss", "sub", "aud"}
    assert span.holds_seconds(claims["iat"])
    assert claims["nbf"] == claims["iat"]
    assert claims["iss"] == "ElementalRegistrationReconciler"
    assert claims["sub"] == URI
    assert claims["aud"] == [URI]


@pytest.mark.parametrize(("duration", "lifetime"), [(3600, 3600), (1, 1), (90.7, 90)])
def test_a_registration_token_with_a_duration_expires_after_it(duration: float, lifetime: int) -> None:
    claims = payload_of(tokens.issue_registration_token(KEY, URI, duration))
    assert claims["exp"] - claims["iat"] == lifetime


def test_a_negative_duration_issues_an_already_expired_token() -> None:
    token = tokens.issue_registration_token(KEY, URI, -1)
    claims = payload_of(token)
    assert claims["exp"] == claims["iat"] - tokens.CLOCK_SKEW_SECONDS - 1
    assert refusal(verify_registration, token) == "token has expired"


def test_a_host_token_lives_one_minute() -> None:
    with window() as span:
        token = tokens.issue_host_token(KEY, HOST, URI)
    claims = verify_host(token)
    assert span.holds_seconds(claims["iat"])
    assert claims == {
        "iat": claims["iat"],
        "nbf": claims["iat"] - 2,
        "exp": claims["iat"] + 60,
        "iss": "elemental-agent",
        "sub": HOST,
        "aud": [URI],
    }
    assert payload_of(tokens.issue_host_token(KEY, HOST, URI, issuer="other"))["iss"] == "other"


# -- verifying: what is accepted -------------------------------------------------------------------


def test_an_audience_given_as_a_string_is_accepted() -> None:
    assert verify_host(forge(host_claims(aud=URI)))["aud"] == URI


def test_key_hints_in_the_header_are_ignored() -> None:
    """kid/jku/x5u/jwk could point a naive verifier at an attacker's key; ours never looks."""
    header = {
        "alg": "EdDSA",
        "kid": "other",
        "jku": "https://attacker.example/keys",
        "x5u": "https://attacker.example/cert",
        "jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AAAA"},
    }
    assert verify_host(forge(host_claims(), header=header))["sub"] == HOST
    assert refusal(lambda t: verify_host(t, key=OTHER_KEY), forge(host_claims(), header=header)) == (
        "token signature is not valid"
    )


def test_a_host_token_may_live_ten_minutes() -> None:
    issued = now()
    assert verify_host(forge(host_claims(iat=issued, exp=issued + 600)))["exp"] == issued + 600


def test_clock_skew_of_a_few_seconds_is_tolerated() -> None:
    issued = now()
    assert verify_host(forge(host_claims(iat=issued - 60, exp=issued - 2)))
    assert verify_host(forge(host_claims(nbf=issued + tokens.CLOCK_SKEW_SECONDS)))
    assert verify_host(forge(host_claims(iat=issued + tokens.CLOCK_SKEW_SECONDS)))


def test_the_skew_is_five_seconds() -> None:
    assert tokens.CLOCK_SKEW_SECONDS == 5
    issued = now()
    assert refusal(verify_host, forge(host_claims(iat=issued - 60, exp=issued - 5))) == "token has expired"


def test_a_registration_token_needs_no_expiry() -> None:
    assert "exp" not in verify_registration(forge(registration_claims()))


# -- verifying: each refusal -----------------------------------------------------------------------


def deep(depth: int) -> bytes:
    """JSON nested `depth` arrays deep (unclosed: the parser recurses before it notices)."""
    return b"[" * depth


HEADER_REFUSALS = [
    pytest.param("x" * (8 * 1024 + 1), "token is too large", id="over-8-KiB"),
    pytest.param("x" * 8 * 1024, "token is not a compact JWS", id="8-KiB-is-not-too-large"),
    pytest.param("", "token is not a compact JWS", id="empty"),
    pytest.param("a.b", "token is not a compact JWS", id="two-segments"),
    pytest.param("a.b.c.d", "token is not a compact JWS", id="four-segments"),
    pytest.param("!!!.e30.sig", "token is not valid base64url JSON", id="header-not-base64"),
    pytest.param(
        f"{segment(b'not json')}.e30.sig", "token is not valid base64url JSON", id="header-not-json"
    ),
    pytest.param(segment(b"{\xff}") + ".e30.sig", "token is not valid base64url JSON", id="header-not-utf8"),
    pytest.param(f"{segment(deep(5000))}.e30.sig", "token is not valid base64url JSON", id="header-too-deep"),
    pytest.param(f"{segment(['EdDSA'])}.e30.sig", "token header is not a JSON object", id="header-a-list"),
    pytest.param(
        segment(b'{"alg": "none", "alg": "EdDSA"}') + ".e30.sig",
        "token is not valid base64url JSON",
        id="header-duplicate-member",
    ),
    pytest.param(forge(host_claims(), header={"typ": "JWT"}), "token algorithm is not EdDSA", id="no-alg"),
    pytest.param(forge(host_claims(), header={"alg": "none"}), "token algorithm is not EdDSA", id="alg-none"),
    pytest.param(
        forge(host_claims(), header={"alg": "HS256"}), "token algorithm is not EdDSA", id="alg-hs256"
    ),
    pytest.param(
        forge(host_claims(), header={"alg": "eddsa"}), "token algorithm is not EdDSA", id="alg-case"
    ),
    pytest.param(
        forge(host_claims(), header={"alg": "EdDSA", "crit": ["exp"]}),
        "token has critical header extensions this server does not support",
        id="crit",
    ),
    pytest.param(
        forge(host_claims(), header={"alg": "EdDSA", "crit": []}),
        "token has critical header extensions this server does not support",
        id="crit-empty",
    ),
]


@pytest.mark.parametrize(("token", "message"), HEADER_REFUSALS)
@pytest.mark.parametrize("verify", [verify_host, verify_registration], ids=["host", "registration"])
def test_structural_refusals(verify: Any, token: str, message: str) -> None:
    assert refusal(verify, token) == message


def test_an_hmac_token_keyed_with_the_public_key_is_refused() -> None:
    """The classic algorithm confusion: HS256 with the public PEM as the secret."""
    import hashlib
    import hmac

    signing_input = f"{segment({'alg': 'HS256'})}.{segment(host_claims())}"
    mac = hmac.new(KEY.public_pem().encode(), signing_input.encode(), hashlib.sha256).digest()
    assert refusal(verify_host, f"{signing_input}.{segment(mac)}") == "token algorithm is not EdDSA"


HOST_REFUSALS = [
    pytest.param(lambda: forge(host_claims(), key=OTHER_KEY), "token signature is not valid", id="other-key"),
    pytest.param(
        lambda: forge(host_claims())[:-4] + "AAAA", "token signature is not valid", id="bad-signature"
    ),
    pytest.param(
        lambda: forge(host_claims(sub="host-2")), "token subject does not match this host", id="other-host"
    ),
    pytest.param(lambda: forge(host_claims(sub=None)), "token lacks the 'sub' claim", id="no-sub"),
    pytest.param(lambda: forge(host_claims(aud=None)), "token lacks the 'aud' claim", id="no-aud"),
    pytest.param(lambda: forge(host_claims(exp=None)), "token lacks the 'exp' claim", id="no-exp"),
    pytest.param(lambda: forge(host_claims(iat=None)), "token lacks the 'iat' claim", id="no-iat"),
    pytest.param(
        lambda: forge(host_claims(aud=[URI + "-other"])),
        "token audience does not match this registration",
        id="other-aud",
    ),
    pytest.param(
        lambda: forge(host_claims(exp=now() + 601)),
        "token lifetime is over 10 minutes",
        id="lifetime-over-10-minutes",
    ),
    pytest.param(
        lambda: forge(host_claims(iat=now() - 3600, exp=now() - 60)), "token has expired", id="expired"
    ),
    pytest.param(lambda: forge(host_claims(nbf=now() + 60)), "token is not valid yet", id="nbf-in-future"),
    pytest.param(
        lambda: forge(host_claims(iat=now() + 60, exp=now() + 120)),
        "token is not valid yet",
        id="issued-in-future",
    ),
    pytest.param(
        lambda: forge(host_claims(exp=str(now() + 60))),
        "token claim 'exp' is not a number",
        id="exp-a-numeric-string",
    ),
    pytest.param(
        lambda: forge(host_claims(iat=str(now()))),
        "token claim 'iat' is not a number",
        id="iat-a-numeric-string",
    ),
    pytest.param(
        lambda: forge(host_claims(nbf=str(now()))),
        "token claim 'nbf' is not a number",
        id="nbf-a-numeric-string",
    ),
    pytest.param(lambda: forge(host_claims(exp=[1])), "token claim 'exp' is not a number", id="exp-a-list"),
    pytest.param(lambda: forge(host_claims(sub=7)), "token is not valid", id="sub-not-a-string"),
    pytest.param(lambda: forge(b"not json"), "token is not valid base64url JSON", id="payload-not-json"),
    pytest.param(lambda: forge([HOST]), "token payload is not a JSON object", id="payload-a-list"),
    pytest.param(
        lambda: forge(b'{"sub": "host-2", "sub": "host-1"}'),
        "token is not valid base64url JSON",
        id="payload-duplicate-member",
    ),
    pytest.param(
        lambda: forge(json.dumps(host_claims(x=math.nan)).encode()),
        "token is not valid base64url JSON",
        id="payload-nan",
    ),
    pytest.param(
        lambda: forge(json.dumps(host_claims(x=-math.inf)).encode()),
        "token is not valid base64url JSON",
        id="payload-infinity",
    ),
    pytest.param(lambda: forge(deep(3000)), "token is not valid base64url JSON", id="payload-too-deep"),
]


# Tokens are made when the test runs, not when it is collected: a suite that runs for
# minutes before reaching these must not see them expire.
@pytest.mark.parametrize(("token", "message"), HOST_REFUSALS)
def test_host_token_refusals(token: Callable[[], str], message: str) -> None:
    assert refusal(verify_host, token()) == message


def test_the_lifetime_is_measured_from_issue_to_expiry() -> None:
    issued = now()
    token = forge(host_claims(iat=issued - 300, nbf=issued - 300, exp=issued + 301))
    assert refusal(verify_host, token) == "token lifetime is over 10 minutes"


REGISTRATION_REFUSALS = [
    pytest.param(
        lambda: forge(registration_claims(), key=OTHER_KEY), "token signature is not valid", id="other-key"
    ),
    pytest.param(
        lambda: forge(registration_claims(sub=URI + "-other")),
        "token subject does not match this registration",
        id="sub-not-the-uri",
    ),
    pytest.param(
        lambda: forge(registration_claims(aud=[URI + "-other"])),
        "token audience does not match this registration",
        id="aud-not-the-uri",
    ),
    pytest.param(lambda: forge(registration_claims(sub=None)), "token lacks the 'sub' claim", id="no-sub"),
    pytest.param(lambda: forge(registration_claims(aud=None)), "token lacks the 'aud' claim", id="no-aud"),
    pytest.param(lambda: forge(registration_claims(exp=now() - 60)), "token has expired", id="expired"),
    pytest.param(
        lambda: forge(registration_claims(nbf=now() + 60)), "token is not valid yet", id="nbf-in-future"
    ),
    pytest.param(
        lambda: forge(registration_claims(exp=str(now() + 60))),
        "token claim 'exp' is not a number",
        id="exp-a-string",
    ),
]


@pytest.mark.parametrize(("token", "message"), REGISTRATION_REFUSALS)
def test_registration_token_refusals(token: Callable[[], str], message: str) -> None:
    assert refusal(verify_registration, token()) == message


def test_a_registration_token_is_bound_to_its_uri() -> None:
    token = tokens.issue_registration_token(KEY, URI)
    with pytest.raises(InvalidToken, match=r"^token audience does not match this registration$"):
        tokens.verify_registration_token(token, signing_key_pem=KEY_PEM, uri=URI + "-other")


def test_a_host_token_is_not_a_registration_token() -> None:
    assert refusal(verify_registration, tokens.issue_host_token(KEY, HOST, URI)) == (
        "token subject does not match this registration"
    )


# -- registration tokens already verified ----------------------------------------------------------


def test_a_verified_registration_token_is_not_checked_again() -> None:
    """Every host of a registration presents the same token: the second check is a lookup."""
    token = forge(registration_claims(jti="remembered"))
    hits = tokens._VERIFIED_REGISTRATION_TOKENS.hits
    verify_registration(token)["sub"] = "changed by a caller"  # checked
    verify_registration(token)["sub"] = "changed by a caller"  # remembered
    third = verify_registration(token)

    assert tokens._VERIFIED_REGISTRATION_TOKENS.hits == hits + 2
    assert third == payload_of(token)  # the claims, not what a caller did to an earlier answer


def test_a_verified_registration_token_is_refused_with_another_key() -> None:
    """A rotated signing key refuses the old token at once: the key is part of what is remembered."""
    token = forge(registration_claims(jti="rotated"))
    verify_registration(token)

    with pytest.raises(InvalidToken, match=r"^token signature is not valid$"):
        tokens.verify_registration_token(token, signing_key_pem=OTHER_KEY.to_pem(), uri=URI)


def test_a_verified_registration_token_is_refused_once_it_expires() -> None:
    # A float exp with .9: PyJWT truncates it, so it refuses the token 0.9 s before exp + skew;
    # the remembered verdict has to end then too, not at exp + skew.
    expires = now() - tokens.CLOCK_SKEW_SECONDS + 3.9
    token = forge(registration_claims(exp=expires))
    assert verify_registration(token)["exp"] == expires

    refused_from = int(expires) + tokens.CLOCK_SKEW_SECONDS
    while time.time() < refused_from:  # wait for the clock to reach it, then ask at once
        time.sleep(0.01)
    assert refusal(verify_registration, token) == "token has expired"


def test_a_refused_registration_token_is_refused_again_with_the_same_answer() -> None:
    token = forge(registration_claims(nbf=now() + 60, jti="early"))
    assert refusal(verify_registration, token) == "token is not valid yet"
    assert refusal(verify_registration, token) == "token is not valid yet"


# -- the remembered verdicts themselves (a clock of the test's own) ---------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


CLAIMS = {"sub": URI, "aud": [URI]}


def test_a_remembered_verdict_starts_when_it_was_reached() -> None:
    clock = Clock(100.0)
    remembered = tokens._VerifiedTokens(size=4, clock=clock)
    remembered.put("t", KEY_PEM, URI, CLAIMS, verified_at=100.0)
    assert remembered.get("t", KEY_PEM, URI) == CLAIMS  # at the very moment it was verified
    clock.now = 99.99  # a clock set back: the verdict was not reached yet
    assert remembered.get("t", KEY_PEM, URI) is None


def test_a_remembered_verdict_ends_when_pyjwt_would_refuse_the_token() -> None:
    """PyJWT truncates exp, then allows the skew: refused from int(exp) + 5 on."""
    clock = Clock(100.0)
    remembered = tokens._VerifiedTokens(size=4, clock=clock)
    remembered.put("t", KEY_PEM, URI, {**CLAIMS, "exp": 200.9}, verified_at=100.0)
    clock.now = 200.0 + tokens.CLOCK_SKEW_SECONDS - 0.01
    assert remembered.get("t", KEY_PEM, URI) == {**CLAIMS, "exp": 200.9}
    clock.now = 200.0 + tokens.CLOCK_SKEW_SECONDS
    assert remembered.get("t", KEY_PEM, URI) is None


def test_a_token_without_exp_is_remembered_for_good() -> None:
    clock = Clock(100.0)
    remembered = tokens._VerifiedTokens(size=4, clock=clock)
    remembered.put("t", KEY_PEM, URI, CLAIMS, verified_at=100.0)
    clock.now = 10.0**12
    assert remembered.get("t", KEY_PEM, URI) == CLAIMS


def test_a_verdict_is_remembered_for_its_token_key_and_uri_only() -> None:
    remembered = tokens._VerifiedTokens(size=4, clock=Clock(100.0))
    remembered.put("t", KEY_PEM, URI, CLAIMS, verified_at=100.0)
    assert remembered.get("u", KEY_PEM, URI) is None
    assert remembered.get("t", OTHER_KEY.to_pem(), URI) is None
    assert remembered.get("t", KEY_PEM, URI + "-other") is None
    assert remembered.hits == 0  # a new store has no hits, and misses are not hits
    remembered.get("t", KEY_PEM, URI)
    assert remembered.hits == 1


def test_the_oldest_verdict_is_forgotten_once_the_store_is_full() -> None:
    remembered = tokens._VerifiedTokens(size=2, clock=Clock(100.0))
    for token in ("first", "second", "third"):
        remembered.put(token, KEY_PEM, URI, CLAIMS, verified_at=100.0)
    assert remembered.get("first", KEY_PEM, URI) is None
    assert remembered.get("second", KEY_PEM, URI) == CLAIMS
    assert remembered.get("third", KEY_PEM, URI) == CLAIMS


def test_cleared_verdicts_are_gone() -> None:
    remembered = tokens._VerifiedTokens(size=2, clock=Clock(100.0))
    remembered.put("t", KEY_PEM, URI, CLAIMS, verified_at=100.0)
    remembered.clear()
    assert remembered.get("t", KEY_PEM, URI) is None


def test_a_registration_token_is_remembered_until_exp_and_the_skew() -> None:
    """Remembered past exp (the skew still lets PyJWT accept it), not just until exp - skew."""
    token = forge(registration_claims(exp=now() + 2, jti="until-exp"))
    verify_registration(token)
    hits = tokens._VERIFIED_REGISTRATION_TOKENS.hits
    verify_registration(token)
    assert tokens._VERIFIED_REGISTRATION_TOKENS.hits == hits + 1
