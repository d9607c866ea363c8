"""The test's side of the Cluster API contract: it creates what CAPI's own controllers would
(Cluster, Machine, the bootstrap Secret, the workload kubeconfig Secret, ElementalMachines
owned by Machines) and what agents would (ElementalHosts with their labels), and reads back
what the operator wrote. Everything goes through the real kube-apiserver."""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client import ApiException

from elemental_core.vocabulary import LABEL_BOOTSTRAPPED, LABEL_CLUSTER_NAME, LABEL_INSTALLED
from tests.controlplane import ControlPlane
from tests.helpers import wait_for

G, V = "infrastructure.cluster.x-k8s.io", "v1beta1"
CAPI_G, CAPI_V = "cluster.x-k8s.io", "v1beta2"  # Cluster API's objects as its v1.14 controllers write them
HOSTS, EMS, REGS, ECLUSTERS = (
    "elementalhosts",
    "elementalmachines",
    "elementalregistrations",
    "elementalclusters",
)
MACHINES, CLUSTERS = "machines", "clusters"
REMEDIATIONS = "elementalremediations"
GROUP_OF = {MACHINES: CAPI_G, CLUSTERS: CAPI_G}
VERSION_OF = {MACHINES: CAPI_V, CLUSTERS: CAPI_V}
KIND_OF = {
    HOSTS: "ElementalHost",
    EMS: "ElementalMachine",
    REGS: "ElementalRegistration",
    ECLUSTERS: "ElementalCluster",
    "elementalclustertemplates": "ElementalClusterTemplate",
    "elementalmachinetemplates": "ElementalMachineTemplate",
    REMEDIATIONS: "ElementalRemediation",
    MACHINES: "Machine",
    CLUSTERS: "Cluster",
}
T = TypeVar("T")


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def reason(obj: dict[str, Any] | None, kind: str) -> str | None:
    c = condition(obj, kind)
    return None if c is None else c.get("reason", "")


def is_true(obj: dict[str, Any] | None, kind: str) -> bool:
    c = condition(obj, kind)
    return c is not None and c.get("status") == "True"


