"""All JWT and key work: Ed25519 keys, registration tokens and host tokens (EdDSA only).

Follows RFC 8725: the algorithm is fixed by the verifier, never taken from the token; header
fields that point elsewhere for keys (`kid`, `jku`, `x5u`) are ignored; `crit` is refused.
And RFC 7519 strictly, before any signature work: each segment is base64url, its JSON is
UTF-8 (no BOM, no UTF-16) with no duplicate member names and no NaN or Infinity, and the
NumericDate claims (`exp`, `nbf`, `iat`) are JSON numbers (not booleans, not strings).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "EdDSA"
MAX_TOKEN_BYTES = 8 * 1024
MAX_HOST_TOKEN_LIFETIME_SECONDS = 600
CLOCK_SKEW_SECONDS = 5
HOST_TOKEN_LIFETIME_SECONDS = 60
NUMERIC_DATE_CLAIMS = ("exp", "iat", "nbf")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class InvalidToken(Exception):
    """The token is not acceptable. The message is safe to show to the client."""


class InvalidKey(Exception):
    """A PEM key could not be used."""


@dataclass(frozen=True)
class SigningKey:
    """A registration's Ed25519 signing key."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        return cls(_load_private_key(pem))

    def to_pem(self) -> bytes:
        """PKCS#8 PEM, as upstream stores it in the registration's Secret (`privKey`)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def public_pem(self) -> str:
        return (
            self.private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM)


def issue_registration_token(key: SigningKey, uri: str, duration_seconds: float = 0) -> str:
    """A registration token as upstream's operator issues it; no `exp` when duration is 0,
    an expired one when it is negative."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iat": now,
        "nbf": now,
        "iss": "ElementalRegistrationReconciler",
        "sub": uri,
        "aud": [uri],
    }
    if duration_seconds > 0:
        claims["exp"] = now + int(duration_seconds)
    elif duration_seconds < 0:
        # A negative duration (upstream's way to freeze a registration) means already expired.
        claims["exp"] = now - CLOCK_SKEW_SECONDS - 1
    return key.sign(claims)


def issue_host_token(key: SigningKey, host_name: str, uri: str, issuer: str = "elemental-agent") -> str:
    """A host token as the agent signs it for every request: one minute of validity."""
    now = int(time.time())
    return key.sign(
        {
            "iat": now,
            "nbf": now - 2,
            "exp": now + HOST_TOKEN_LIFETIME_SECONDS,
            "iss": issuer,
            "sub": host_name,
            "aud": [uri],
        }
    )


def verify_registration_token(token: str, *, signing_key_pem: bytes, uri: str) -> dict[str, Any]:
    """Checks a registration token: EdDSA, signed by the registration key, sub = aud = URI."""
    remembered = _VERIFIED_REGISTRATION_TOKENS.get(token, signing_key_pem, uri)
    if remembered is not None:
        return remembered
    try:
        public_key = _load_private_key(signing_key_pem).public_key()
    except InvalidKey as error:
        raise InvalidKey("registration signing key is unusable") from error
    claims = _decode(token, public_key, uri, required=["sub", "aud"])
    if claims.get("sub") != uri:
        raise InvalidToken("token subject does not match this registration")
    _VERIFIED_REGISTRATION_TOKENS.put(token, signing_key_pem, uri, claims, verified_at=time.time())
    return claims


class _VerifiedTokens:
    """Registration tokens already verified, by (token, key, URI).

    Every host of a registration presents the same token, so a burst of registrations would
    check one signature over and over. A token that verified stays valid for the same key
    and URI until its `exp` passes, counted as PyJWT counts it (refused once exp <= now -
    leeway); its `nbf` and `iat` can only go on passing while the clock moves forward, and a
    clock earlier than the end of the first check is a miss. Refusals are never remembered,
    so each gets PyJWT's own answer; a rotated key is a miss, so the old token is refused."""

    def __init__(self, size: int, clock: Callable[[], float] = time.time) -> None:
        self._size = size
        self._clock = clock
        self._entries: dict[tuple[str, bytes, str], tuple[dict[str, Any], float, float]] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, token: str, key_pem: bytes, uri: str) -> dict[str, Any] | None:
        now = self._clock()
        with self._lock:
            entry = self._entries.get((token, key_pem, uri))
            if entry is None or not entry[1] <= now < entry[2]:
                return None
            self.hits += 1
            return dict(entry[0])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def put(
        self, token: str, key_pem: bytes, uri: str, claims: dict[str, Any], *, verified_at: float
    ) -> None:
        expires = claims.get("exp")
        # PyJWT truncates `exp` to an integer before it compares (api_jwt.py, _validate_exp).
        valid_until = math.inf if expires is None else int(expires) + CLOCK_SKEW_SECONDS
        with self._lock:
            if len(self._entries) >= self._size:
                del self._entries[next(iter(self._entries))]  # the oldest: registrations are few
            self._entries[(token, key_pem, uri)] = (dict(claims), verified_at, valid_until)


