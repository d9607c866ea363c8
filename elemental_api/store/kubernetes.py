"""The Kubernetes store: ElementalRegistration and ElementalHost custom resources and Secrets.

Hot-path reads (registrations, hosts, signing keys) come from watch-fed caches, so a no-op
check-in sends no request to the API server. Writes carry the resourceVersion they were
based on; the API server refuses stale ones (Conflict) and the caller retries.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from elemental_api.hostlogic import marked_for_reset, may_be_released
from elemental_api.records import (
    API_VERSION,
    BOOTSTRAP_FORMAT_FIELD,
    BOOTSTRAP_VALUE_FIELD,
    DEFAULT_BOOTSTRAP_FORMAT,
    FINALIZER,
    GROUP,
    SIGNING_KEY_FIELD,
    VERSION,
    Bootstrap,
    Host,
    ObjectRef,
    Registration,
)
from elemental_api.store import patching
from elemental_api.store.base import AlreadyExists, Conflict, NotFound, StoreUnavailable
from elemental_api.store.kubeclient import api_client
from elemental_api.store.kubewatch import Informer

log = logging.getLogger(__name__)
HOSTS = "elementalhosts"
REGISTRATIONS = "elementalregistrations"
TIMEOUT = (3, 10)  # connect, read: a hung API server must not hang requests
SYNC_SECONDS = 30


class KubernetesStore:
    def __init__(self, *, kubeconfig: str | None = None, watch: bool = True) -> None:
        self._api_client = api_client(kubeconfig)
        self._custom = client.CustomObjectsApi(self._api_client)
        self._core = client.CoreV1Api(self._api_client)
        self._keys: dict[tuple[str, str, str], bytes] = {}
        self._hosts: Informer | None = None
        self._registrations: Informer | None = None
        if watch:
            self._hosts = Informer(self._custom, group=GROUP, version=VERSION, plural=HOSTS)
            self._registrations = Informer(self._custom, group=GROUP, version=VERSION, plural=REGISTRATIONS)
            self._hosts.start()
            self._registrations.start()
            # Serve from a complete cache only; if the server is down, /readyz says so.
            self._hosts.wait_synced(SYNC_SECONDS)
            self._registrations.wait_synced(SYNC_SECONDS)

    def close(self) -> None:
        for informer in (self._hosts, self._registrations):
            if informer is not None:
                informer.stop()
        self._api_client.close()

    def ping(self) -> None:
        if self._hosts is not None and self._registrations is not None:
            if not (self._hosts.connected and self._registrations.connected):
                raise StoreUnavailable("not connected to the Kubernetes API server")
            return
        _call(self._core.get_api_resources)

    # -- registrations ----------------------------------------------------------------------

    def get_registration(self, namespace: str, name: str) -> Registration | None:
        obj = self._get(self._registrations, REGISTRATIONS, namespace, name)
        return _registration(obj) if obj else None

    def list_registrations(self, namespace: str | None = None) -> list[Registration]:
        return [_registration(o) for o in self._list(self._registrations, REGISTRATIONS, namespace)]

    def create_registration(self, registration: Registration, signing_key_pem: bytes) -> Registration:
        existing = self._read_secret(registration.namespace, registration.signing_key_secret)
        if existing is not None and SIGNING_KEY_FIELD not in existing:
            raise AlreadyExists(f"secret {registration.namespace}/{registration.signing_key_secret} is taken")
        body = {
            "apiVersion": API_VERSION,
            "kind": "ElementalRegistration",
            "metadata": {"name": registration.name, "namespace": registration.namespace},
            "spec": _registration_spec(registration),
        }
        try:
            created = _call(
                self._custom.create_namespaced_custom_object,
                GROUP,
                VERSION,
                registration.namespace,
                REGISTRATIONS,
                body,
            )
        except Conflict as error:
            raise AlreadyExists(f"registration {registration.namespace}/{registration.name}") from error
        secret = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=registration.signing_key_secret,
                namespace=registration.namespace,
                owner_references=[client.V1OwnerReference(**_owner_args(created, "ElementalRegistration"))],
            ),
            data={SIGNING_KEY_FIELD: base64.b64encode(signing_key_pem).decode()},
        )
        try:
            _call(self._core.create_namespaced_secret, registration.namespace, secret)
        except Conflict:  # a stale key left by an earlier registration of that name
            _call(
                self._core.replace_namespaced_secret,
                registration.signing_key_secret,
                registration.namespace,
                secret,
            )
        if self._registrations is not None:
            self._registrations.upsert(created)
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
        obj = self._get(self._hosts, HOSTS, namespace, name)
        return _host(obj) if obj else None

    def list_hosts(self, namespace: str | None = None) -> list[Host]:
        return [_host(o) for o in self._list(self._hosts, HOSTS, namespace)]

    def create_host(self, host: Host) -> Host:
        registration = self._get(self._registrations, REGISTRATIONS, host.namespace, host.registration)
        if registration is None:
            raise NotFound(f"registration {host.namespace}/{host.registration}")
        body = {
            "apiVersion": API_VERSION,
            "kind": "ElementalHost",
            "metadata": {
                "name": host.name,
                "namespace": host.namespace,
                "labels": host.labels,
                "annotations": host.annotations,
                "ownerReferences": [_owner(registration, "ElementalRegistration", controller=True)],
                # Present from the start, so a host deleted before the operator sees it still resets.
                "finalizers": [FINALIZER],
            },
            "spec": {"pubKey": host.pub_key},
        }
        try:
            created = _call(
                self._custom.create_namespaced_custom_object, GROUP, VERSION, host.namespace, HOSTS, body
            )
        except Conflict as error:
            raise AlreadyExists(f"host {host.namespace}/{host.name}") from error
        self._remember(created)
        return _host(created)

    def update_host(self, host: Host) -> Host:
        current_obj = self._get(self._hosts, HOSTS, host.namespace, host.name)
        if current_obj is None:
            raise NotFound(f"host {host.namespace}/{host.name}")
        current = _host(current_obj)
        if current.version != host.version:
            raise Conflict(f"host {host.namespace}/{host.name} changed")
        obj = current_obj
        before, after = _writable(current), _writable(host)
        main_patch = patching.object_patch(before, after)
        if main_patch is not None:
            obj = self._patch_host(host, main_patch, status=False)
        status_patch = patching.status_patch(before, after, obj["metadata"]["resourceVersion"])
        if status_patch is not None:
            obj = self._patch_host(host, status_patch, status=True)
        updated = _host(obj)
        if may_be_released(updated):
            self._release(obj)
        return updated

    def _release(self, obj: dict[str, Any]) -> None:
        """Removes the finalizer of a host that has reset (as the operator would)."""
        finalizers = [f for f in obj["metadata"].get("finalizers", []) if f != FINALIZER]
        patch = {
            "metadata": {"finalizers": finalizers, "resourceVersion": obj["metadata"]["resourceVersion"]}
        }
        host = _host(obj)
        with contextlib.suppress(NotFound):
            self._patch_host(host, patch, status=False)
        if self._hosts is not None and not finalizers:
            self._hosts.forget(host.namespace, host.name)

    def request_host_deletion(self, host: Host) -> None:
        """Asks the host to reset, then deletes it: the finalizer holds it until the reset."""
        while True:
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
        if not current.deleting:
            try:
                _call(
                    self._custom.delete_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    host.namespace,
                    HOSTS,
                    host.name,
                )
            except NotFound:
                return

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
        data = {BOOTSTRAP_VALUE_FIELD: bootstrap.config, BOOTSTRAP_FORMAT_FIELD: bootstrap.format}
        secret = client.V1Secret(
            metadata=client.V1ObjectMeta(name=name, namespace=host.namespace),
            type="cluster.x-k8s.io/secret",
            string_data=data,
        )
        existing = self._read_secret(host.namespace, name)
        if existing is not None and SIGNING_KEY_FIELD in existing:
            raise Conflict(f"secret {host.namespace}/{name} holds a registration's signing key")
        try:
            _call(self._core.create_namespaced_secret, host.namespace, secret)
        except Conflict:
            _call(self._core.replace_namespaced_secret, name, host.namespace, secret)
        patch = {"spec": {"bootstrapSecret": {"name": name, "namespace": host.namespace}}}
        return _host(self._patch_host(host, patch, status=False))

    # -- plumbing ---------------------------------------------------------------------------

    def _get(
        self, informer: Informer | None, plural: str, namespace: str, name: str
    ) -> dict[str, Any] | None:
        if informer is not None:
            if not informer.connected:
                raise StoreUnavailable("not connected to the Kubernetes API server")
            return informer.get(namespace, name)
        try:
            obj: dict[str, Any] = _call(
                self._custom.get_namespaced_custom_object, GROUP, VERSION, namespace, plural, name
            )
            return obj
        except NotFound:
            return None

    def _list(self, informer: Informer | None, plural: str, namespace: str | None) -> list[dict[str, Any]]:
        if informer is not None:
            if not informer.connected:
                raise StoreUnavailable("not connected to the Kubernetes API server")
            return informer.list(namespace)
        if namespace is None:
            listing = _call(self._custom.list_cluster_custom_object, GROUP, VERSION, plural)
        else:
            listing = _call(self._custom.list_namespaced_custom_object, GROUP, VERSION, namespace, plural)
        items: list[dict[str, Any]] = listing.get("items", [])
        return items

    def _patch_host(self, host: Host, patch: dict[str, Any], *, status: bool) -> dict[str, Any]:
        method = (
            self._custom.patch_namespaced_custom_object_status
            if status
            else self._custom.patch_namespaced_custom_object
        )
        try:
            obj: dict[str, Any] = _call(method, GROUP, VERSION, host.namespace, HOSTS, host.name, patch)
        except Conflict:
            self._refresh(host)  # so the caller's retry reads the current version
            raise
        self._remember(obj)
        return obj

    def _refresh(self, host: Host) -> None:
        try:
            obj = _call(
                self._custom.get_namespaced_custom_object, GROUP, VERSION, host.namespace, HOSTS, host.name
            )
            self._remember(obj)
        except NotFound:
            if self._hosts is not None:
                self._hosts.forget(host.namespace, host.name)

    def _remember(self, obj: dict[str, Any]) -> None:
        if self._hosts is not None:
            self._hosts.upsert(obj)

    def _read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        try:
            secret = _call(self._core.read_namespaced_secret, name, namespace)
        except NotFound:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Calls the API server, mapping its failures onto the store's errors."""
    try:
        return function(*args, _request_timeout=TIMEOUT, **kwargs)
    except ApiException as error:
        if error.status == 404:
            raise NotFound(str(error.reason)) from error
        if error.status == 409:
            raise Conflict(str(error.reason)) from error
        if error.status in (401, 403):
            # The API's credentials lack a permission (see docs/RBAC.md): an operator's fix,
            # so said loudly here; the agent gets a 503 and retries until it is fixed.
            log.error("kube-apiserver refused the API's request", extra={"status": error.status})
            raise StoreUnavailable(f"API server refused the request ({error.status})") from error
        if error.status in (429, 500, 502, 503, 504) or error.status == 0:
            raise StoreUnavailable(f"API server answered {error.status}") from error
        raise
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise StoreUnavailable(f"API server unreachable: {type(error).__name__}") from error


def _owner_args(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "api_version": API_VERSION,
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }


def _owner(obj: dict[str, Any], kind: str, controller: bool = False) -> dict[str, Any]:
    owner = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }
    if controller:
        owner.update(controller=True, blockOwnerDeletion=True)
    return owner


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
    merge-patch diff the operator uses too (elemental_api.store.patching)."""
    return {
        "metadata": {"labels": host.labels, "annotations": host.annotations, "resourceVersion": host.version},
        "spec": {"pubKey": host.pub_key, "osVersionManagement": host.os_version_management},
        "status": {"phase": host.phase, "conditions": host.conditions},
    }
