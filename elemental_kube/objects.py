"""Reads and writes of Kubernetes objects for the API's store and the operator.

Reads come from watch-fed caches for the watched resources (a no-op check-in or reconcile
sends nothing to kube-apiserver) and straight from the server otherwise. Writes carry the
resourceVersion they build on, go object-then-status, and land in the cache at once (so a
reader never sees an older state than its own write).
"""

from __future__ import annotations

import base64
import copy
import logging
from collections.abc import Callable, Iterable
from typing import Any

import yaml
from kubernetes import client

from elemental_core.vocabulary import Resource
from elemental_kube import events, patching
from elemental_kube.client import call, remote_client
from elemental_kube.errors import Conflict, KubeError, NotFound
from elemental_kube.indexes import Index
from elemental_kube.informer import Informer

RequestHook = Callable[[str], None]
log = logging.getLogger(__name__)


def owner_reference(obj: dict[str, Any], *, controller: bool = False) -> dict[str, Any]:
    """An ownerReference to `obj` (which carries its apiVersion and kind)."""
    reference = {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }
    if controller:
        reference.update(controller=True, blockOwnerDeletion=True)
    return reference


def gone(obj: dict[str, Any]) -> bool:
    """Deleted and without finalizers: the object no longer exists."""
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("deletionTimestamp")) and not metadata.get("finalizers")


def _owner_model(owner: dict[str, Any]) -> client.V1OwnerReference:
    """A controller reference without blockOwnerDeletion, which would need the right to
    set finalizers on the owner (the programs' RBAC does not grant it: docs/RBAC.md)."""
    reference = owner_reference(owner)
    return client.V1OwnerReference(
        api_version=reference["apiVersion"],
        kind=reference["kind"],
        name=reference["name"],
        uid=reference["uid"],
        controller=True,
    )