_VERIFIED_REGISTRATION_TOKENS = _VerifiedTokens(size=1024)


def verify_host_token(token: str, *, public_key_pem: str, host_name: str, uri: str) -> dict[str, Any]:
    """Checks a host token: EdDSA, signed by the host key, sub = host, aud = URI, short-lived."""
    public_key = load_public_key(public_key_pem)
    claims = _decode(token, public_key, uri, required=["exp", "iat", "sub", "aud"])
    if claims.get("sub") != host_name:
        raise InvalidToken("token subject does not match this host")
    lifetime = claims["exp"] - claims["iat"]
    if lifetime > MAX_HOST_TOKEN_LIFETIME_SECONDS:
        raise InvalidToken("token lifetime is over 10 minutes")
    return claims


@functools.lru_cache(maxsize=4096)
def load_public_key(pem: str) -> Ed25519PublicKey:
    """Parses a PEM Ed25519 public key; cached, since every check-in needs its host's key."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError, UnicodeError) as error:
        raise InvalidKey("not a PEM public key") from error
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidKey("not an Ed25519 public key")
    return key


@functools.lru_cache(maxsize=1024)
def _load_private_key(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidKey("not a PEM private key") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidKey("not an Ed25519 private key")
    return key


def _decode(token: str, key: Ed25519PublicKey, uri: str, required: list[str]) -> dict[str, Any]:
    _check_structure(token)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=uri,
            leeway=CLOCK_SKEW_SECONDS,
            options={"require": required, "verify_exp": True, "verify_nbf": True, "verify_iat": True},
        )
    except jwt.ExpiredSignatureError as error:
        raise InvalidToken("token has expired") from error
    except jwt.ImmatureSignatureError as error:
        raise InvalidToken("token is not valid yet") from error
    except jwt.InvalidAudienceError as error:
        raise InvalidToken("token audience does not match this registration") from error
    except jwt.MissingRequiredClaimError as error:
        raise InvalidToken(f"token lacks the '{error.claim}' claim") from error
    except jwt.InvalidSignatureError as error:
        raise InvalidToken("token signature is not valid") from error
    except jwt.PyJWTError as error:
        raise InvalidToken("token is not valid") from error
    return claims


def _check_structure(token: str) -> None:
    """Structural checks before any signature work; never trusts the header for key choice."""
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken("token is too large")
    segments = token.split(".")
    if len(segments) != 3:
        raise InvalidToken("token is not a compact JWS")
    header = _decode_segment(segments[0])
    if not isinstance(header, dict):
        raise InvalidToken("token header is not a JSON object")
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("token algorithm is not EdDSA")
    if "crit" in header:
        raise InvalidToken("token has critical header extensions this server does not support")
    claims = _decode_segment(segments[1])
    if not isinstance(claims, dict):
        raise InvalidToken("token payload is not a JSON object")
    for claim in NUMERIC_DATE_CLAIMS:
        if claim in claims and not _is_numeric_date(claims[claim]):
            raise InvalidToken(f"token claim '{claim}' is not a number")


def _is_numeric_date(value: Any) -> bool:
    """A JSON number (RFC 7519 NumericDate): Python's bool is an int, so it is named here."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _decode_segment(segment: str) -> Any:
    """A segment's JSON: base64url of UTF-8 (Python's json would also take UTF-16 and a BOM)."""
    if not _BASE64URL.fullmatch(segment):
        raise InvalidToken("token is not valid base64url JSON")
    try:
        text = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
        return json.loads(text, object_pairs_hook=_unique_members, parse_constant=_no_constant)
    except (binascii.Error, ValueError, UnicodeError, RecursionError) as error:
        raise InvalidToken("token is not valid base64url JSON") from error


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) != len(pairs):
        raise ValueError("duplicate member name")
    return members


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")
