"""Item 10: token parsing follows RFC 7519 strictly. No bypass was possible (the signature
covers the bytes), but `nbf: true` passed as a number, and UTF-16 or BOM-prefixed payloads
were read. Every token here is correctly signed by the key the verifier trusts, with
otherwise acceptable claims: only the strict rules refuse it."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import pytest

from elemental_core import tokens
from tests.helpers import HostIdentity, assert_problem, registration_path


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(key: tokens.SigningKey, payload: bytes, header: bytes = b'{"alg":"EdDSA","typ":"JWT"}') -> str:
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    return f"{signing_input}.{b64url(key.private_key.sign(signing_input.encode()))}"


def host_payload(host: HostIdentity, **overrides: str) -> dict[str, str]:
    """The agent's claims as JSON text fragments, so a test can put any raw JSON in."""
    now = int(time.time())
    claims = {
        "iat": str(now),
        "nbf": str(now - 2),
        "exp": str(now + 60),
        "sub": f'"{host.name}"',
        "aud": f'["{host.registration.uri}"]',
    }
    claims.update(overrides)
    return claims


def render(claims: dict[str, str]) -> str:
    return "{" + ",".join(f'"{k}":{v}' for k, v in claims.items()) + "}"


Payload = Callable[[HostIdentity], bytes]
STRICT: dict[str, Payload] = {
    "nbf-true": lambda h: render(host_payload(h, nbf="true")).encode(),
    "nbf-false": lambda h: render(host_payload(h, nbf="false")).encode(),
    "exp-true": lambda h: render(host_payload(h, exp="true", iat="false")).encode(),
    "iat-string": lambda h: render(host_payload(h, iat=f'"{int(time.time())}"')).encode(),
    "exp-nan": lambda h: render(host_payload(h, exp="NaN")).encode(),
    "exp-infinity": lambda h: render(host_payload(h, exp="Infinity")).encode(),
    "exp-1e999": lambda h: render(host_payload(h, exp="1e999")).encode(),
    "utf-16": lambda h: render(host_payload(h)).encode("utf-16"),
    "utf-16-le-no-bom": lambda h: render(host_payload(h)).encode("utf-16-le"),
    "utf-8-bom": lambda h: b"\xef\xbb\xbf" + render(host_payload(h)).encode(),
    "duplicate-sub": lambda h: (
        render({**host_payload(h), "sub": '"someone-else"'})
        .replace('"sub":"someone-else"', f'"sub":"someone-else","sub":"{h.name}"')
        .encode()
    ),
    "exp-5000-digits": lambda h: render(host_payload(h, exp="9" * 5000)).encode(),
    "deeply-nested": lambda h: render(host_payload(h, x="[" * 3000 + "]" * 3000)).encode(),
}


def test_the_reference_token_is_accepted(client: Any, registered: HostIdentity) -> None:
    """The hand-made token with nothing wrong: what the strict cases change is all that fails."""
    token = signed(registered.key, render(host_payload(registered)).encode())
    response = client.patch(registered.path, json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("payload", STRICT.values(), ids=STRICT.keys())
def test_host_token_is_parsed_strictly(client: Any, registered: HostIdentity, payload: Payload) -> None:
    token = signed(registered.key, payload(registered))
    response = client.patch(registered.path, json={}, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403, "token")


@pytest.mark.parametrize(
    "header",
    [b'\xef\xbb\xbf{"alg":"EdDSA"}', '{"alg":"EdDSA"}'.encode("utf-16"), b'{"alg":"EdDSA","alg":"EdDSA"}'],
    ids=["bom", "utf-16", "duplicate-alg"],
)
def test_host_token_header_is_parsed_strictly(client: Any, registered: HostIdentity, header: bytes) -> None:
    token = signed(registered.key, render(host_payload(registered)).encode(), header=header)
    response = client.patch(registered.path, json={}, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403, "token")


@pytest.mark.parametrize("nbf", ["true", "false"])
def test_registration_token_numeric_dates_are_numbers(
    registration: Any, store: Any, client: Any, nbf: str
) -> None:
    """The registration token too (its key is the registration's)."""
    key = tokens.SigningKey.from_pem(store.get_signing_key(registration))
    uri = registration.uri
    token = signed(key, f'{{"iat":{int(time.time())},"nbf":{nbf},"sub":"{uri}","aud":["{uri}"]}}'.encode())
    response = client.get(
        registration_path(registration), headers={"Registration-Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 403, "token")
