"""ElementalHost: finalizer, conditions from the agent's labels, OS version propagation from
the associated ElementalMachine, and reset-before-delete.

On Kubernetes this controller alone removes the host's finalizer, by elemental_core's host
rules: a host being deleted is asked to reset (`marked_for_reset`) and goes once it has
reported the reset (`may_be_released`)."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core.hosts import marked_for_reset, may_be_released
from elemental_core.vocabulary import (
    BOOTSTRAP_READY,
    CLUSTERS,
    ELEMENTAL_MACHINES,
    HOSTS,
    IN_PLACE_UPDATE_NOT_PENDING,
    INSTALLATION_READY,
    LABEL_CLUSTER_NAME,
    OS_VERSION_READY,
    REGISTRATION_READY,
    RESET_READY,
    WAITING_FOR_OS_RECONCILE,
    Resource,
)
from elemental_operator.controllers.base import KubeHolder, Mapper, Result
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.views import INFO, WARNING, ClusterView, ElementalMachineView, HostView, Key


class ElementalHostController(KubeHolder):
    name = "elementalhost"
    resource = HOSTS

    def watches(self) -> dict[Resource, Mapper]:
        return {ELEMENTAL_MACHINES: _machine_to_host, CLUSTERS: self._cluster_to_hosts}

    def _cluster_to_hosts(self, cluster: dict[str, Any]) -> list[Key]:
        """A Cluster's hosts (by their cluster-name label): unpausing resumes their work."""
        view = ClusterView(cluster)
        hosts = [HostView(raw) for raw in self.kube.scan(HOSTS, view.namespace)]
        return [host.key for host in hosts if host.label(LABEL_CLUSTER_NAME) == view.name]

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(HOSTS, namespace, name)
        if before is None:
            return Result()
        host = HostView(copy.deepcopy(before))
        if pause_reason(self.kube, host, host.label(LABEL_CLUSTER_NAME)) is not None:
            # A host of a paused cluster (or being moved) is neither asked to reset nor
            # released: after clusterctl move it keeps running for the cluster it went to.
            return Result()
        if host.deleting:
            if host.holds_finalizer:
                reconcile_delete(host)
        else:
            host.add_finalizer()
            machine_key = host.machine_key
            machine = (
                ElementalMachineView.of(self.kube.get(ELEMENTAL_MACHINES, *machine_key))
                if machine_key
                else None
            )
            if machine is not None:
                propagate_os_version(host, machine)
            reconcile_conditions(host)
        host.summarize()
        self.kube.apply_changes(HOSTS, before, host.raw)
        return Result()


def reconcile_conditions(host: HostView) -> None:
    if host.installed:
        host.set_true(REGISTRATION_READY)
        host.set_true(INSTALLATION_READY)
    if host.bootstrapped:
        host.set_true(BOOTSTRAP_READY)


def propagate_os_version(host: HostView, machine: ElementalMachineView) -> None:
    """A changed osVersionManagement on the machine reaches the host; once bootstrapped, it is
    applied only through a pending in-place update (upstream's rules)."""
    wanted = machine.os_version_management
    if (host.os_version_management or None) == (wanted or None):
        return
    host.os_version_management = wanted
    if host.bootstrapped and not host.in_place_update_pending:
        host.set_false(
            OS_VERSION_READY,
            WARNING,
            IN_PLACE_UPDATE_NOT_PENDING,
            f"ElementalMachine {machine.name} OSVersionManagement mutated, "
            "but no in-place-upgrade is pending. Mutation will be ignored.",
        )
    else:
        host.set_false(
            OS_VERSION_READY,
            INFO,
            WAITING_FOR_OS_RECONCILE,
            f"ElementalMachine {machine.name} OSVersionManagement mutated",
        )


def reconcile_delete(host: HostView) -> None:
    record = host.record()
    if may_be_released(record):
        host.remove_finalizer()
        host.set_true(RESET_READY)
    else:
        host.take_labels_and_conditions(marked_for_reset(record))


def _machine_to_host(machine: dict[str, Any]) -> list[Key]:
    key = ElementalMachineView(machine).host_key
    return [key] if key else []
