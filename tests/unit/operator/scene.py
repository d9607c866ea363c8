"""A cluster in memory for the controllers' decisions: what Cluster API and the agents
would have created, in a FakeKube, and readers of what the controllers wrote."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from elemental_core.vocabulary import (
    CLUSTERS,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    KUBECONFIG_VALUE_FIELD,
    LABEL_BOOTSTRAPPED,
    LABEL_CLUSTER_NAME,
    LABEL_INSTALLED,
    MACHINES,
    REGISTRATIONS,
    Resource,
)
from elemental_operator.controllers.base import Settings
from elemental_operator.controllers.elementalcluster import ElementalClusterController
from elemental_operator.controllers.elementalhost import ElementalHostController
from elemental_operator.controllers.elementalmachine import ElementalMachineController
from elemental_operator.controllers.elementalregistration import ElementalRegistrationController
from tests.unit.operator.fake_kube import FakeKube

NS = "ns"
API_ENDPOINT = "https://elemental.example:9090"
REQUEUE = 7.0
KUBECONFIG = b"apiVersion: v1\nkind: Config\n"


def owner_reference(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }


def condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    return next(
        (c for c in ((obj or {}).get("status") or {}).get("conditions") or [] if c["type"] == kind), None
    )


def state(obj: dict[str, Any] | None, kind: str) -> tuple[str, str, str] | None:
    """(status, severity, reason) of a condition, the parts decisions set."""
    found = condition(obj, kind)
    if found is None:
        return None
    return found["status"], found.get("severity", ""), found.get("reason", "")


def labels(obj: dict[str, Any] | None) -> dict[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


class Scene:
    def __init__(self) -> None:
        self.kube = FakeKube()
        self.settings = Settings(api_endpoint=API_ENDPOINT, requeue_period=REQUEUE)

    # -- controllers ---------------------------------------------------------------------------

    def registrations(self, **settings: Any) -> ElementalRegistrationController:
        return ElementalRegistrationController(self.kube, self._settings(settings))

    def hosts(self, clock: Callable[[], float] | None = None, **settings: Any) -> ElementalHostController:
        if clock is None:
            return ElementalHostController(self.kube, self._settings(settings))
        return ElementalHostController(self.kube, self._settings(settings), clock=clock)

    def machines(self) -> ElementalMachineController:
        return ElementalMachineController(self.kube, self.settings)

    def clusters(self) -> ElementalClusterController:
        return ElementalClusterController(self.kube, self.settings)

    def _settings(self, overrides: dict[str, Any]) -> Settings:
        return Settings(**{**self.settings.__dict__, **overrides})

    # -- objects -------------------------------------------------------------------------------

    def get(self, resource: Resource, name: str) -> dict[str, Any] | None:
        return self.kube.stored(resource, NS, name)

    def registration(self, name: str = "reg", **reg: Any) -> dict[str, Any]:
        spec = {"config": {"elemental": {"registration": reg}}}
        return self.kube.add(REGISTRATIONS, {"metadata": {"name": name, "namespace": NS}, "spec": spec})

    def host(
        self,
        name: str,
        *,
        installed: bool = True,
        bootstrapped: bool = False,
        spec: dict[str, Any] | None = None,
        **more_labels: str,
    ) -> dict[str, Any]:
        host_labels = dict(more_labels)
        if installed:
            host_labels[LABEL_INSTALLED] = "true"
        if bootstrapped:
            host_labels[LABEL_BOOTSTRAPPED] = "true"
        metadata = {"name": name, "namespace": NS, "labels": host_labels}
        return self.kube.add(HOSTS, {"metadata": metadata, "spec": spec or {}})

    def cluster(
        self,
        name: str = "cluster",
        *,
        infrastructure_ready: bool = True,
        initialized: bool = False,
        control_plane_ref: bool = True,
    ) -> dict[str, Any]:
        """A v1beta2 Cluster; with a control-plane provider (controlPlaneRef) unless told
        otherwise, `initialized` being what Cluster API reports of that control plane."""
        spec: dict[str, Any] = {
            "infrastructureRef": {
                "apiGroup": ELEMENTAL_CLUSTERS.group,
                "kind": ELEMENTAL_CLUSTERS.kind,
                "name": name,
            }
        }
        initialization: dict[str, Any] = {"infrastructureProvisioned": infrastructure_ready}
        if control_plane_ref:
            spec["controlPlaneRef"] = {
                "apiGroup": "controlplane.cluster.x-k8s.io",
                "kind": "KThreesControlPlane",
                "name": f"{name}-cp",
            }
        if initialized:
            initialization["controlPlaneInitialized"] = True
        status = {"initialization": initialization}
        return self.kube.add(
            CLUSTERS, {"metadata": {"name": name, "namespace": NS}, "spec": spec, "status": status}
        )

    def kubeconfig(self, cluster: str = "cluster") -> None:
        self.kube.add_secret(NS, f"{cluster}-kubeconfig", {KUBECONFIG_VALUE_FIELD: KUBECONFIG})

    def machine_pair(
        self,
        name: str = "em",
        *,
        cluster: str | None = "cluster",
        owned: bool = True,
        bootstrap: bool = True,
        selector: dict[str, Any] | None = None,
        os_version: dict[str, Any] | None = None,
        finalizer: bool = False,
        failure_domain: str | None = None,
    ) -> dict[str, Any]:
        """A Machine and the ElementalMachine it owns (as Cluster API makes them)."""
        machine_labels = {LABEL_CLUSTER_NAME: cluster} if cluster else {}
        machine_spec: dict[str, Any] = {
            "clusterName": cluster or "",
            "infrastructureRef": {
                "apiGroup": ELEMENTAL_MACHINES.group,
                "kind": ELEMENTAL_MACHINES.kind,
                "name": name,
            },
        }
        if failure_domain is not None:
            machine_spec["failureDomain"] = failure_domain
        if bootstrap:
            machine_spec["bootstrap"] = {"dataSecretName": f"{name}-machine-bootstrap"}
        machine = self.kube.add(
            MACHINES,
            {
                "metadata": {"name": f"{name}-machine", "namespace": NS, "labels": machine_labels},
                "spec": machine_spec,
            },
        )
        metadata: dict[str, Any] = {"name": name, "namespace": NS, "labels": dict(machine_labels)}
        if owned:
            metadata["ownerReferences"] = [owner_reference(machine)]
        if finalizer:
            metadata["finalizers"] = [FINALIZER]
        spec: dict[str, Any] = {}
        if selector is not None:
            spec["selector"] = selector
        if os_version is not None:
            spec["osVersionManagement"] = os_version
        return self.kube.add(ELEMENTAL_MACHINES, {"metadata": metadata, "spec": spec})

    def elemental_cluster(
        self, name: str = "ec", *, owner: str | None = None, endpoint: bool = True, **spec_fields: Any
    ) -> dict[str, Any]:
        """`spec_fields`: more of its spec (failureDomainLabel=..., ...)."""
        metadata: dict[str, Any] = {"name": name, "namespace": NS}
        if owner is not None:
            metadata["ownerReferences"] = [
                {
                    "apiVersion": CLUSTERS.api_version,
                    "kind": CLUSTERS.kind,
                    "name": owner,
                    "uid": "cluster-uid",
                }
            ]
        spec: dict[str, Any] = (
            {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}} if endpoint else {}
        )
        spec.update(spec_fields)
        return self.kube.add(ELEMENTAL_CLUSTERS, {"metadata": metadata, "spec": spec})
