"""ElementalRegistration: URI, default CA, signing key Secret, token (tokenDuration, non-JWT
values), Ready, and upstream's doc/AUTH.md leak-recovery procedure and key rotation."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubernetes.client import ApiException

from elemental_core import tokens
from elemental_core.vocabulary import REGISTRATIONS, SIGNING_KEY_FIELD, registration_uri
from tests.operator.activity import Activity, poke
from tests.operator.capi import REGS, Capi, is_true, jwt_claims, wait_for
from tests.operator.conftest import API_ENDPOINT, settings

HOUR_NS = 3600 * 1_000_000_000
DEFAULT_CA = "-----BEGIN CERTIFICATE-----\nMIIBdefaultCAforTests\n-----END CERTIFICATE-----\n"


def registration(capi: Capi, name: str, **reg: Any) -> dict[str, Any]:
    return capi.create(REGS, name, {"spec": {"config": {"elemental": {"registration": reg}}}})


def reg_of(obj: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = obj["spec"]["config"]["elemental"]["registration"]
    return found


def signing_key(capi: Capi, name: str) -> bytes:
    secret = capi.core.read_namespaced_secret(name, capi.namespace)
    return base64.b64decode(secret.data[SIGNING_KEY_FIELD])


def with_token(capi: Capi, name: str, unlike: str = "") -> dict[str, Any]:
    """The registration once it has a token (other than `unlike`) and is Ready (the status is
    written after the spec)."""
    return capi.wait(
        REGS, name, lambda o: reg_of(o).get("token") not in (None, "", unlike) and is_true(o, "Ready")
    )


def test_registration_gets_uri_default_ca_owned_key_and_timed_token(start_operator: Any, capi: Capi) -> None:
    start_operator(settings(default_ca=DEFAULT_CA))
    created = registration(capi, "reg", tokenDuration=HOUR_NS)
    registration(capi, "own-ca", caCert="mine", uri="https://elsewhere:1234/elemental/v1/x")

    obj = with_token(capi, "reg")
    reg = reg_of(obj)
    uri = registration_uri(API_ENDPOINT, capi.namespace, "reg")
    assert reg["uri"] == uri
    assert reg["caCert"] == DEFAULT_CA
    assert is_true(obj, "Ready")

    # The signing key Secret, owned (controller) by the registration, and its reference.
    secret = capi.core.read_namespaced_secret("reg", capi.namespace)
    [owner] = secret.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "ElementalRegistration",
        "reg",
        created["metadata"]["uid"],
        True,
    )
    ref = obj["spec"]["privateKeyRef"]
    assert (ref["name"], ref["namespace"], ref["uid"]) == ("reg", capi.namespace, secret.metadata.uid)

    # The token is signed by that key, for that URI, and expires after tokenDuration.
    claims = tokens.verify_registration_token(reg["token"], signing_key_pem=signing_key(capi, "reg"), uri=uri)
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["aud"] == [uri]

    # What the user set is kept: URI and CA.
    own = reg_of(with_token(capi, "own-ca"))
    assert own["caCert"] == "mine"
    assert own["uri"] == "https://elsewhere:1234/elemental/v1/x"
    assert jwt_claims(own["token"])["sub"] == own["uri"]


def test_token_duration_zero_means_no_expiry_and_negative_means_expired(
    start_operator: Any, capi: Capi
) -> None:
    start_operator()  # no default CA configured: none is set
    registration(capi, "forever")
    registration(capi, "frozen", tokenDuration=-1)

    forever = with_token(capi, "forever")
    assert "caCert" not in reg_of(forever)
    assert "exp" not in jwt_claims(reg_of(forever)["token"])

    frozen = reg_of(with_token(capi, "frozen"))
    claims = jwt_claims(frozen["token"])
    assert claims["exp"] < claims["iat"]
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_registration_token(
            frozen["token"], signing_key_pem=signing_key(capi, "frozen"), uri=frozen["uri"]
        )


def test_non_jwt_token_is_left_alone(start_operator: Any, capi: Capi, activity: Activity) -> None:
    operator = start_operator()
    registration(capi, "disabled-from-start", token="disabled")
    registration(capi, "disabled-later")

    first = capi.wait(REGS, "disabled-from-start", lambda o: is_true(o, "Ready"))
    assert reg_of(first)["token"] == "disabled"
    assert first["spec"]["privateKeyRef"]["name"] == "disabled-from-start"  # the key is still made

    with_token(capi, "disabled-later")
    capi.patch(
        REGS, "disabled-later", {"spec": {"config": {"elemental": {"registration": {"token": "disabled"}}}}}
    )
    activity.wait_idle(capi.custom, capi.namespace, operator.manager)  # it has seen the change
    assert reg_of(capi.get(REGS, "disabled-later") or {})["token"] == "disabled"


def test_leak_recovery_procedure_of_auth_md(start_operator: Any, capi: Capi, activity: Activity) -> None:
    operator = start_operator()
    registration(capi, "leaky", tokenDuration=HOUR_NS)
    leaked = with_token(capi, "leaky")
    uri, leaked_token = reg_of(leaked)["uri"], reg_of(leaked)["token"]
    old_key = signing_key(capi, "leaky")
    old_uid = leaked["spec"]["privateKeyRef"]["uid"]
    tokens.verify_registration_token(leaked_token, signing_key_pem=old_key, uri=uri)

    # 1. Delete the Secret holding the signing key: the operator does not bring it back
    #    while privateKeyRef still names it (new registrations fail meanwhile).
    capi.core.delete_namespaced_secret("leaky", capi.namespace)

    def secret_absent() -> bool:
        try:
            capi.core.read_namespaced_secret("leaky", capi.namespace)
        except ApiException as error:
            return error.status == 404
        return False

    # Secrets are not watched: make the operator look at the registration again.
    poke(capi.custom, REGISTRATIONS, capi.namespace, "leaky")
    activity.wait_idle(capi.custom, capi.namespace, operator.manager)
    assert secret_absent(), "the deleted signing key secret came back"
    assert (capi.get(REGS, "leaky") or {})["spec"]["privateKeyRef"]["uid"] == old_uid

    # 2. Clear spec.privateKeyRef: a new Secret with a new key, and a reference to it.
    capi.patch(REGS, "leaky", {"spec": {"privateKeyRef": None}})
    rotated = capi.wait(
        REGS, "leaky", lambda o: (o["spec"].get("privateKeyRef") or {}).get("uid") not in (None, old_uid)
    )
    new_key = signing_key(capi, "leaky")
    assert new_key != old_key
    assert (
        rotated["spec"]["privateKeyRef"]["uid"]
        == capi.core.read_namespaced_secret("leaky", capi.namespace).metadata.uid
    )
    assert reg_of(rotated)["token"] == leaked_token  # not replaced until asked to
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_registration_token(leaked_token, signing_key_pem=new_key, uri=uri)

    # 3. Clear the token: a fresh one, signed by the new key only.
    capi.patch(REGS, "leaky", {"spec": {"config": {"elemental": {"registration": {"token": ""}}}}})
    fresh = reg_of(with_token(capi, "leaky", unlike=leaked_token))["token"]
    claims = tokens.verify_registration_token(fresh, signing_key_pem=new_key, uri=uri)
    assert claims["exp"] - claims["iat"] == 3600
    with pytest.raises(tokens.InvalidToken):
        tokens.verify_registration_token(fresh, signing_key_pem=old_key, uri=uri)
    assert is_true(capi.get(REGS, "leaky"), "Ready")


def test_key_rotation_with_a_user_provided_key(start_operator: Any, capi: Capi) -> None:
    """The Secret's key replaced by the user and the token cleared: the new token is signed
    with the user's key; clearing privateKeyRef with the Secret still there re-references it
    (upstream: an existing Secret is assumed to be the controller's or the user's)."""
    start_operator()
    registration(capi, "rot")
    first = with_token(capi, "rot")
    uri, uid = reg_of(first)["uri"], first["spec"]["privateKeyRef"]["uid"]

    user_key = tokens.SigningKey.generate()
    capi.core.patch_namespaced_secret(
        "rot", capi.namespace, {"data": {SIGNING_KEY_FIELD: base64.b64encode(user_key.to_pem()).decode()}}
    )
    capi.patch(
        REGS,
        "rot",
        {"spec": {"privateKeyRef": None, "config": {"elemental": {"registration": {"token": None}}}}},
    )
    obj = with_token(capi, "rot", unlike=reg_of(first)["token"])
    assert obj["spec"]["privateKeyRef"]["uid"] == uid  # the same Secret, not a new one
    assert signing_key(capi, "rot") == user_key.to_pem()
    tokens.verify_registration_token(reg_of(obj)["token"], signing_key_pem=user_key.to_pem(), uri=uri)
    wait_for(lambda: is_true(capi.get(REGS, "rot"), "Ready"), 5, "Ready")
