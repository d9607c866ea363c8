"""ElementalRegistration: URI, default CA, signing key Secret, token, Ready."""

from __future__ import annotations

import copy
import logging
from typing import Any

from elemental_core import tokens, vocabulary
from elemental_core.vocabulary import NANOSECONDS, REGISTRATIONS, Resource
from elemental_operator.controllers.base import KubeHolder, Mapper, Result, set_condition

log = logging.getLogger(__name__)


class ElementalRegistrationController(KubeHolder):
    name = "elementalregistration"
    resource = REGISTRATIONS

    def watches(self) -> dict[Resource, Mapper]:
        return {}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(REGISTRATIONS, namespace, name)
        if before is None or before["metadata"].get("deletionTimestamp"):
            return Result()
        registration = copy.deepcopy(before)
        spec = registration.setdefault("spec", {})
        reg = spec.setdefault("config", {}).setdefault("elemental", {}).setdefault("registration", {})
        if not reg.get("uri"):
            if not self.settings.api_endpoint:
                raise RuntimeError("no API endpoint configured (--api-endpoint / ELEMENTAL_API_ENDPOINT)")
            reg["uri"] = vocabulary.registration_uri(self.settings.api_endpoint, namespace, name)
        if not reg.get("caCert") and self.settings.default_ca:
            reg["caCert"] = self.settings.default_ca
        if not spec.get("privateKeyRef"):
            spec["privateKeyRef"] = self._new_signing_key(registration)
        if not reg.get("token"):  # a non-JWT such as "disabled" is the user's choice: kept
            reg["token"] = self._new_token(registration, reg)
        set_condition(registration, {"type": "Ready", "status": "True"})
        self.kube.apply_changes(REGISTRATIONS, before, registration)
        return Result()

    def _new_signing_key(self, registration: dict[str, Any]) -> dict[str, Any]:
        meta = registration["metadata"]
        log.info(
            "generating signing key", extra={"namespace": meta["namespace"], "registration": meta["name"]}
        )
        key = tokens.SigningKey.generate()
        owner = {**registration, "apiVersion": REGISTRATIONS.api_version, "kind": REGISTRATIONS.kind}
        uid = self.kube.write_secret(
            namespace=meta["namespace"],
            name=meta["name"],
            data={vocabulary.SIGNING_KEY_FIELD: key.to_pem()},
            owner=owner,
            replace=False,
        )
        return {"kind": "Secret", "name": meta["name"], "namespace": meta["namespace"], "uid": uid}

    def _new_token(self, registration: dict[str, Any], reg: dict[str, Any]) -> str:
        meta = registration["metadata"]
        secret = self.kube.read_secret(meta["namespace"], registration["spec"]["privateKeyRef"]["name"])
        if secret is None or vocabulary.SIGNING_KEY_FIELD not in secret:
            raise RuntimeError(
                "the signing key Secret is missing: clear spec.privateKeyRef to create a new one"
            )
        key = tokens.SigningKey.from_pem(secret[vocabulary.SIGNING_KEY_FIELD])
        duration_ns = int(reg.get("tokenDuration") or 0)
        log.info(
            "issuing registration token", extra={"namespace": meta["namespace"], "registration": meta["name"]}
        )
        return tokens.issue_registration_token(key, reg["uri"], duration_ns / NANOSECONDS)
