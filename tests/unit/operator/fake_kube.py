"""An in-memory `KubeAccess` (elemental_operator.controllers.base): the controllers' one
door to the cluster, with the semantics they rely on and nothing more.

- objects are stored per resource and key; reads hand out copies;
- metadata.generation counts spec changes (as for a CRD with a status subresource);
- apply_changes writes the merge-patch diff of `before` and `after` (the same diff
  elemental_kube sends), bumps resourceVersion, and raises Conflict when `before` is not the
  stored version (as kube-apiserver does with the resourceVersion the patch carries);
  an object being deleted that loses its last finalizer is gone;
- Secrets are data plus owner and type;
- set_node_provider_id writes into `nodes` (the workload cluster's Nodes, name to
  providerID) and raises NotFound for a Node not there; node_ready answers from
  `node_readiness` (a Node missing there: None);
- record_event appends to `events` (kind, name, type, reason, message), as elemental_kube
  never fails on it."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elemental_core.vocabulary import Resource
from elemental_kube import patching
from elemental_kube.errors import Conflict, NotFound
from elemental_kube.indexes import Index

Key = tuple[str, str]
Change = Callable[[dict[str, Any]], None]


@dataclass
class StoredSecret:
    data: dict[str, bytes]
    uid: str
    owner: dict[str, Any] | None
    secret_type: str | None


def merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386: applies a merge patch in place (null removes, objects merge, the rest replaces)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class FakeKube:
    def __init__(self) -> None:
        self.objects: dict[Resource, dict[Key, dict[str, Any]]] = {}
        self.secrets: dict[Key, StoredSecret] = {}
        self.nodes: dict[str, str | None] = {}  # the workload cluster: Node name -> providerID
        self.kubeconfigs_used: list[bytes] = []
        self.node_readiness: dict[str, bool] = {}
        self.events: list[tuple[str, str, str, str, str]] = []
        self._versions = itertools.count(1)
        self._uids = itertools.count(1)
        self._before_write: dict[tuple[Resource, Key], Change] = {}

    # -- setting the scene ---------------------------------------------------------------------

    def add(self, resource: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """Stores an object as kube-apiserver would have it: apiVersion, kind, uid, version."""
        stored = copy.deepcopy(obj)
        stored.setdefault("apiVersion", resource.api_version)
        stored.setdefault("kind", resource.kind)
        meta = stored.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta.setdefault("generation", 1)
        meta["resourceVersion"] = str(next(self._versions))
        self.objects.setdefault(resource, {})[(meta["namespace"], meta["name"])] = stored
        return copy.deepcopy(stored)

    def change(self, resource: Resource, namespace: str, name: str, change: Change) -> None:
        """Someone else's write: the stored object changes and gets a new version."""
        stored = self.objects[resource][(namespace, name)]
        spec = copy.deepcopy(stored.get("spec"))
        change(stored)
        if stored.get("spec") != spec:
            stored["metadata"]["generation"] = stored["metadata"].get("generation", 1) + 1
        stored["metadata"]["resourceVersion"] = str(next(self._versions))

    def before_next_write(self, resource: Resource, namespace: str, name: str, change: Change) -> None:
        """Someone else's write, landing between a controller's read and its write."""
        self._before_write[(resource, (namespace, name))] = change

    def delete(self, resource: Resource, namespace: str, name: str) -> None:
        """A deletion request: finalizers hold the object, marked for deletion."""
        stored = self.objects[resource][(namespace, name)]
        if not stored["metadata"].get("finalizers"):
            del self.objects[resource][(namespace, name)]
            return
        self.change(
            resource,
            namespace,
            name,
            lambda o: o["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z"),
        )

    def add_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> None:
        self.secrets[(namespace, name)] = StoredSecret(dict(data), f"uid-{next(self._uids)}", None, None)

    def stored(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        """What the cluster holds now (for assertions)."""
        return copy.deepcopy(self.objects.get(resource, {}).get((namespace, name)))

    # -- KubeAccess ----------------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        return self.stored(resource, namespace, name)

    def scan(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        items = self.objects.get(resource, {})
        return [copy.deepcopy(items[k]) for k in sorted(items) if namespace is None or k[0] == namespace]

    def indexed(self, resource: Resource, index: Index, namespace: str, value: str) -> list[dict[str, Any]]:
        return [o for o in self.scan(resource, namespace) if value in index.values(o)]

    def select(
        self, resource: Resource, namespace: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        return [o for o in self.scan(resource, namespace) if predicate(o)]

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.scan(resource, namespace)

    def apply_changes(
        self, resource: Resource, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        key = (before["metadata"]["namespace"], before["metadata"]["name"])
        change = self._before_write.pop((resource, key), None)
        if change is not None:
            self.change(resource, *key, change)
        stored = self.objects.get(resource, {}).get(key)
        if stored is None:
            raise NotFound(f"{resource.plural} {key}")
        built_on = before["metadata"]["resourceVersion"]  # as elemental_kube: main, then status
        main = patching.object_patch(before, after)
        if main is not None:
            self._check_version(resource, key, main)
            spec = copy.deepcopy(stored.get("spec") or {})
            merge(stored, main)
            if (stored.get("spec") or {}) != spec:
                stored["metadata"]["generation"] = stored["metadata"].get("generation", 1) + 1
            built_on = stored["metadata"]["resourceVersion"] = str(next(self._versions))
            if stored["metadata"].get("deletionTimestamp") and not stored["metadata"].get("finalizers"):
                del self.objects[resource][key]  # the last finalizer went: the object is gone
                return copy.deepcopy(stored)
        status = patching.status_patch(before, after, built_on)
        if status is not None:
            self._check_version(resource, key, status)
            merge(stored.setdefault("status", {}), status["status"])
            stored["metadata"]["resourceVersion"] = str(next(self._versions))
        return copy.deepcopy(stored)

    def _check_version(self, resource: Resource, key: Key, patch: dict[str, Any]) -> None:
        """Pops the resourceVersion the patch builds on; Conflict unless it is the stored one."""
        stored = self.objects[resource][key]
        if patch["metadata"].pop("resourceVersion") != stored["metadata"]["resourceVersion"]:
            raise Conflict(f"{resource.plural} {key} changed")
        if not patch["metadata"]:
            del patch["metadata"]

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        secret = self.secrets.get((namespace, name))
        return dict(secret.data) if secret is not None else None

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
        existing = self.secrets.get((namespace, name))
        if existing is not None and not replace:
            return existing.uid
        uid = existing.uid if existing is not None else f"uid-{next(self._uids)}"
        self.secrets[(namespace, name)] = StoredSecret(dict(data), uid, copy.deepcopy(owner), secret_type)
        return uid

    def set_node_provider_id(self, kubeconfig: bytes, node: str, provider_id: str) -> None:
        self.kubeconfigs_used.append(kubeconfig)
        if node not in self.nodes:
            raise NotFound(f"node {node}")
        self.nodes[node] = provider_id

    def node_ready(self, kubeconfig: bytes, node: str) -> bool | None:
        self.kubeconfigs_used.append(kubeconfig)
        return self.node_readiness.get(node)

    def record_event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        self.events.append((obj["kind"], obj["metadata"]["name"], event_type, reason, message))
