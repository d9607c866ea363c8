"""ElementalRegistration decisions: URI, default CA, signing key Secret, token, Ready, and
each registration that cannot be completed as a terminal Ready=False."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core import tokens
from elemental_core.vocabulary import (
    MISSING_API_ENDPOINT,
    MISSING_SIGNING_KEY,
    NANOSECONDS,
    READY,
    REGISTRATIONS,
    SIGNING_KEY_FIELD,
    registration_uri,
)
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import API_ENDPOINT, NS, Scene, condition, state

DEFAULT_CA = "-----BEGIN CERTIFICATE-----\nMIIBdefault\n-----END CERTIFICATE-----\n"
URI = registration_uri(API_ENDPOINT, NS, "reg")


def reg_of(obj: dict[str, Any] | None) -> dict[str, Any]:
    found: dict[str, Any] = (obj or {})["spec"]["config"]["elemental"]["registration"]
    return found


def key_pem(scene: Scene, name: str = "reg") -> bytes:
    return scene.kube.secrets[(NS, name)].data[SIGNING_KEY_FIELD]


def test_new_registration_is_completed_with_its_own_key(scene: Scene) -> None:
    created = scene.registration(tokenDuration=3600 * NANOSECONDS)
    assert scene.registrations(default_ca=DEFAULT_CA).reconcile(NS, "reg") == Result()

    obj = scene.get(REGISTRATIONS, "reg")
    reg = reg_of(obj)
    assert reg["uri"] == URI
    assert reg["caCert"] == DEFAULT_CA
    secret = scene.kube.secrets[(NS, "reg")]
    assert secret.owner is not None
    assert (secret.owner["kind"], secret.owner["metadata"]["uid"]) == (
        "ElementalRegistration",
        created["metadata"]["uid"],
    )
    assert (obj or {})["spec"]["privateKeyRef"] == {
        "kind": "Secret",
        "name": "reg",
        "namespace": NS,
        "uid": secret.uid,
    }
    claims = tokens.verify_registration_token(reg["token"], signing_key_pem=key_pem(scene), uri=URI)
    assert claims["exp"] - claims["iat"] == 3600
    assert state(obj, READY) == ("True", "", "")


def test_what_the_user_set_is_kept(scene: Scene) -> None:
    scene.registration(uri="https://elsewhere:1234/elemental/v1/x", caCert="mine")
    scene.registrations(default_ca=DEFAULT_CA).reconcile(NS, "reg")
    reg = reg_of(scene.get(REGISTRATIONS, "reg"))
    assert (reg["uri"], reg["caCert"]) == ("https://elsewhere:1234/elemental/v1/x", "mine")
    tokens.verify_registration_token(reg["token"], signing_key_pem=key_pem(scene), uri=reg["uri"])


def test_no_default_ca_configured_sets_none(scene: Scene) -> None:
    scene.registration()
    scene.registrations().reconcile(NS, "reg")
    assert "caCert" not in reg_of(scene.get(REGISTRATIONS, "reg"))


def test_a_non_jwt_token_is_kept_and_the_key_still_made(scene: Scene) -> None:
    scene.registration(token="disabled")
    scene.registrations().reconcile(NS, "reg")
    obj = scene.get(REGISTRATIONS, "reg")
    assert reg_of(obj)["token"] == "disabled"
    assert (NS, "reg") in scene.kube.secrets
    assert (condition(obj, READY) or {})["status"] == "True"


def test_a_completed_registration_is_left_as_it_is(scene: Scene) -> None:
    scene.registration()
    scene.registrations().reconcile(NS, "reg")
    done = scene.get(REGISTRATIONS, "reg") or {}
    scene.registrations().reconcile(NS, "reg")
    assert scene.get(REGISTRATIONS, "reg") == done


def test_an_existing_secret_is_referred_to_and_its_key_used(scene: Scene) -> None:
    """The user's key in a Secret of the registration's name (or a Secret kept after the
    reference was cleared): referred to as it is, and the token is signed with it."""
    users = tokens.SigningKey.generate()
    scene.kube.add_secret(NS, "reg", {SIGNING_KEY_FIELD: users.to_pem()})
    scene.registration()
    scene.registrations().reconcile(NS, "reg")
    obj = scene.get(REGISTRATIONS, "reg") or {}
    assert obj["spec"]["privateKeyRef"]["uid"] == scene.kube.secrets[(NS, "reg")].uid
    assert key_pem(scene) == users.to_pem()
    tokens.verify_registration_token(reg_of(obj)["token"], signing_key_pem=users.to_pem(), uri=URI)


def test_the_referenced_secret_is_the_one_read(scene: Scene) -> None:
    elsewhere = tokens.SigningKey.generate()
    scene.kube.add_secret(NS, "elsewhere", {SIGNING_KEY_FIELD: elsewhere.to_pem()})
    scene.kube.add(
        REGISTRATIONS,
        {"metadata": {"name": "reg", "namespace": NS}, "spec": {"privateKeyRef": {"name": "elsewhere"}}},
    )
    scene.registrations().reconcile(NS, "reg")
    token = reg_of(scene.get(REGISTRATIONS, "reg"))["token"]
    tokens.verify_registration_token(token, signing_key_pem=elsewhere.to_pem(), uri=URI)
    assert (NS, "reg") not in scene.kube.secrets


def cannot_complete(scene: Scene, reason: str, **settings: Any) -> dict[str, Any]:
    """Reconciles without raising and without a requeue; Ready=False with that reason."""
    assert scene.registrations(**settings).reconcile(NS, "reg") == Result()
    obj = scene.get(REGISTRATIONS, "reg") or {}
    assert state(obj, READY) == ("False", "Error", reason)
    return obj


def test_no_api_endpoint_and_no_uri_is_terminal(scene: Scene) -> None:
    scene.registration()
    obj = cannot_complete(scene, MISSING_API_ENDPOINT, api_endpoint="")
    assert "--api-endpoint" in (condition(obj, READY) or {})["message"]
    assert reg_of(obj) == {}  # nothing half-done: no URI, no token

    # Configured (an operator restarted with --api-endpoint): completed.
    scene.registrations().reconcile(NS, "reg")
    obj = scene.get(REGISTRATIONS, "reg") or {}
    assert reg_of(obj)["uri"] == URI
    assert state(obj, READY) == ("True", "", "")


def test_no_api_endpoint_is_fine_when_the_uri_is_given(scene: Scene) -> None:
    scene.registration(uri="https://given/elemental/v1/namespaces/ns/registrations/reg")
    scene.registrations(api_endpoint="").reconcile(NS, "reg")
    assert (condition(scene.get(REGISTRATIONS, "reg"), READY) or {})["status"] == "True"


def test_a_missing_signing_key_secret_is_terminal_until_the_reference_is_cleared(scene: Scene) -> None:
    """doc/AUTH.md's leak recovery: the Secret deleted, the token cleared: the operator does
    not bring the key back while privateKeyRef names it; clearing the reference does."""
    scene.registration()
    scene.registrations().reconcile(NS, "reg")
    del scene.kube.secrets[(NS, "reg")]
    scene.kube.change(REGISTRATIONS, NS, "reg", lambda o: reg_of(o).pop("token"))

    obj = cannot_complete(scene, MISSING_SIGNING_KEY)
    assert "clear spec.privateKeyRef" in (condition(obj, READY) or {})["message"]
    assert (NS, "reg") not in scene.kube.secrets
    assert "token" not in reg_of(obj)

    scene.kube.change(REGISTRATIONS, NS, "reg", lambda o: o["spec"].pop("privateKeyRef"))
    scene.registrations().reconcile(NS, "reg")
    obj = scene.get(REGISTRATIONS, "reg") or {}
    assert obj["spec"]["privateKeyRef"]["uid"] == scene.kube.secrets[(NS, "reg")].uid
    tokens.verify_registration_token(reg_of(obj)["token"], signing_key_pem=key_pem(scene), uri=URI)
    assert state(obj, READY) == ("True", "", "")


def test_a_missing_secret_does_not_matter_while_the_token_is_there(scene: Scene) -> None:
    scene.registration()
    scene.registrations().reconcile(NS, "reg")
    token = reg_of(scene.get(REGISTRATIONS, "reg"))["token"]
    del scene.kube.secrets[(NS, "reg")]
    scene.registrations().reconcile(NS, "reg")
    obj = scene.get(REGISTRATIONS, "reg")
    assert reg_of(obj)["token"] == token
    assert (condition(obj, READY) or {})["status"] == "True"
    assert (NS, "reg") not in scene.kube.secrets


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"other": b"x"}, "clear spec.privateKeyRef"),
        ({SIGNING_KEY_FIELD: b"not a key"}, "no usable Ed25519 key"),
    ],
    ids=["no-privKey-field", "not-a-key"],
)
def test_a_secret_without_a_usable_key_is_terminal(
    scene: Scene, data: dict[str, bytes], message: str
) -> None:
    scene.kube.add_secret(NS, "reg", data)
    scene.registration()
    obj = cannot_complete(scene, MISSING_SIGNING_KEY)
    assert message in (condition(obj, READY) or {})["message"]
    assert scene.kube.secrets[(NS, "reg")].data == data  # the user's Secret is not overwritten


def test_deleted_or_gone_registrations_are_left_alone(scene: Scene) -> None:
    assert scene.registrations().reconcile(NS, "absent") == Result()
    scene.kube.add(
        REGISTRATIONS,
        {
            "metadata": {
                "name": "reg",
                "namespace": NS,
                "deletionTimestamp": "2026-01-01T00:00:00Z",
                "finalizers": ["x"],
            }
        },
    )
    before = scene.get(REGISTRATIONS, "reg")
    scene.registrations().reconcile(NS, "reg")
    assert scene.get(REGISTRATIONS, "reg") == before
    assert not scene.kube.secrets
