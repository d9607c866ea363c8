"""ElementalRegistration: signing key Secret, then completion (URI, default CA, token) by
elemental_core.registrations.complete, the one rule for it; Ready.

A registration that cannot be completed (no API endpoint configured, its signing key Secret
missing or unusable) is a terminal state, not an error: it gets Ready=False with the reason
and message of `CannotComplete` and is not retried. It is looked at again when the
registration changes (the remedy for a missing key is clearing spec.privateKeyRef, which is
such a change) and when the operator starts. Secrets are not watched: that would take the
right to list and watch every Secret of the cluster (docs/RBAC.md grants get and create).
"""

from __future__ import annotations

import copy
import logging

from elemental_core import registrations, tokens
from elemental_core.registrations import CannotComplete
from elemental_core.vocabulary import MISSING_SIGNING_KEY, READY, REGISTRATIONS, SIGNING_KEY_FIELD, Resource
from elemental_operator.controllers.base import KubeHolder, Mapper, Result
from elemental_operator.views import ERROR, RegistrationView

log = logging.getLogger(__name__)


class ElementalRegistrationController(KubeHolder):
    name = "elementalregistration"
    resource = REGISTRATIONS

    def watches(self) -> dict[Resource, Mapper]:
        return {}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(REGISTRATIONS, namespace, name)
        if before is None:
            return Result()
        registration = RegistrationView(copy.deepcopy(before))
        if registration.deleting or registration.paused_by_annotation is not None:
            return Result()
        if registration.private_key_ref is None:
            self._create_signing_key(registration)
        try:
            key = self._signing_key(registration) if registrations.needs_token(registration.config) else None
            registration.config = registrations.complete(
                registration.config,
                namespace=namespace,
                name=name,
                api_endpoint=self.settings.api_endpoint,
                signing_key=key,
                default_ca=self.settings.default_ca,
            )
        except CannotComplete as problem:
            log.warning(
                "registration cannot be completed",
                extra={"namespace": namespace, "registration": name, "reason": problem.reason},
            )
            registration.set_false(READY, ERROR, problem.reason, str(problem))
        else:
            registration.set_ready()
        self.kube.apply_changes(REGISTRATIONS, before, registration.raw)
        return Result()

    def _create_signing_key(self, registration: RegistrationView) -> None:
        """A new key in a Secret owned by the registration; a Secret of that name already
        there is kept (it is the user's or an earlier pass's) and referred to."""
        log.info(
            "generating signing key",
            extra={"namespace": registration.namespace, "registration": registration.name},
        )
        uid = self.kube.write_secret(
            namespace=registration.namespace,
            name=registration.name,
            data={SIGNING_KEY_FIELD: tokens.SigningKey.generate().to_pem()},
            owner=registration.as_owner(),
            replace=False,
        )
        registration.refer_to_signing_key(registration.name, uid)

    def _signing_key(self, registration: RegistrationView) -> tokens.SigningKey | None:
        """The key a token is signed with; None when its Secret or the Secret's field is missing."""
        secret = self.kube.read_secret(registration.namespace, registration.signing_key_secret)
        if secret is None or SIGNING_KEY_FIELD not in secret:
            return None
        try:
            return tokens.SigningKey.from_pem(secret[SIGNING_KEY_FIELD])
        except tokens.InvalidKey as error:
            raise CannotComplete(
                MISSING_SIGNING_KEY,
                f"the signing key Secret {registration.signing_key_secret} holds no usable Ed25519 key: "
                "put a PKCS#8 PEM key under privKey, or delete the Secret and clear spec.privateKeyRef",
            ) from error
