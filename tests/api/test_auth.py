"""The auth matrix: every token check of every operation, through the real HTTP app.

getRegistration takes the registration token (`Registration-Authorization`); patchHost,
deleteHost and getBootstrap take a host token (`Authorization`); createHost takes both, its
host token signed by the key the body carries. A missing or non-Bearer header is 401, any
other bad token 403, and a refused request changes no record.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from elemental_api.store import Store
from elemental_core import registrations, tokens
from elemental_core.logs import JsonFormatter
from elemental_core.records import Bootstrap, Registration
from tests.helpers import (
    TEST_ENDPOINT,
    HostIdentity,
    assert_problem,
    make_registration,
    register,
    registration_path,
)

# --- hand-made tokens -------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


def eddsa(key: tokens.SigningKey, claims: dict[str, Any], **header: Any) -> str:
    """A correctly signed EdDSA token with extra header fields."""
    return compact({"alg": "EdDSA", "typ": "JWT", **header}, claims, key.private_key.sign)


def host_claims(name: str, uri: str, **changes: Any) -> dict[str, Any]:
    """The agent's claims; a change to None drops the claim."""
    now = int(time.time())
    claims = {
        "iat": now,
        "nbf": now - 2,
        "exp": now + 60,
        "iss": "elemental-agent",
        "sub": name,
        "aud": [uri],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def registration_claims(uri: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iat": now, "nbf": now, "iss": "ElementalRegistrationReconciler", "sub": uri, "aud": [uri]}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _swap_claims(token: str, claims: dict[str, Any]) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{segment(claims)}.{signature}"


# Each forgery gets the key the verifier trusts and the claims it would accept, and builds a
# token that must be refused (403) although its claims are right.
Forgery = Callable[[tokens.SigningKey, dict[str, Any]], str]
FORGERIES: dict[str, Forgery] = {
    "alg-none": lambda key, claims: compact({"alg": "none", "typ": "JWT"}, claims, lambda _: b""),
    "hs256-keyed-with-public-pem": lambda key, claims: compact(
        {"alg": "HS256", "typ": "JWT"},
        claims,
        lambda data: hmac.new(key.public_pem().encode(), data, hashlib.sha256).digest(),
    ),
    "rs256": lambda key, claims: jwt.encode(
        claims, rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS256"
    ),
    "es256": lambda key, claims: jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256"
    ),
    "no-alg-header": lambda key, claims: compact({"typ": "JWT"}, claims, key.private_key.sign),
    "unknown-crit": lambda key, claims: eddsa(key, claims, crit=["x-elemental"], **{"x-elemental": True}),
    "signed-by-another-key": lambda key, claims: eddsa(tokens.SigningKey.generate(), claims),
    "tampered-claims": lambda key, claims: _swap_claims(
        eddsa(key, {**claims, "sub": "someone-else"}), claims
    ),
    "empty-signature": lambda key, claims: eddsa(key, claims).rsplit(".", 1)[0] + ".",
    "two-segments": lambda key, claims: ".".join(eddsa(key, claims).split(".")[:2]),
    "four-segments": lambda key, claims: eddsa(key, claims) + ".AAAA",
    "bad-base64": lambda key, claims: "e*J!.hb$G%." + eddsa(key, claims).split(".")[2],
    "non-json-header": lambda key, claims: compact({}, claims, key.private_key.sign).replace(
        segment({}), b64url(b"not json{"), 1
    ),
    "over-8-kib": lambda key, claims: eddsa(key, {**claims, "pad": "x" * (9 * 1024)}),
}


# --- host-token operations --------------------------------------------------------------


@dataclass(frozen=True)
class HostOperation:
    name: str
    success: int


HOST_OPERATIONS = [
    HostOperation("createHost", 201),
    HostOperation("patchHost", 200),
    HostOperation("deleteHost", 202),
    HostOperation("getBootstrap", 200),
]


@dataclass
class HostTarget:
    """One host-token operation on `host`, ready to send with any Authorization header."""

    client: Any
    store: Store
    operation: HostOperation
    host: HostIdentity

    def send(self, authorization: str | None) -> Any:
        headers = {} if authorization is None else {"Authorization": authorization}
        name, host, client = self.operation.name, self.host, self.client
        if name == "createHost":
            headers["Registration-Authorization"] = f"Bearer {host.registration.token}"
            return client.post(host.hosts_path, json=host.create_body(), headers=headers)
        if name == "patchHost":
            return client.patch(host.path, json={"installed": True, "labels": {"x": "y"}}, headers=headers)
        if name == "deleteHost":
            return client.delete(host.path, headers=headers)
        return client.get(f"{host.path}/bootstrap", headers=headers)

    def send_token(self, token: str) -> Any:
        return self.send(f"Bearer {token}")

    def claims(self, **changes: Any) -> dict[str, Any]:
        return host_claims(self.host.name, self.host.registration.uri, **changes)

    def record(self) -> Any:
        return self.store.get_host(self.host.registration.namespace, self.host.name)


@pytest.fixture(params=HOST_OPERATIONS, ids=lambda operation: operation.name)
def target(request: pytest.FixtureRequest, client: Any, store: Store, host: HostIdentity) -> HostTarget:
    operation: HostOperation = request.param
    if operation.name != "createHost":
        assert register(client, host).status_code == 201
        stored = store.get_host(host.registration.namespace, host.name)
        assert stored is not None
        store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\n"))
    return HostTarget(client, store, operation, host)


def assert_refused(target: HostTarget, response: Any, status: int, before: Any, mentions: str = "") -> None:
    assert_problem(response, status, mentions)
    assert target.record() == before


def test_valid_host_token_is_accepted(target: HostTarget) -> None:
    """The baseline every refusal below departs from by one thing."""
    before = target.record()
    response = target.send_token(eddsa(target.host.key, target.claims()))
    assert response.status_code == target.operation.success, response.text
    if target.operation.name != "getBootstrap":
        assert target.record() != before


def test_missing_authorization_is_401(target: HostTarget) -> None:
    before = target.record()
    assert_refused(target, target.send(None), 401, before, "authorization")


@pytest.mark.parametrize("scheme", ["basic", "raw-token", "bearer-without-token", "token-scheme"])
def test_authorization_that_is_not_bearer_is_401(target: HostTarget, scheme: str) -> None:
    token = target.host.token()
    value = {
        "basic": "Basic xyz",
        "raw-token": token,
        "bearer-without-token": "Bearer",
        "token-scheme": f"Token {token}",
    }[scheme]
    before = target.record()
    assert_refused(target, target.send(value), 401, before, "authorization")


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_host_token_is_403(target: HostTarget, forgery: Forgery) -> None:
    token = forgery(target.host.key, target.claims())
    before = target.record()
    response = target.send_token(token)
    assert_refused(target, response, 403, before, "token")
    assert token not in response.text


def _now() -> int:
    return int(time.time())


CLAIM_PROBLEMS: dict[str, Callable[[], dict[str, Any]]] = {
    "expired": lambda: {"iat": _now() - 120, "nbf": _now() - 120, "exp": _now() - 30},
    "lifetime-over-10-minutes": lambda: {"iat": _now(), "nbf": _now(), "exp": _now() + 11 * 60},
    "issued-in-the-future": lambda: {"iat": _now() + 60, "nbf": _now() + 60, "exp": _now() + 120},
    "not-valid-before-the-future": lambda: {"nbf": _now() + 60},
    "missing-exp": lambda: {"exp": None},
    "missing-iat": lambda: {"iat": None},
    "missing-sub": lambda: {"sub": None},
    "missing-aud": lambda: {"aud": None},
    "wrong-sub": lambda: {"sub": "host-2"},
    "exp-not-a-number": lambda: {"exp": str(_now() + 60)},
}


@pytest.mark.parametrize("change", CLAIM_PROBLEMS.values(), ids=CLAIM_PROBLEMS.keys())
def test_host_token_with_bad_claims_is_403(target: HostTarget, change: Callable[[], dict[str, Any]]) -> None:
    before = target.record()
    response = target.send_token(eddsa(target.host.key, target.claims(**change())))
    assert_refused(target, response, 403, before, "token")


def test_host_token_for_another_registration_is_403(target: HostTarget, store: Store) -> None:
    other, _ = make_registration(store, name="other")
    before = target.record()
    response = target.send_token(eddsa(target.host.key, target.claims(aud=[other.uri])))
    assert_refused(target, response, 403, before, "audience")


def test_a_few_seconds_of_clock_skew_are_allowed(target: HostTarget) -> None:
    now = _now()
    token = eddsa(target.host.key, target.claims(iat=now + 3, nbf=now + 3, exp=now + 63))
    assert target.send_token(token).status_code == target.operation.success


def test_ten_minutes_of_lifetime_are_allowed(target: HostTarget) -> None:
    now = _now()
    token = eddsa(target.host.key, target.claims(iat=now, nbf=now, exp=now + 600))
    assert target.send_token(token).status_code == target.operation.success


def test_registration_token_used_as_host_token_is_403(target: HostTarget) -> None:
    before = target.record()
    assert_refused(target, target.send_token(target.host.registration.token), 403, before, "token")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records (and refuses) every attempt to reach the key URLs' port 1.

    Only that port: the Kubernetes store talks to its API server during requests, legitimately.
    """
    attempts: list[Any] = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
    create_connection, getaddrinfo = socket.create_connection, socket.getaddrinfo

    def to_key_url(address: Any) -> bool:
        if isinstance(address, tuple) and len(address) >= 2 and str(address[1]) == str(KEY_PORT):
            attempts.append(address)
            return True
        return False

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if to_key_url(address):
            raise ConnectionRefusedError("connection to a token's key URL")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if to_key_url(address):
            raise ConnectionRefusedError("connection to a token's key URL")
        return connect_ex(self, address)

    def guarded_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if to_key_url(address):
            raise ConnectionRefusedError("connection to a token's key URL")
        return create_connection(address, *args, **kwargs)

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if to_key_url((host, port)):
            raise OSError("lookup for a token's key URL")
        return getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return attempts


KEY_PORT = 1
KEY_LOCATIONS = {
    "kid": {"kid": "http://127.0.0.1:1/key"},
    "jku": {"jku": "http://127.0.0.1:1/jwks.json"},
    "x5u": {"x5u": "http://127.0.0.1:1/cert.pem"},
    "all": {
        "kid": "http://127.0.0.1:1/key",
        "jku": "http://127.0.0.1:1/jwks.json",
        "x5u": "http://127.0.0.1:1/cert.pem",
    },
}


@pytest.mark.parametrize("header", KEY_LOCATIONS.values(), ids=KEY_LOCATIONS.keys())
def test_key_location_headers_are_ignored_when_signed_by_the_host(
    target: HostTarget, no_network: list[Any], header: dict[str, str]
) -> None:
    response = target.send_token(eddsa(target.host.key, target.claims(), **header))
    assert response.status_code == target.operation.success, response.text
    assert no_network == []


@pytest.mark.parametrize("header", KEY_LOCATIONS.values(), ids=KEY_LOCATIONS.keys())
def test_key_location_headers_do_not_rescue_a_foreign_signature(
    target: HostTarget, no_network: list[Any], header: dict[str, str]
) -> None:
    before = target.record()
    response = target.send_token(eddsa(tokens.SigningKey.generate(), target.claims(), **header))
    assert_refused(target, response, 403, before, "token")
    assert no_network == []


# --- host addressing --------------------------------------------------------------------


def test_token_of_host_a_on_host_b_is_403(client: Any, store: Store, registration: Registration) -> None:
    host_a = HostIdentity(registration, "host-a")
    host_b = HostIdentity(registration, "host-b")
    assert register(client, host_a).status_code == 201
    assert register(client, host_b).status_code == 201
    before = store.get_host("default", "host-b")
    # A's own token, and one claiming to be B but signed with A's key.
    for token in (host_a.token(), tokens.issue_host_token(host_a.key, "host-b", registration.uri)):
        headers = {"Authorization": f"Bearer {token}"}
        assert_problem(client.patch(host_b.path, json={"installed": True}, headers=headers), 403, "token")
        assert_problem(client.delete(host_b.path, headers=headers), 403, "token")
        assert_problem(client.get(f"{host_b.path}/bootstrap", headers=headers), 403, "token")
    assert store.get_host("default", "host-b") == before


def test_host_through_another_registration_of_its_namespace_is_404(
    client: Any, store: Store, host: HostIdentity
) -> None:
    assert register(client, host).status_code == 201
    other, _ = make_registration(store, name="other")
    before = store.get_host("default", host.name)
    for audience in (host.registration, other):
        through_other = HostIdentity(other, host.name, host.key)
        headers = {"Authorization": f"Bearer {tokens.issue_host_token(host.key, host.name, audience.uri)}"}
        assert_problem(client.patch(through_other.path, json={"installed": True}, headers=headers), 404)
        assert_problem(client.delete(through_other.path, headers=headers), 404)
        assert_problem(client.get(f"{through_other.path}/bootstrap", headers=headers), 404)
    assert store.get_host("default", host.name) == before


def test_unknown_host_is_404(client: Any, host: HostIdentity) -> None:
    assert_problem(client.patch(host.path, json={}, headers=host.auth()), 404, "not found")
    assert_problem(client.delete(host.path, headers=host.auth()), 404, "not found")
    assert_problem(client.get(f"{host.path}/bootstrap", headers=host.auth()), 404, "not found")


@pytest.mark.parametrize("namespace", ["default", "elsewhere"])
def test_unknown_registration_is_404_for_every_operation(client: Any, store: Store, namespace: str) -> None:
    key = tokens.SigningKey.generate()
    # Complete and correctly signed, but never stored.
    draft = registrations.new_registration(namespace=namespace, name="missing", api_endpoint=TEST_ENDPOINT)
    ghost = dataclasses.replace(
        draft,
        config=registrations.complete(
            draft.config, namespace=namespace, name="missing", api_endpoint="", signing_key=key
        ),
    )
    host = HostIdentity(ghost, "host-1")
    registration_header = {"Registration-Authorization": f"Bearer {ghost.token}"}
    assert_problem(client.get(registration_path(ghost), headers=registration_header), 404, "not found")
    assert_problem(register(client, host), 404, "not found")
    assert_problem(client.patch(host.path, json={}, headers=host.auth()), 404, "not found")
    assert_problem(client.delete(host.path, headers=host.auth()), 404, "not found")
    assert_problem(client.get(f"{host.path}/bootstrap", headers=host.auth()), 404, "not found")
    assert store.get_host(namespace, "host-1") is None


# --- createHost specifics ---------------------------------------------------------------


def test_create_with_host_token_not_signed_by_pub_key_is_403(
    client: Any, store: Store, host: HostIdentity
) -> None:
    impostor = tokens.SigningKey.generate()
    headers = {
        "Authorization": f"Bearer {tokens.issue_host_token(impostor, host.name, host.registration.uri)}",
        "Registration-Authorization": f"Bearer {host.registration.token}",
    }
    response = client.post(host.hosts_path, json=host.create_body(), headers=headers)
    assert_problem(response, 403, "token")
    assert store.get_host("default", host.name) is None


def test_create_with_host_token_for_another_name_is_403(
    client: Any, store: Store, host: HostIdentity
) -> None:
    headers = {
        "Authorization": f"Bearer {tokens.issue_host_token(host.key, 'other-name', host.registration.uri)}",
        "Registration-Authorization": f"Bearer {host.registration.token}",
    }
    assert_problem(client.post(host.hosts_path, json=host.create_body(), headers=headers), 403, "token")
    assert store.get_host("default", host.name) is None


def _pem(key: Any) -> str:
    return str(
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


BAD_PUB_KEYS: dict[str, Callable[[HostIdentity], str]] = {
    "rsa-pem": lambda host: _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    "ec-pem": lambda host: _pem(ec.generate_private_key(ec.SECP256R1())),
    "ed25519-private-pem": lambda host: host.key.to_pem().decode(),
    "garbage": lambda host: "not a key at all",
    "truncated-pem": lambda host: host.key.public_pem()[:60],
    "empty": lambda host: "",
}


@pytest.mark.parametrize("make_pub_key", BAD_PUB_KEYS.values(), ids=BAD_PUB_KEYS.keys())
def test_create_with_pub_key_that_is_not_ed25519_pem_is_400(
    client: Any, store: Store, host: HostIdentity, make_pub_key: Callable[[HostIdentity], str]
) -> None:
    body = {**host.create_body(), "pubKey": make_pub_key(host)}
    response = client.post(host.hosts_path, json=body, headers=host.create_headers())
    assert_problem(response, 400, "pubkey")
    assert store.get_host("default", host.name) is None


# --- registration-token operations ------------------------------------------------------


@dataclass
class RegistrationTarget:
    """getRegistration or createHost, sent with any Registration-Authorization header."""

    client: Any
    store: Store
    operation: str
    registration: Registration
    key: tokens.SigningKey
    host: HostIdentity

    def send(self, authorization: str | None) -> Any:
        headers = {} if authorization is None else {"Registration-Authorization": authorization}
        if self.operation == "getRegistration":
            return self.client.get(registration_path(self.registration), headers=headers)
        return self.client.post(
            self.host.hosts_path, json=self.host.create_body(), headers=self.host.auth() | headers
        )

    def send_token(self, token: str) -> Any:
        return self.send(f"Bearer {token}")

    def claims(self, **changes: Any) -> dict[str, Any]:
        return registration_claims(self.registration.uri, **changes)

    def record(self) -> Any:
        namespace = self.registration.namespace
        return (
            self.store.get_registration(namespace, self.registration.name),
            self.store.list_hosts(namespace),
        )


@pytest.fixture(params=["getRegistration", "createHost"])
def registration_target(request: pytest.FixtureRequest, client: Any, store: Store) -> RegistrationTarget:
    registration, key = make_registration(store, name="keyed")
    host = HostIdentity(registration, "host-new")
    return RegistrationTarget(client, store, request.param, registration, key, host)


def assert_registration_refused(
    target: RegistrationTarget, response: Any, status: int, before: Any, mentions: str = ""
) -> None:
    assert_problem(response, status, mentions)
    assert target.record() == before


def test_valid_registration_token_is_accepted(registration_target: RegistrationTarget) -> None:
    target = registration_target
    for token in (target.registration.token, eddsa(target.key, target.claims())):
        response = target.send_token(token)
        assert response.status_code in (200, 201), response.text
        if target.operation == "createHost":
            assert target.store.get_host("default", "host-new") is not None
            break


def test_missing_registration_authorization_is_401(registration_target: RegistrationTarget) -> None:
    before = registration_target.record()
    response = registration_target.send(None)
    assert_registration_refused(registration_target, response, 401, before, "authorization")


def test_bare_registration_token_is_accepted(registration_target: RegistrationTarget) -> None:
    # As `registration agent-config` prints it, and as Swagger UI sends an apiKey.
    response = registration_target.send(registration_target.registration.token)
    assert response.status_code in (200, 201), response.text


# Bare, a value that is not three base64url segments is no token at all (401).
NOT_COMPACT = {"two-segments", "four-segments", "bad-base64"}


@pytest.mark.parametrize("forgery", FORGERIES)
def test_forged_bare_registration_token_is_refused(
    registration_target: RegistrationTarget, forgery: str
) -> None:
    target = registration_target
    before = target.record()
    response = target.send(FORGERIES[forgery](target.key, target.claims()))
    status = 401 if forgery in NOT_COMPACT else 403
    assert_registration_refused(target, response, status, before)


@pytest.mark.parametrize("scheme", ["basic", "not-a-jwt", "bearer-without-token"])
def test_registration_authorization_that_is_not_bearer_is_401(
    registration_target: RegistrationTarget, scheme: str
) -> None:
    value = {"basic": "Basic xyz", "not-a-jwt": "xyz", "bearer-without-token": "Bearer"}[scheme]
    before = registration_target.record()
    response = registration_target.send(value)
    assert_registration_refused(registration_target, response, 401, before, "authorization")


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_forged_registration_token_is_403(registration_target: RegistrationTarget, forgery: Forgery) -> None:
    target = registration_target
    before = target.record()
    response = target.send_token(forgery(target.key, target.claims()))
    assert_registration_refused(target, response, 403, before, "token")


REGISTRATION_CLAIM_PROBLEMS: dict[str, Callable[[str], dict[str, Any]]] = {
    "expired": lambda uri: {"iat": _now() - 7200, "nbf": _now() - 7200, "exp": _now() - 3600},
    "issued-in-the-future": lambda uri: {"iat": _now() + 60, "nbf": _now() + 60},
    "missing-sub": lambda uri: {"sub": None},
    "missing-aud": lambda uri: {"aud": None},
    "wrong-sub": lambda uri: {"sub": uri.replace("/keyed", "/other")},
    "wrong-aud": lambda uri: {"aud": [uri.replace("/keyed", "/other")]},
}


@pytest.mark.parametrize(
    "change", REGISTRATION_CLAIM_PROBLEMS.values(), ids=REGISTRATION_CLAIM_PROBLEMS.keys()
)
def test_registration_token_with_bad_claims_is_403(
    registration_target: RegistrationTarget, change: Callable[[str], dict[str, Any]]
) -> None:
    target = registration_target
    before = target.record()
    response = target.send_token(eddsa(target.key, target.claims(**change(target.registration.uri))))
    assert_registration_refused(target, response, 403, before, "token")


def test_registration_token_of_another_registration_is_403(registration_target: RegistrationTarget) -> None:
    target = registration_target
    other, other_key = make_registration(target.store, name="other")
    before = target.record()
    # The other registration's own token, and one with this registration's claims.
    for token in (other.token, tokens.issue_registration_token(other_key, target.registration.uri)):
        assert_registration_refused(target, target.send_token(token), 403, before, "token")


def test_expired_registration_token_from_token_duration_is_403(client: Any, store: Store) -> None:
    registration, key = make_registration(store, name="short", token_duration_seconds=1)
    # As the operator issues it, but ten minutes ago.
    issued = int(time.time()) - 600
    token = eddsa(key, registration_claims(registration.uri, iat=issued, nbf=issued, exp=issued + 1))
    response = client.get(
        registration_path(registration), headers={"Registration-Authorization": f"Bearer {token}"}
    )
    assert_problem(response, 403, "expired")


def test_host_token_used_as_registration_token_is_403(registration_target: RegistrationTarget) -> None:
    target = registration_target
    before = target.record()
    assert_registration_refused(target, target.send_token(target.host.token()), 403, before, "token")


# --- logs -------------------------------------------------------------------------------


def test_tokens_never_reach_the_logs(
    caplog: pytest.LogCaptureFixture, client: Any, store: Store, registration: Registration
) -> None:
    caplog.set_level(logging.DEBUG)
    host = HostIdentity(registration, "logged")
    sent: list[str] = [registration.token]

    def bearer(token: str) -> dict[str, str]:
        sent.append(token)
        return {"Authorization": f"Bearer {token}"}

    create_headers = host.create_headers()
    sent.append(create_headers["Authorization"].removeprefix("Bearer "))
    assert client.post(host.hosts_path, json=host.create_body(), headers=create_headers).status_code == 201
    assert client.patch(host.path, json={"installed": True}, headers=bearer(host.token())).status_code == 200
    claims = host_claims(host.name, registration.uri)
    for token in (
        eddsa(tokens.SigningKey.generate(), claims),
        eddsa(host.key, {**claims, "exp": _now() - 60}),
        compact({"alg": "none"}, claims, lambda _: b""),
        "not-a-jwt-at-all-" + "z" * 40,
    ):
        assert client.patch(host.path, json={}, headers=bearer(token)).status_code == 403
    assert client.get(f"{host.path}/bootstrap", headers=bearer(host.token())).status_code == 404
    bad_registration_token = eddsa(tokens.SigningKey.generate(), registration_claims(registration.uri))
    sent.append(bad_registration_token)
    for token in (registration.token, bad_registration_token):
        client.get(registration_path(registration), headers={"Registration-Authorization": f"Bearer {token}"})
    assert client.delete(host.path, headers=bearer(host.token())).status_code == 202

    assert caplog.records, "expected the requests to log something"
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in caplog.records) + caplog.text
    for token in sent:
        # Not even part of one: the head and tail of every segment long enough to be telling.
        segments = [part for part in token.split(".") if len(part) >= 16]
        for piece in {token, *(part[:16] for part in segments), *(part[-16:] for part in segments)}:
            assert piece not in logged
