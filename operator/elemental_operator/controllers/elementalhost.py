"""ElementalHost: finalizer, conditions from the agent's labels, OS version propagation from
the associated ElementalMachine, and reset-before-delete."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core.vocabulary import (
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    LABEL_BOOTSTRAPPED,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
    Resource,
)
from elemental_operator.controllers.base import (
    Key,
    KubeHolder,
    Mapper,
    Result,
    add_finalizer,
    deleting,
    false,
    labels_of,
    remove_finalizer,
    set_condition,
    true,
    with_summary,
)


class ElementalHostController(KubeHolder):
    name = "elementalhost"
    resource = HOSTS

    def watches(self) -> dict[Resource, Mapper]:
        return {ELEMENTAL_MACHINES: _machine_to_host}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(HOSTS, namespace, name)
        if before is None:
            return Result()
        host = copy.deepcopy(before)
        labels = labels_of(host)
        if deleting(host):
            if FINALIZER in (host["metadata"].get("finalizers") or []):
                reconcile_delete(host, labels)
        else:
            add_finalizer(host, FINALIZER)
            self._reconcile_os_version(host, labels)
            reconcile_conditions(host, labels)
        with_summary(host)
        self.kube.apply_changes(HOSTS, before, host)
        return Result()

    def _reconcile_os_version(self, host: dict[str, Any], labels: dict[str, str]) -> None:
        ref = host.get("spec", {}).get("machineRef")
        if not ref:
            return
        machine = self.kube.get(
            ELEMENTAL_MACHINES, ref.get("namespace") or host["metadata"]["namespace"], ref["name"]
        )
        if machine is None:
            return
        propagate_os_version(host, labels, machine)


def reconcile_conditions(host: dict[str, Any], labels: dict[str, str]) -> None:
    if labels.get(LABEL_INSTALLED) == "true":
        set_condition(host, true("RegistrationReady"))
        set_condition(host, true("InstallationReady"))
    if labels.get(LABEL_BOOTSTRAPPED) == "true":
        set_condition(host, true("BootstrapReady"))


def propagate_os_version(host: dict[str, Any], labels: dict[str, str], machine: dict[str, Any]) -> None:
    """A changed osVersionManagement on the machine reaches the host; once bootstrapped, it is
    applied only through a pending in-place update (upstream's rules)."""
    wanted = machine.get("spec", {}).get("osVersionManagement")
    spec = host.setdefault("spec", {})
    if (spec.get("osVersionManagement") or None) == (wanted or None):
        return
    spec["osVersionManagement"] = wanted
    bootstrapped = labels.get(LABEL_BOOTSTRAPPED) == "true"
    pending = labels.get(LABEL_IN_PLACE_UPDATE) == "pending"
    machine_name = machine["metadata"]["name"]
    if bootstrapped and not pending:
        set_condition(
            host,
            false(
                "OSVersionReady",
                "Warning",
                "InPlaceUpdateNotPending",
                f"ElementalMachine {machine_name} OSVersionManagement mutated, "
                "but no in-place-upgrade is pending. Mutation will be ignored.",
            ),
        )
    else:
        set_condition(
            host,
            false(
                "OSVersionReady",
                "Info",
                "WaitingForOSReconcile",
                f"ElementalMachine {machine_name} OSVersionManagement mutated",
            ),
        )


def reconcile_delete(host: dict[str, Any], labels: dict[str, str]) -> None:
    if labels.get(LABEL_RESET) == "true":
        remove_finalizer(host, FINALIZER)
        set_condition(host, true("ResetReady"))
    elif labels.get(LABEL_NEEDS_RESET) != "true":
        labels[LABEL_NEEDS_RESET] = "true"
        set_condition(
            host, false("ResetReady", "Info", "WaitingForReset", "Waiting for remote host to reset")
        )


def _machine_to_host(machine: dict[str, Any]) -> list[Key]:
    ref = machine.get("spec", {}).get("hostRef")
    if not ref or not ref.get("name"):
        return []
    return [(ref.get("namespace") or machine["metadata"]["namespace"], ref["name"])]