class Kube:
    """One program's view of the cluster.

    watched: the resources served from caches (start() fills them). on_request is told the
    verb of each request sent (the operator counts them as a metric)."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        watched: Iterable[Resource] = (),
        on_request: RequestHook | None = None,
    ) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.coordination = client.CoordinationV1Api(api)
        self._on_request = on_request
        self.informers = {r: Informer(self.custom, r) for r in watched}

    def start(self, sync_timeout: float = 60) -> bool:
        for informer in self.informers.values():
            informer.start()
        return all(i.wait_synced(sync_timeout) for i in self.informers.values())

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop()

    def close(self) -> None:
        self.stop()
        self.api.close()

    @property
    def connected(self) -> bool:
        return all(i.connected for i in self.informers.values())

    def is_watched(self, resource: Resource) -> bool:
        return resource in self.informers

    # -- reads --------------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """A copy of the object (from the cache when watched), or None."""
        informer = self.informers.get(resource)
        if informer is None:
            return self.read(resource, namespace, name)
        obj = informer.get(namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def snapshot(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """The cached object itself (never mutate it: see scan), or a fresh read if unwatched;
        the hot path's read, which copies nothing."""
        informer = self.informers.get(resource)
        if informer is None:
            return self.read(resource, namespace, name)
        return informer.get(namespace, name)

    def read(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """The object as kube-apiserver has it now (no cache), or None."""
        try:
            obj: dict[str, Any] = self._call(
                "get",
                self.custom.get_namespaced_custom_object,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
            )
        except NotFound:
            return None
        return obj

    def scan(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        """The cached objects themselves, for read-only scans of many objects (copying a
        thousand hosts per reconcile showed in the association benchmark). Never mutate
        them: the cache replaces objects, it does not change them, so they are stable
        snapshots fit to be the `before` of apply_changes. Unwatched: a fresh listing."""
        informer = self.informers.get(resource)
        if informer is not None:
            return informer.list(namespace)
        if namespace is None:
            listing = self._call(
                "list",
                self.custom.list_cluster_custom_object,
                resource.group,
                resource.version,
                resource.plural,
            )
        else:
            listing = self._call(
                "list",
                self.custom.list_namespaced_custom_object,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
            )
        items: list[dict[str, Any]] = listing.get("items", [])
        return sorted(items, key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]))

    def indexed(self, resource: Resource, index: Index, namespace: str, value: str) -> list[dict[str, Any]]:
        """The cached objects of `namespace` with `value` under `index`, in name order, as
        scan() gives them (never mutate them) but without looking at the others.
        Unwatched: a fresh listing, filtered."""
        informer = self.informers.get(resource)
        if informer is not None:
            return informer.indexed(index, namespace, value)
        return [o for o in self.scan(resource, namespace) if value in index.values(o)]

    def select(
        self, resource: Resource, namespace: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        """Copies of the objects that match, without copying the rest."""
        return [copy.deepcopy(o) for o in self.scan(resource, namespace) if predicate(o)]

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for o in self.scan(resource, namespace)]

    # -- writes -------------------------------------------------------------------------------

    def create(self, resource: Resource, body: dict[str, Any]) -> dict[str, Any]:
        """Creates the object (Conflict if the name is taken) and caches the answer."""
        body = {"apiVersion": resource.api_version, "kind": resource.kind, **body}
        created: dict[str, Any] = self._call(
            "create",
            self.custom.create_namespaced_custom_object,
            resource.group,
            resource.version,
            body["metadata"]["namespace"],
            resource.plural,
            body,
        )
        self._remember(resource, created)
        return created

    def delete(self, resource: Resource, namespace: str, name: str) -> None:
        """Asks for deletion (finalizers may hold the object); NotFound if already gone."""
        self._call(
            "delete",
            self.custom.delete_namespaced_custom_object,
            resource.group,
            resource.version,
            namespace,
            resource.plural,
            name,
        )

    def patch(
        self, resource: Resource, namespace: str, name: str, body: dict[str, Any], *, status: bool = False
    ) -> dict[str, Any]:
        """A merge patch of the object (or its status). On Conflict the cache is refreshed
        first, so the caller's retry reads the current version."""
        method = (
            self.custom.patch_namespaced_custom_object_status
            if status
            else self.custom.patch_namespaced_custom_object
        )
        try:
            obj: dict[str, Any] = self._call(
                "patch_status" if status else "patch",
                method,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                body,
            )
        except Conflict:
            self.refresh(resource, namespace, name)
            raise
        self._remember(resource, obj)
        return obj

    def apply_changes(
        self, resource: Resource, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        """Writes what changed from `before` to `after`: metadata/spec, then status (once);
        nothing when they are equal."""
        current = before
        namespace, name = before["metadata"]["namespace"], before["metadata"]["name"]
        main = patching.object_patch(before, after)
        if main is not None:
            current = self.patch(resource, namespace, name, main)
        status = patching.status_patch(before, after, current["metadata"]["resourceVersion"])
        if status is not None and not gone(current):
            current = self.patch(resource, namespace, name, status, status=True)
        return current

    def refresh(self, resource: Resource, namespace: str, name: str) -> None:
        """Re-reads one object into the cache (or drops it from there if it is gone)."""
        informer = self.informers.get(resource)
        if informer is None:
            return
        obj = self.read(resource, namespace, name)
        if obj is None:
            informer.forget(namespace, name)
        else:
            informer.upsert(obj)

    def _remember(self, resource: Resource, obj: dict[str, Any]) -> None:
        informer = self.informers.get(resource)
        if informer is not None:
            informer.upsert(obj)

    # -- Secrets ------------------------------------------------------------------------------

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        try:
            secret = self._call("get_secret", self.core.read_namespaced_secret, name, namespace)
        except NotFound:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def write_secret(
        self,
        *,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        owner: dict[str, Any] | None = None,
        secret_type: str | None = None,
        replace: bool,
    ) -> str:
        """Creates the Secret; an existing one is replaced (replace=True) or kept as it is.
        Returns its uid."""
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                owner_references=[_owner_model(owner)] if owner else None,
            ),
            type=secret_type,
            data={k: base64.b64encode(v).decode() for k, v in data.items()},
        )
        try:
            written = self._call("create_secret", self.core.create_namespaced_secret, namespace, body)
        except Conflict:
            if replace:
                written = self._call(
                    "replace_secret", self.core.replace_namespaced_secret, name, namespace, body
                )
            else:
                written = self._call("get_secret", self.core.read_namespaced_secret, name, namespace)
        return str(written.metadata.uid)

    # -- Events -------------------------------------------------------------------------------

    def record_event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        """Writes a core/v1 Event about `obj`; a failure is logged, never raised (an Event
        reports work, it is not part of it)."""
        body = events.event_body(obj, event_type, reason, message, component=self._component)
        try:
            self._call("create_event", self.core.create_namespaced_event, body.metadata.namespace, body)
        except KubeError as error:
            extra = {"reason": reason, "object": obj["metadata"]["name"], "error": str(error)}
            log.warning("event not recorded", extra=extra)

    @property
    def _component(self) -> str:
        """This program's name, as its field manager (the user agent's first part)."""
        return str(self.api.user_agent).split("/")[0]

    # -- workload clusters --------------------------------------------------------------------

    def set_node_provider_id(self, kubeconfig: bytes, node: str, provider_id: str) -> None:
        """Sets spec.providerID on a workload cluster's Node (NotFound if there is none)."""
        remote = remote_client(yaml.safe_load(kubeconfig), field_manager=self._component)
        try:
            core = client.CoreV1Api(remote)
            current = self._call("remote_get_node", core.read_node, node)
            if current.spec and current.spec.provider_id == provider_id:
                return
            self._call("remote_patch_node", core.patch_node, node, {"spec": {"providerID": provider_id}})
        finally:
            remote.close()

    def node_ready(self, kubeconfig: bytes, node: str) -> bool | None:
        """Whether a workload cluster's Node reports Ready True; None if there is no such Node."""
        remote = remote_client(yaml.safe_load(kubeconfig), field_manager=self._component)
        try:
            current = self._call("remote_get_node", client.CoreV1Api(remote).read_node, node)
        except NotFound:
            return None
        finally:
            remote.close()
        found = (current.status.conditions if current.status else None) or []
        return any(c.type == "Ready" and c.status == "True" for c in found)

    # -- Leases -------------------------------------------------------------------------------

    def read_lease(self, namespace: str, name: str) -> Any:
        try:
            return self._call("get_lease", self.coordination.read_namespaced_lease, name, namespace)
        except NotFound:
            return None

    def create_lease(self, namespace: str, body: Any) -> Any:
        return self._call("create_lease", self.coordination.create_namespaced_lease, namespace, body)

    def replace_lease(self, namespace: str, name: str, body: Any) -> Any:
        return self._call("replace_lease", self.coordination.replace_namespaced_lease, name, namespace, body)

    def api_resources(self) -> Any:
        """A cheap request that proves kube-apiserver answers."""
        return self._call("get_api_resources", self.core.get_api_resources)

    # -- plumbing -----------------------------------------------------------------------------

    def _call(self, verb: str, function: Any, *args: Any) -> Any:
        if self._on_request is not None:
            self._on_request(verb)
        return call(function, *args)
