"""ElementalMachine: the Cluster API infrastructure machine. Associates one free host,
links it to the Machine's bootstrap data, sets the providerID, and resets the host when the
machine goes away."""

from __future__ import annotations

import copy
import logging
from typing import Any

from elemental_core import selectors
from elemental_core.vocabulary import (
    CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    LABEL_BOOTSTRAPPED,
    LABEL_CLUSTER_NAME,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_INSTALLED,
    LABEL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
    MACHINES,
    Resource,
)
from elemental_kube.errors import Conflict, KubeError, NotFound
from elemental_operator.controllers.base import (
    Key,
    KubeHolder,
    Mapper,
    Result,
    add_finalizer,
    deleting,
    false,
    labels_of,
    owner,
    remove_finalizer,
    set_condition,
    true,
    with_summary,
)

log = logging.getLogger(__name__)
ASSOCIATION, HOST_READY, PROVIDER_ID = "AssociationReady", "HostReady", "ProviderIDReady"


class ElementalMachineController(KubeHolder):
    name = "elementalmachine"
    resource = ELEMENTAL_MACHINES

    def watches(self) -> dict[Resource, Mapper]:
        return {HOSTS: _host_to_machine, MACHINES: _machine_to_elemental, CLUSTERS: self._cluster_to_machines}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(ELEMENTAL_MACHINES, namespace, name)
        if before is None:
            return Result()
        machine = copy.deepcopy(before)
        result = Result()
        try:
            result = self._reconcile(machine)
        finally:
            # Status is written once, on the way out, whatever happened.
            with_summary(machine)
            self.kube.apply_changes(ELEMENTAL_MACHINES, before, machine)
        return result

    def _reconcile(self, em: dict[str, Any]) -> Result:
        namespace = em["metadata"]["namespace"]
        owner_name = owner(em, "Machine")
        capi_machine = self.kube.get(MACHINES, namespace, owner_name) if owner_name else None
        if capi_machine is None:
            set_condition(
                em,
                false(
                    ASSOCIATION,
                    "Error",
                    "MissingMachineOwner",
                    "ElementalMachine resource has no Machine owner",
                ),
            )
            return Result()
        cluster_name = labels_of(em).get(LABEL_CLUSTER_NAME)
        cluster = self.kube.get(CLUSTERS, namespace, cluster_name) if cluster_name else None
        if cluster is None:
            set_condition(
                em,
                false(
                    ASSOCIATION,
                    "Error",
                    "MissingAssociatedCluster",
                    "ElementalMachine resource is not associated with any Cluster",
                ),
            )
            return Result()
        if deleting(em):
            if FINALIZER in (em["metadata"].get("finalizers") or []):
                self._reconcile_delete(em)
            return Result()
        add_finalizer(em, FINALIZER)
        if not cluster.get("status", {}).get("infrastructureReady"):
            set_condition(
                em,
                false(
                    ASSOCIATION,
                    "Error",
                    "MissingClusterInfrastructureReady",
                    "Cluster status.infrastructureReady is false",
                ),
            )
            return Result()
        secret_name = capi_machine.get("spec", {}).get("bootstrap", {}).get("dataSecretName")
        if not secret_name:
            set_condition(
                em,
                false(
                    ASSOCIATION,
                    "Error",
                    "MissingBootstrapSecret",
                    "Machine spec.bootstrap.dataSecretName is nil",
                ),
            )
            return Result()
        return self._reconcile_normal(em, capi_machine, cluster, secret_name)

    def _reconcile_normal(
        self, em: dict[str, Any], capi_machine: dict[str, Any], cluster: dict[str, Any], secret_name: str
    ) -> Result:
        status = em.setdefault("status", {})
        status["ready"] = False
        spec = em.setdefault("spec", {})
        if not spec.get("hostRef"):
            return self._associate(em, capi_machine, secret_name)
        ref = spec["hostRef"]
        host = self.kube.get(HOSTS, ref.get("namespace") or em["metadata"]["namespace"], ref["name"])
        if host is None:
            log.info("associated host lost", extra={"machine": em["metadata"]["name"], "host": ref["name"]})
            set_condition(
                em,
                false(
                    ASSOCIATION,
                    "Warning",
                    "AssociatedHostNotFound",
                    f"Previously associated host not found: {ref['name']}",
                ),
            )
            spec.pop("providerID", None)
            spec.pop("hostRef", None)
            return Result(requeue_after=self.settings.requeue_period)
        set_condition(em, true(ASSOCIATION))
        self._release_stale_claims(em, host)
        labels = host["metadata"].get("labels") or {}
        if labels.get(LABEL_INSTALLED) != "true":
            set_condition(
                em,
                false(
                    HOST_READY,
                    "Error",
                    "HostWaitingForInstall",
                    f"ElementalHost '{host['metadata']['name']}' is not installed.",
                ),
            )
            return Result()
        if labels.get(LABEL_BOOTSTRAPPED) != "true":
            set_condition(
                em,
                false(
                    HOST_READY,
                    "Info",
                    "HostWaitingForBootstrap",
                    f"Waiting for ElementalHost '{host['metadata']['name']}' to be bootstrapped",
                ),
            )
            return Result()
        set_condition(em, true(HOST_READY))
        if not cluster.get("spec", {}).get("controlPlaneRef") or not _condition_true(
            cluster, "ControlPlaneInitialized"
        ):
            set_condition(
                em,
                false(
                    PROVIDER_ID,
                    "Info",
                    "WaitingForControlPlaneInitialized",
                    f"Waiting for downstream cluster '{cluster['metadata']['name']}' control plane "
                    "initialized.",
                ),
            )
            return Result(requeue_after=self.settings.requeue_period)
        self._set_provider_id(em, cluster, host)
        status["ready"] = True
        return Result()

    def _associate(self, em: dict[str, Any], capi_machine: dict[str, Any], secret_name: str) -> Result:
        for candidate in self._candidates(em):
            try:
                linked = self._link(candidate, em, capi_machine, secret_name)
            except Conflict:
                continue  # taken (or changed) meanwhile: the cache now knows; try the next one
            em["spec"]["hostRef"] = {
                "apiVersion": linked["apiVersion"],
                "kind": linked["kind"],
                "namespace": linked["metadata"]["namespace"],
                "name": linked["metadata"]["name"],
                "uid": linked["metadata"]["uid"],
            }
            log.info(
                "host associated",
                extra={"machine": em["metadata"]["name"], "host": linked["metadata"]["name"]},
            )
            set_condition(em, true(ASSOCIATION))
            set_condition(
                em,
                false(
                    HOST_READY,
                    "Info",
                    "HostWaitingForBootstrap",
                    f"Waiting for ElementalHost '{linked['metadata']['name']}' to be bootstrapped",
                ),
            )
            return Result()
        set_condition(
            em,
            false(
                ASSOCIATION,
                "Warning",
                "MissingAvailableHosts",
                "No ElementalHosts available for association.",
            ),
        )
        return Result(requeue_after=self.settings.requeue_period)

    def _candidates(self, em: dict[str, Any]) -> list[dict[str, Any]]:
        """A host already linked to this machine (an association a crash interrupted), else
        free ones: installed, not asked to reset, not taken, matching spec.selector."""
        hosts = self.kube.scan(HOSTS, em["metadata"]["namespace"])  # read-only snapshots
        name = em["metadata"]["name"]
        resumed = [
            h
            for h in hosts
            if _labels(h).get(LABEL_ELEMENTAL_MACHINE_NAME) == name
            and LABEL_NEEDS_RESET not in _labels(h)
            and not deleting(h)
        ]
        if resumed:
            return resumed[:1]
        selector = em.get("spec", {}).get("selector")
        free = []
        for host in hosts:
            labels = _labels(host)
            if (
                labels.get(LABEL_INSTALLED) == "true"
                and LABEL_NEEDS_RESET not in labels
                and LABEL_MACHINE_NAME not in labels
                and LABEL_ELEMENTAL_MACHINE_NAME not in labels
                and not deleting(host)
                and selectors.matches(selector, labels)
            ):
                free.append(host)
        return free

    def _link(
        self, host: dict[str, Any], em: dict[str, Any], capi_machine: dict[str, Any], secret_name: str
    ) -> dict[str, Any]:
        """Claims the host with one write that carries its resourceVersion: of two machines
        racing for it, the API server lets exactly one win."""
        before = host
        after = copy.deepcopy(host)
        spec = after.setdefault("spec", {})
        spec["machineRef"] = {
            "apiVersion": ELEMENTAL_MACHINES.api_version,
            "kind": ELEMENTAL_MACHINES.kind,
            "namespace": em["metadata"]["namespace"],
            "name": em["metadata"]["name"],
            "uid": em["metadata"]["uid"],
        }
        spec["bootstrapSecret"] = {
            "kind": "Secret",
            "namespace": capi_machine["metadata"]["namespace"],
            "name": secret_name,
        }
        # Copied as it is, also when absent (as upstream): the host follows its machine.
        if em.get("spec", {}).get("osVersionManagement") is not None:
            spec["osVersionManagement"] = em["spec"]["osVersionManagement"]
        else:
            spec.pop("osVersionManagement", None)
        labels = labels_of(after)
        labels[LABEL_MACHINE_NAME] = capi_machine["metadata"]["name"]
        labels[LABEL_ELEMENTAL_MACHINE_NAME] = em["metadata"]["name"]
        cluster_name = _labels(em).get(LABEL_CLUSTER_NAME)
        if cluster_name:
            labels[LABEL_CLUSTER_NAME] = cluster_name
        return self.kube.apply_changes(HOSTS, before, after)

    def _release_stale_claims(self, em: dict[str, Any], host: dict[str, Any]) -> None:
        """Hosts labelled for this machine besides its hostRef are claims that lost a race:
        two operators (or a stale cache) linked a host each, and only one hostRef write won.
        Level-triggered clean-up: such a host is given back, or reset if already bootstrapped."""
        name, namespace = em["metadata"]["name"], em["metadata"]["namespace"]
        stale = self.kube.select(
            HOSTS,
            namespace,
            lambda h: (
                _labels(h).get(LABEL_ELEMENTAL_MACHINE_NAME) == name
                and h["metadata"]["name"] != host["metadata"]["name"]
                and LABEL_NEEDS_RESET not in _labels(h)
                and not deleting(h)
            ),
        )
        for claimed in stale:
            after = copy.deepcopy(claimed)
            labels = labels_of(after)
            if labels.get(LABEL_BOOTSTRAPPED) == "true":
                labels[LABEL_NEEDS_RESET] = "true"
            else:
                for label in (LABEL_MACHINE_NAME, LABEL_ELEMENTAL_MACHINE_NAME, LABEL_CLUSTER_NAME):
                    labels.pop(label, None)
                for field in ("machineRef", "bootstrapSecret", "osVersionManagement"):
                    after.setdefault("spec", {}).pop(field, None)
            try:
                self.kube.apply_changes(HOSTS, claimed, after)
            except Conflict:
                continue  # changed meanwhile: looked at again on the next pass
            log.info(
                "stale host claim released", extra={"machine": name, "host": claimed["metadata"]["name"]}
            )

    def _set_provider_id(self, em: dict[str, Any], cluster: dict[str, Any], host: dict[str, Any]) -> None:
        ref = em["spec"]["hostRef"]
        provider_id = f"elemental://{ref.get('namespace') or em['metadata']['namespace']}/{ref['name']}"
        if em["spec"].get("providerID") == provider_id:
            return
        namespace, cluster_name = cluster["metadata"]["namespace"], cluster["metadata"]["name"]
        secret = self.kube.read_secret(namespace, f"{cluster_name}-kubeconfig")
        if secret is None or "value" not in secret:
            raise KubeError(f"workload cluster kubeconfig Secret {cluster_name}-kubeconfig not found")
        try:
            self.kube.set_node_provider_id(secret["value"], host["metadata"]["name"], provider_id)
        except NotFound as error:
            set_condition(
                em,
                false(
                    PROVIDER_ID,
                    "Error",
                    "NodeNotFound",
                    f"Downstream cluster node '{host['metadata']['name']}' is not found.",
                ),
            )
            raise KubeError(f"node {host['metadata']['name']} not found in the workload cluster") from error
        em["spec"]["providerID"] = provider_id
        set_condition(em, true(PROVIDER_ID))

    def _reconcile_delete(self, em: dict[str, Any]) -> None:
        ref = em.get("spec", {}).get("hostRef")
        if ref:
            host = self.kube.get(HOSTS, ref.get("namespace") or em["metadata"]["namespace"], ref["name"])
            if host is not None and _labels(host).get(LABEL_NEEDS_RESET) != "true":
                after = copy.deepcopy(host)
                labels_of(after)[LABEL_NEEDS_RESET] = "true"
                self.kube.apply_changes(HOSTS, host, after)
                log.info(
                    "host asked to reset", extra={"machine": em["metadata"]["name"], "host": ref["name"]}
                )
        remove_finalizer(em, FINALIZER)

    def _cluster_to_machines(self, cluster: dict[str, Any]) -> list[Key]:
        namespace, name = cluster["metadata"]["namespace"], cluster["metadata"]["name"]
        keys = []
        for machine in self.kube.list(MACHINES, namespace):
            if _labels(machine).get(LABEL_CLUSTER_NAME) != name:
                continue
            ref = machine.get("spec", {}).get("infrastructureRef") or {}
            if ref.get("kind") == ELEMENTAL_MACHINES.kind and ref.get("name"):
                keys.append((ref.get("namespace") or namespace, ref["name"]))
        return keys


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _condition_true(obj: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True"
        for c in obj.get("status", {}).get("conditions") or []
    )


def _host_to_machine(host: dict[str, Any]) -> list[Key]:
    ref = host.get("spec", {}).get("machineRef")
    if ref and ref.get("name"):
        return [(ref.get("namespace") or host["metadata"]["namespace"], ref["name"])]
    return []


def _machine_to_elemental(machine: dict[str, Any]) -> list[Key]:
    ref = machine.get("spec", {}).get("infrastructureRef") or {}
    if ref.get("kind") == ELEMENTAL_MACHINES.kind and ref.get("name"):
        return [(ref.get("namespace") or machine["metadata"]["namespace"], ref["name"])]
    return []