def labels(obj: dict[str, Any] | None) -> dict[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (verification is elemental_core.tokens' job)."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


class Recorder:
    """Every version of a kind's objects in a namespace, as a watch delivers them: for
    states that only last until the next reconcile."""

    def __init__(self, custom: k8s.CustomObjectsApi, namespace: str, plural: str) -> None:
        self.seen: list[dict[str, Any]] = []
        self.error: Exception | None = None
        self._stopped = False
        self._watch = watch.Watch()
        self._args = (
            custom.list_namespaced_custom_object,
            GROUP_OF.get(plural, G),
            VERSION_OF.get(plural, V),
            namespace,
            plural,
        )
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._started.wait(10)

    def _run(self) -> None:
        function, *args = self._args
        try:
            listing = function(*args)
            self._started.set()
            version = listing["metadata"]["resourceVersion"]
            for event in self._watch.stream(function, *args, resource_version=version, timeout_seconds=60):
                self.seen.append(event["object"])
        except Exception as error:  # the client is closed under a stopped recorder
            if not self._stopped:
                self.error = error

    def reasons(self, name: str, kind: str) -> list[str | None]:
        return [reason(o, kind) for o in list(self.seen) if o["metadata"]["name"] == name]

    def stop(self) -> None:
        self._stopped = True
        self._watch.stop()
        assert self.error is None, self.error


@dataclass
class Downstream:
    """The workload cluster: only Nodes are needed, as a kubelet would register them."""

    control_plane: ControlPlane
    core: k8s.CoreV1Api

    @property
    def kubeconfig(self) -> bytes:
        return self.control_plane.kubeconfig_path.read_bytes()

    def create_node(self, name: str) -> None:
        self.core.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(name=name)))

    def provider_id(self, name: str) -> str | None:
        try:
            node = self.core.read_node(name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return node.spec.provider_id if node.spec else None


class Capi:
    def __init__(self, custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, namespace: str) -> None:
        self.custom = custom
        self.core = core
        self.namespace = namespace
        # Node names are cluster-wide in the shared downstream cluster: host names carry this.
        self.suffix = namespace.rsplit("-", 1)[-1]

    # -- generic ---------------------------------------------------------------------------

    def create(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        group, version = GROUP_OF.get(plural, G), VERSION_OF.get(plural, V)
        obj = {"apiVersion": f"{group}/{version}", "kind": KIND_OF[plural], **body}
        obj["metadata"] = {"name": name, **(body.get("metadata") or {})}
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            group, version, self.namespace, plural, obj
        )
        return created

    def get(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP_OF.get(plural, G), VERSION_OF.get(plural, V), self.namespace, plural, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return obj

    def list(self, plural: str) -> list[dict[str, Any]]:
        listing = self.custom.list_namespaced_custom_object(
            GROUP_OF.get(plural, G), VERSION_OF.get(plural, V), self.namespace, plural
        )
        items: list[dict[str, Any]] = listing["items"]
        return items

    def patch(self, plural: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.custom.patch_namespaced_custom_object(
            GROUP_OF.get(plural, G), VERSION_OF.get(plural, V), self.namespace, plural, name, body
        )
        return patched

    def patch_status(self, plural: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.custom.patch_namespaced_custom_object_status(
            GROUP_OF.get(plural, G),
            VERSION_OF.get(plural, V),
            self.namespace,
            plural,
            name,
            {"status": status},
        )
        return patched

    def delete(self, plural: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(
            GROUP_OF.get(plural, G), VERSION_OF.get(plural, V), self.namespace, plural, name
        )

    def wait(
        self, plural: str, name: str, check: Callable[[dict[str, Any]], Any], timeout: float = 20
    ) -> dict[str, Any]:
        """Waits until the object exists and `check(obj)` is truthy; returns the object."""

        def probe() -> dict[str, Any] | None:
            obj = self.get(plural, name)
            return obj if obj is not None and check(obj) else None

        return wait_for(probe, timeout, f"{KIND_OF[plural]} {name}")

    def wait_reason(
        self, plural: str, name: str, kind: str, expected: str, timeout: float = 20
    ) -> dict[str, Any]:
        try:
            return self.wait(plural, name, lambda o: reason(o, kind) == expected, timeout)
        except AssertionError as error:
            raise AssertionError(
                f"{error}; conditions: {(self.get(plural, name) or {}).get('status')}"
            ) from None

    def wait_gone(self, plural: str, name: str, timeout: float = 20) -> None:
        wait_for(lambda: self.get(plural, name) is None, timeout, f"{KIND_OF[plural]} {name} to go")

    # -- what agents create ----------------------------------------------------------------

    def host(
        self, name: str, installed: bool = True, bootstrapped: bool = False, **extra_labels: str
    ) -> dict[str, Any]:
        host_labels = dict(extra_labels)
        if installed:
            host_labels[LABEL_INSTALLED] = "true"
        if bootstrapped:
            host_labels[LABEL_BOOTSTRAPPED] = "true"
        return self.create(HOSTS, name, {"metadata": {"labels": host_labels}, "spec": {}})

    def label(self, plural: str, name: str, **changes: str | None) -> dict[str, Any]:
        """Sets labels (None removes one); keys may use the full names via **{...}."""
        return self.patch(plural, name, {"metadata": {"labels": changes}})

    def strip_finalizers(self, plural: str, name: str) -> None:
        self.patch(plural, name, {"metadata": {"finalizers": None}})

    # -- what Cluster API creates ----------------------------------------------------------

    def cluster(
        self,
        name: str = "cluster",
        infrastructure_ready: bool = True,
        control_plane_initialized: bool = False,
        control_plane_ref: bool = True,
    ) -> dict[str, Any]:
        """A Cluster, with a control-plane provider unless control_plane_ref is False."""
        spec: dict[str, Any] = {
            "infrastructureRef": {"apiGroup": G, "kind": "ElementalCluster", "name": name}
        }
        if control_plane_ref:
            spec["controlPlaneRef"] = {
                "apiGroup": "controlplane.cluster.x-k8s.io",
                "kind": "KubeadmControlPlane",
                "name": f"{name}-control-plane",
            }
        self.create(CLUSTERS, name, {"spec": spec})
        return self.cluster_status(name, infrastructure_ready, control_plane_initialized)

    def cluster_status(
        self, name: str, infrastructure_ready: bool, control_plane_initialized: bool
    ) -> dict[str, Any]:
        """What Cluster API's Cluster controller reports: status.initialization and the
        (metav1) ControlPlaneInitialized condition."""
        initialized = {
            "type": "ControlPlaneInitialized",
            "status": "True" if control_plane_initialized else "False",
            "reason": "Initialized" if control_plane_initialized else "NotInitialized",
            "message": "",
            "lastTransitionTime": now(),
        }
        initialization = {
            "infrastructureProvisioned": infrastructure_ready,
            "controlPlaneInitialized": control_plane_initialized,
        }
        return self.patch_status(
            CLUSTERS, name, {"initialization": initialization, "conditions": [initialized]}
        )

    def bootstrap_secret(self, name: str) -> None:
        self.core.create_namespaced_secret(
            self.namespace,
            k8s.V1Secret(
                metadata=k8s.V1ObjectMeta(name=name),
                type="cluster.x-k8s.io/secret",
                string_data={"value": "#cloud-config\nruncmd: [echo bootstrap]\n", "format": "cloud-config"},
            ),
        )

    def machine(
        self, name: str, infra_name: str, cluster: str = "cluster", bootstrap: bool = True
    ) -> dict[str, Any]:
        """A Machine whose infrastructureRef names the ElementalMachine `infra_name`."""
        spec: dict[str, Any] = {
            "clusterName": cluster,
            "bootstrap": {},
            "infrastructureRef": {"apiGroup": G, "kind": "ElementalMachine", "name": infra_name},
        }
        if bootstrap:
            self.bootstrap_secret(f"{name}-bootstrap")
            spec["bootstrap"]["dataSecretName"] = f"{name}-bootstrap"
        return self.create(
            MACHINES, name, {"metadata": {"labels": {LABEL_CLUSTER_NAME: cluster}}, "spec": spec}
        )

    def set_bootstrap_data(self, machine: str) -> None:
        self.bootstrap_secret(f"{machine}-bootstrap")
        self.patch(MACHINES, machine, {"spec": {"bootstrap": {"dataSecretName": f"{machine}-bootstrap"}}})

    @staticmethod
    def owner_reference(machine: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": f"{CAPI_G}/{CAPI_V}",
            "kind": "Machine",
            "name": machine["metadata"]["name"],
            "uid": machine["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def elemental_machine(
        self,
        name: str,
        machine: dict[str, Any] | None,
        cluster: str | None = "cluster",
        selector: dict[str, Any] | None = None,
        os_version: Any = None,
    ) -> dict[str, Any]:
        metadata: dict[str, Any] = {"labels": {LABEL_CLUSTER_NAME: cluster} if cluster else {}}
        if machine is not None:
            metadata["ownerReferences"] = [self.owner_reference(machine)]
        spec: dict[str, Any] = {}
        if selector is not None:
            spec["selector"] = selector
        if os_version is not None:
            spec["osVersionManagement"] = os_version
        return self.create(EMS, name, {"metadata": metadata, "spec": spec})

    def machine_pair(self, name: str, cluster: str = "cluster", **options: Any) -> dict[str, Any]:
        """Machine `<name>-machine` (with bootstrap data) owning ElementalMachine `<name>`."""
        machine = self.machine(f"{name}-machine", name, cluster)
        return self.elemental_machine(name, machine, cluster, **options)

    def kubeconfig_secret(self, cluster: str, downstream: Downstream) -> None:
        self.core.create_namespaced_secret(
            self.namespace,
            k8s.V1Secret(
                metadata=k8s.V1ObjectMeta(name=f"{cluster}-kubeconfig", labels={LABEL_CLUSTER_NAME: cluster}),
                type="cluster.x-k8s.io/secret",
                data={"value": base64.b64encode(downstream.kubeconfig).decode()},
            ),
        )

    # -- teardown --------------------------------------------------------------------------

    def cleanup(self) -> None:
        """Deletes every object of the namespace, then lets go of the finalizers (an operator
        may still run: it never adds a finalizer to an object being deleted)."""
        plurals = [REMEDIATIONS, EMS, HOSTS, REGS, ECLUSTERS, MACHINES, CLUSTERS]
        for plural in plurals:
            with contextlib.suppress(ApiException):
                self.custom.delete_collection_namespaced_custom_object(
                    GROUP_OF.get(plural, G), VERSION_OF.get(plural, V), self.namespace, plural
                )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = [(p, o["metadata"]["name"]) for p in plurals for o in self.list(p)]
            if not left:
                return
            for plural, name in left:
                with contextlib.suppress(ApiException):
                    self.strip_finalizers(plural, name)
            time.sleep(0.1)
