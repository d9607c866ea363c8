"""The Kubernetes store: ElementalRegistration and ElementalHost custom resources and Secrets.

Hot-path reads (registrations, hosts, signing keys) come from watch-fed caches, so a no-op
check-in sends no request to the API server. Writes carry the resourceVersion they were
based on; the API server refuses stale ones (Conflict) and the caller retries (or, for a
write of the host's last-seen time alone, drops it: another replica recorded the check-in).

A host's last-seen time lives in its status (status.lastSeen), which `clusterctl move` does
not carry over: the host's next check-in after a move writes it again. All
Kubernetes I/O goes through elemental_kube; this module maps records to objects and the
layer's errors to the store's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from elemental_api.store.base import AlreadyExists, Conflict, NotFound, Rejected, StoreUnavailable
from elemental_core import conditions, names
from elemental_core.hosts import marked_for_reset, reachable_condition
from elemental_core.records import Bootstrap, Host, ObjectRef, Registration
from elemental_core.vocabulary import (
    BOOTSTRAP_FORMAT_FIELD,
    BOOTSTRAP_VALUE_FIELD,
    CHECKED_IN,
    DEFAULT_BOOTSTRAP_FORMAT,
    FINALIZER,
    HOSTS,
    REGISTRATIONS,
    SIGNING_KEY_FIELD,
)
from elemental_kube import errors
from elemental_kube.client import api_client
from elemental_kube.objects import Kube, owner_reference
from elemental_kube.patching import object_patch, status_patch
from elemental_kube.settings import ClientSettings

log = logging.getLogger(__name__)
FIELD_MANAGER = "elemental-api"
SYNC_SECONDS = 30
MAX_DELETE_ATTEMPTS = 10


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    """The Kubernetes layer's errors as the store's."""
    try:
        yield
    except errors.NotFound as error:
        raise NotFound(str(error)) from error
    except errors.Conflict as error:
        raise Conflict(str(error)) from error
    except errors.Forbidden as error:
        # The API's credentials lack a permission (see docs/RBAC.md): an operator's fix,
        # so said loudly here; the agent gets a 503 and retries until it is fixed.
        log.error("kube-apiserver refused the API's request", extra={"error": str(error)})
        raise StoreUnavailable(str(error)) from error
    except errors.Unavailable as error:
        raise StoreUnavailable(str(error)) from error
    except errors.KubeError as error:
        raise Rejected(str(error)) from error


class KubernetesStore:
    def __init__(
        self,
        *,
        kubeconfig: str | None = None,
        watch: bool = True,
        kube_settings: ClientSettings | None = None,
    ) -> None:
        self._kube = Kube(
            api_client(kubeconfig, field_manager=FIELD_MANAGER, settings=kube_settings),
            watched=(HOSTS, REGISTRATIONS) if watch else (),
        )
        self._keys: dict[tuple[str, str, str], bytes] = {}
        if watch:
            # Serve from a complete cache only; if the server is down, /readyz says so.
            self._kube.start(SYNC_SECONDS)

    def close(self) -> None:
        self._kube.close()

    def ping(self) -> None:
        if self._kube.informers:
            if not self._kube.connected:
                raise StoreUnavailable("not connected to the Kubernetes API server")
            return
        with _mapped():
            self._kube.api_resources()

    # -- registrations ----------------------------------------------------------------------

    def get_registration(self, namespace: str, name: str) -> Registration | None:
        obj = self._get(REGISTRATIONS, namespace, name)
        return _registration(obj) if obj else None

    def list_registrations(self, namespace: str | None = None) -> list[Registration]:
        return [_registration(o) for o in self._scan(REGISTRATIONS, namespace)]

    def create_registration(self, registration: Registration) -> Registration:
        """Creates the ElementalRegistration; the operator completes it (key, token)."""
        try:  # the CRD's rules say the same (admission): refused here with the core's words
            names.check_registration_metadata(registration.host_labels, registration.host_annotations)
        except names.InvalidMetadata as error:
            raise Rejected(str(error)) from error
        secret_name = registration.signing_key_secret
        existing = self._read_secret(registration.namespace, secret_name)
        if existing is not None and SIGNING_KEY_FIELD not in existing:
            # The operator would find no key there: refuse now rather than never complete.
            raise AlreadyExists(f"secret {registration.namespace}/{secret_name} is taken")
        body = {
            "metadata": {"name": registration.name, "namespace": registration.namespace},
            "spec": _registration_spec(registration),
        }
        try:
            with _mapped():
                created = self._kube.create(REGISTRATIONS, body)
        except Conflict as error:
            raise AlreadyExists(f"registration {registration.namespace}/{registration.name}") from error
        return _registration(created)

    def get_signing_key(self, registration: Registration) -> bytes | None:
        # Keyed on the registration's version: rotating the key (AUTH.md) changes the registration.
        key = (registration.namespace, registration.signing_key_secret, registration.version)
        if key not in self._keys:
            secret = self._read_secret(registration.namespace, registration.signing_key_secret)
            if secret is None or SIGNING_KEY_FIELD not in secret:
                return None
            self._keys[key] = secret[SIGNING_KEY_FIELD]
        return self._keys[key]

    # -- hosts ------------------------------------------------------------------------------

    def get_host(self, namespace: str, name: str) -> Host | None:
        obj = self._get(HOSTS, namespace, name)
        return _host(obj) if obj else None

    def list_hosts(self, namespace: str | None = None) -> list[Host]:
        return [_host(o) for o in self._scan(HOSTS, namespace)]

    def create_host(self, host: Host) -> Host:
        registration = self._get(REGISTRATIONS, host.namespace, host.registration)
        if registration is None:
            raise NotFound(f"registration {host.namespace}/{host.registration}")
        body = {
            "metadata": {
                "name": host.name,
                "namespace": host.namespace,
                "labels": host.labels,
                "annotations": host.annotations,
                "ownerReferences": [owner_reference(registration, controller=True)],
                # Present from the start, so a host deleted before the operator sees it still resets.
                "finalizers": [FINALIZER],
            },
            "spec": {"pubKey": host.pub_key},
        }
        try:
            with _mapped():
                created = self._kube.create(HOSTS, body)
        except Conflict as error:
            raise AlreadyExists(f"host {host.namespace}/{host.name}") from error
        status = {
            key: value
            for key, value in (
                ("addresses", host.addresses),
                ("lastSeen", host.last_seen),
                ("conditions", _conditions_at_registration(host)),
            )
            if value
        }
        if status:
            # The status subresource ignores a status sent with the object: written after it
            # (no resourceVersion: only the host itself reports these, and it just registered).
            with _mapped():
                created = self._kube.patch(HOSTS, host.namespace, host.name, {"status": status}, status=True)
        return _host(created)

    def update_host(self, host: Host) -> Host:
        current_obj = self._get(HOSTS, host.namespace, host.name)
        if current_obj is None:
            raise NotFound(f"host {host.namespace}/{host.name}")
        current = _host(current_obj)
        if current.version != host.version:
            raise Conflict(f"host {host.namespace}/{host.name} changed")
        obj = current_obj
        before, after = _writable(current), _writable(host)
        # Status first: the conditions a label implies (an installation's RegistrationReady
        # and InstallationReady) are there by the time the label is. The operator sets them
        # from the labels; had it seen the label alone in between, it would have written
        # them itself and this write's status patch would have met a 409.
        with _mapped():
            status = status_patch(before, after, obj["metadata"]["resourceVersion"])
            if status is not None:
                obj = self._kube.patch(HOSTS, host.namespace, host.name, status, status=True)
                before["metadata"]["resourceVersion"] = obj["metadata"]["resourceVersion"]
            main_patch = object_patch(before, after)
            if main_patch is not None:
                obj = self._kube.patch(HOSTS, host.namespace, host.name, main_patch)
        # The operator removes the finalizer once the host has reported its reset.
        return _host(obj)

    def request_host_deletion(self, host: Host) -> None:
        """Asks the host to reset, then deletes it: the finalizer holds it until the reset."""
        for _ in range(MAX_DELETE_ATTEMPTS):
            current = self.get_host(host.namespace, host.name)
            if current is None:
                return
            marked = marked_for_reset(current)
            try:
                if marked != current:
                    self.update_host(marked)
                break
            except Conflict:
                continue
        else:
            raise StoreUnavailable(f"host {host.namespace}/{host.name} keeps changing, retry later")
        if not current.deleting:
            with contextlib.suppress(NotFound), _mapped():
                self._kube.delete(HOSTS, host.namespace, host.name)

    def get_bootstrap(self, host: Host) -> Bootstrap | None:
        if host.bootstrap_secret is None:
            return None
        secret = self._read_secret(
            host.bootstrap_secret.namespace or host.namespace, host.bootstrap_secret.name
        )
        if secret is None or BOOTSTRAP_VALUE_FIELD not in secret:
            return None
        fmt = secret.get(BOOTSTRAP_FORMAT_FIELD)
        return Bootstrap(
            config=secret[BOOTSTRAP_VALUE_FIELD].decode(),
            format=fmt.decode() if fmt else DEFAULT_BOOTSTRAP_FORMAT,
        )

    def attach_bootstrap(self, host: Host, bootstrap: Bootstrap) -> Host:
        name = f"{host.name}-bootstrap"
        existing = self._read_secret(host.namespace, name)
        if existing is not None and SIGNING_KEY_FIELD in existing:
            raise Conflict(f"secret {host.namespace}/{name} holds a registration's signing key")
        with _mapped():
            self._kube.write_secret(
                namespace=host.namespace,
                name=name,
                data={
                    BOOTSTRAP_VALUE_FIELD: bootstrap.config.encode(),
                    BOOTSTRAP_FORMAT_FIELD: bootstrap.format.encode(),
                },
                secret_type="cluster.x-k8s.io/secret",  # noqa: S106 - a Secret type, not a password
                replace=True,
            )
            patch = {"spec": {"bootstrapSecret": {"name": name, "namespace": host.namespace}}}
            return _host(self._kube.patch(HOSTS, host.namespace, host.name, patch))

    # -- plumbing ---------------------------------------------------------------------------

    def _get(self, resource: Any, namespace: str, name: str) -> dict[str, Any] | None:
        self._check_connected()
        with _mapped():
            return self._kube.snapshot(resource, namespace, name)

    def _scan(self, resource: Any, namespace: str | None) -> list[dict[str, Any]]:
        self._check_connected()
        with _mapped():
            return self._kube.scan(resource, namespace)

    def _check_connected(self) -> None:
        if self._kube.informers and not self._kube.connected:
            raise StoreUnavailable("not connected to the Kubernetes API server")

    def _read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        with _mapped():
            return self._kube.read_secret(namespace, name)


def _conditions_at_registration(host: Host) -> list[dict[str, Any]]:
    """A host that registers has just checked in: HostReachable True and the Ready summary,
    as the operator's host controller would set them, written with the registration's own
    status write. The operator writes HostReachable only when its status changes, so a new
    host costs it no write of its own (it was one status patch per new host)."""
    if not host.last_seen:
        return host.conditions
    reachable = reachable_condition("True", CHECKED_IN, f"Checked in at registration (at {host.last_seen})")
    return conditions.with_ready_summary(conditions.set_condition(host.conditions, reachable))


def _registration_spec(registration: Registration) -> dict[str, Any]:
    spec: dict[str, Any] = {"config": registration.config}
    if registration.host_labels:
        spec["hostLabels"] = registration.host_labels
    if registration.host_annotations:
        spec["hostAnnotations"] = registration.host_annotations
    if registration.private_key_ref:
        spec["privateKeyRef"] = registration.private_key_ref
    return spec


def _registration(obj: dict[str, Any]) -> Registration:
    metadata, spec = obj["metadata"], obj.get("spec", {})
    return Registration(
        namespace=metadata["namespace"],
        name=metadata["name"],
        config=spec.get("config", {}),
        host_labels=spec.get("hostLabels") or {},
        host_annotations=spec.get("hostAnnotations") or {},
        private_key_ref=spec.get("privateKeyRef"),
        uid=metadata.get("uid", ""),
        version=metadata.get("resourceVersion", ""),
    )


def _host(obj: dict[str, Any]) -> Host:
    metadata, spec, status = obj["metadata"], obj.get("spec", {}), obj.get("status", {})
    owner = next(
        (o["name"] for o in metadata.get("ownerReferences", []) if o.get("kind") == "ElementalRegistration"),
        "",
    )
    bootstrap = spec.get("bootstrapSecret")
    return Host(
        namespace=metadata["namespace"],
        name=metadata["name"],
        registration=owner,
        pub_key=spec.get("pubKey", ""),
        labels=dict(metadata.get("labels") or {}),
        annotations=dict(metadata.get("annotations") or {}),
        phase=status.get("phase"),
        conditions=[dict(c) for c in status.get("conditions") or []],
        addresses=[dict(a) for a in status.get("addresses") or []],
        last_seen=status.get("lastSeen"),
        reboot_request=spec.get("rebootRequest"),
        reboot_accepted=status.get("rebootAccepted"),
        bootstrap_secret=ObjectRef(namespace=bootstrap.get("namespace", ""), name=bootstrap["name"])
        if bootstrap and bootstrap.get("name")
        else None,
        machine_ref=spec.get("machineRef"),
        os_version_management=spec.get("osVersionManagement") or {},
        deleting=bool(metadata.get("deletionTimestamp")),
        version=metadata.get("resourceVersion", ""),
        created=metadata.get("creationTimestamp", ""),
    )


def _writable(host: Host) -> dict[str, Any]:
    """The parts of an ElementalHost the API writes, shaped as the resource, for the
    merge-patch diff the operator uses too (elemental_kube.patching). Not spec.rebootRequest:
    the operator's; the API only records the agent's acknowledgement of it."""
    return {
        "metadata": {"labels": host.labels, "annotations": host.annotations, "resourceVersion": host.version},
        "spec": {"pubKey": host.pub_key, "osVersionManagement": host.os_version_management},
        "status": {
            "phase": host.phase,
            "conditions": host.conditions,
            "addresses": host.addresses,
            "lastSeen": host.last_seen,
            "rebootAccepted": host.reboot_accepted,
        },
    }
