"""All of the operator's Kubernetes I/O: watch-fed caches, patches, Secrets, Leases, and the
workload clusters' Nodes. Controllers read from the caches and write through here."""

from __future__ import annotations

import base64
import copy
import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from elemental_api.store import patching
from elemental_api.store.kubewatch import Informer
from elemental_operator import metrics

log = logging.getLogger(__name__)
TIMEOUT = (3, 15)


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


INFRA = "infrastructure.cluster.x-k8s.io"
CAPI = "cluster.x-k8s.io"
REGISTRATIONS = Resource(INFRA, "v1beta1", "elementalregistrations", "ElementalRegistration")
HOSTS = Resource(INFRA, "v1beta1", "elementalhosts", "ElementalHost")
ELEMENTAL_MACHINES = Resource(INFRA, "v1beta1", "elementalmachines", "ElementalMachine")
ELEMENTAL_CLUSTERS = Resource(INFRA, "v1beta1", "elementalclusters", "ElementalCluster")
MACHINES = Resource(CAPI, "v1beta1", "machines", "Machine")
CLUSTERS = Resource(CAPI, "v1beta1", "clusters", "Cluster")
WATCHED = (REGISTRATIONS, HOSTS, ELEMENTAL_MACHINES, ELEMENTAL_CLUSTERS, MACHINES, CLUSTERS)


class KubeError(Exception):
    """Transient: retry later."""


class Conflict(KubeError):
    """The object changed since it was read; the reconcile runs again on fresh data."""


class NotFound(KubeError):
    pass


class Kube:
    def __init__(self, api: client.ApiClient) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.coordination = client.CoordinationV1Api(api)
        self.informers = {
            r: Informer(self.custom, group=r.group, version=r.version, plural=r.plural) for r in WATCHED
        }

    def start(self, sync_timeout: float = 60) -> bool:
        for informer in self.informers.values():
            informer.start()
        return all(i.wait_synced(sync_timeout) for i in self.informers.values())

    def stop(self) -> None:
        for informer in self.informers.values():
            informer.stop()

    @property
    def connected(self) -> bool:
        return all(i.connected for i in self.informers.values())

    # -- reads (cache) ----------------------------------------------------------------------

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None:
        obj = self.informers[resource].get(namespace, name)
        return copy.deepcopy(obj) if obj is not None else None

    def select(
        self, resource: Resource, namespace: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
        """Copies of the cached objects that match, without copying the rest."""
        return [copy.deepcopy(o) for o in self.informers[resource].list(namespace) if predicate(o)]

    def scan(self, resource: Resource, namespace: str) -> list[dict[str, Any]]:
        """The cached objects themselves, for read-only scans of many objects (copying a
        thousand hosts per reconcile showed in the association benchmark). Never mutate
        them: the cache replaces objects, it does not change them, so they are stable
        snapshots fit to be the `before` of apply_changes."""
        return self.informers[resource].list(namespace)

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]:
        return [copy.deepcopy(o) for o in self.informers[resource].list(namespace)]

    # -- writes -----------------------------------------------------------------------------

    def apply_changes(
        self, resource: Resource, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        """Writes what changed from `before` to `after`: metadata/spec, then status (once)."""
        current = before
        main = patching.object_patch(before, after)
        namespace, name = before["metadata"]["namespace"], before["metadata"]["name"]
        if main is not None:
            current = self._call(
                "patch",
                self.custom.patch_namespaced_custom_object,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                main,
            )
            self.informers[resource].upsert(current)
        status = patching.status_patch(before, after, current["metadata"]["resourceVersion"])
        if status is not None and not _gone(current):
            current = self._call(
                "patch_status",
                self.custom.patch_namespaced_custom_object_status,
                resource.group,
                resource.version,
                namespace,
                resource.plural,
                name,
                status,
            )
            self.informers[resource].upsert(current)
        return current

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        try:
            secret = self._call("get_secret", self.core.read_namespaced_secret, name, namespace)
        except NotFound:
            return None
        return {k: base64.b64decode(v) for k, v in (secret.data or {}).items()}

    def create_secret(self, namespace: str, name: str, data: dict[str, bytes], owner: dict[str, Any]) -> str:
        """Creates a Secret owned (controller) by `owner`; returns its uid. Existing: reused."""
        body = client.V1Secret(
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=namespace,
                owner_references=[
                    client.V1OwnerReference(
                        api_version=owner["apiVersion"],
                        kind=owner["kind"],
                        name=owner["metadata"]["name"],
                        uid=owner["metadata"]["uid"],
                        controller=True,
                    )
                ],
            ),
            data={k: base64.b64encode(v).decode() for k, v in data.items()},
        )
        try:
            created = self._call("create_secret", self.core.create_namespaced_secret, namespace, body)
        except Conflict:
            created = self._call("get_secret", self.core.read_namespaced_secret, name, namespace)
        return str(created.metadata.uid)

    def set_node_provider_id(self, kubeconfig: bytes, node: str, provider_id: str) -> None:
        """Sets spec.providerID on a workload cluster's Node (NotFound if there is none)."""
        remote = config.new_client_from_config_dict(yaml.safe_load(kubeconfig))
        try:
            remote.configuration.retries = 0
            core = client.CoreV1Api(remote)
            current = self._call("remote_get_node", core.read_node, node)
            if current.spec and current.spec.provider_id == provider_id:
                return
            self._call("remote_patch_node", core.patch_node, node, {"spec": {"providerID": provider_id}})
        finally:
            remote.close()

    # -- leases -----------------------------------------------------------------------------

    def read_lease(self, namespace: str, name: str) -> Any:
        try:
            return self._call("get_lease", self.coordination.read_namespaced_lease, name, namespace)
        except NotFound:
            return None

    def create_lease(self, namespace: str, body: Any) -> Any:
        return self._call("create_lease", self.coordination.create_namespaced_lease, namespace, body)

    def replace_lease(self, namespace: str, name: str, body: Any) -> Any:
        return self._call("replace_lease", self.coordination.replace_namespaced_lease, name, namespace, body)

    # -- plumbing ---------------------------------------------------------------------------

    def _call(self, verb: str, function: Any, *args: Any) -> Any:
        metrics.API_REQUESTS.labels(verb).inc()
        try:
            return function(*args, _request_timeout=TIMEOUT)
        except ApiException as error:
            if error.status == 404:
                raise NotFound(f"{verb}: not found") from error
            if error.status == 409:
                raise Conflict(f"{verb}: conflict") from error
            raise KubeError(f"{verb}: API server answered {error.status}: {error.reason}") from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise KubeError(f"{verb}: API server unreachable ({type(error).__name__})") from error


def _gone(obj: dict[str, Any]) -> bool:
    metadata = obj.get("metadata", {})
    return bool(metadata.get("deletionTimestamp")) and not metadata.get("finalizers")


def now_micro() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
