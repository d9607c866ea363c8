"""ElementalHost decisions: finalizer, conditions from the agent's labels, OS version
propagation from the associated machine, reset before deletion."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.vocabulary import (
    BOOTSTRAP_READY,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    IN_PLACE_UPDATE_DONE,
    IN_PLACE_UPDATE_NOT_PENDING,
    IN_PLACE_UPDATE_PENDING,
    INSTALLATION_READY,
    LABEL_IN_PLACE_UPDATE,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
    OS_VERSION_READY,
    READY,
    REGISTRATION_READY,
    RESET_READY,
    WAITING_FOR_OS_RECONCILE,
    WAITING_FOR_RESET,
)
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import NS, Scene, condition, labels, state


def reconciled(scene: Scene, name: str = "host") -> dict[str, Any]:
    assert scene.hosts().reconcile(NS, name) == Result()
    return scene.get(HOSTS, name) or {}


def test_a_new_host_gets_the_finalizer_and_no_conditions_yet(scene: Scene) -> None:
    scene.host("host", installed=False)
    host = reconciled(scene)
    assert host["metadata"]["finalizers"] == [FINALIZER]
    assert (host.get("status") or {}).get("conditions") in (None, [])


@pytest.mark.parametrize(
    ("installed", "bootstrapped", "true"),
    [
        (True, False, {REGISTRATION_READY, INSTALLATION_READY, READY}),
        (True, True, {REGISTRATION_READY, INSTALLATION_READY, BOOTSTRAP_READY, READY}),
        (False, True, {BOOTSTRAP_READY, READY}),
    ],
)
def test_conditions_follow_the_labels(
    scene: Scene, installed: bool, bootstrapped: bool, true: set[str]
) -> None:
    scene.host("host", installed=installed, bootstrapped=bootstrapped)
    host = reconciled(scene)
    conditions = host["status"]["conditions"]
    assert {c["type"] for c in conditions if c["status"] == "True"} == true
    assert {c["type"] for c in conditions} == true
    assert conditions[0]["type"] == READY  # Ready first, as Cluster API keeps them


def test_a_converged_host_is_not_written_again(scene: Scene) -> None:
    scene.host("host", bootstrapped=True)
    first = reconciled(scene)
    assert reconciled(scene) == first


def associated(
    scene: Scene,
    host_os: dict[str, Any] | None,
    machine_os: dict[str, Any] | None,
    bootstrapped: bool = False,
    **host_labels: str,
) -> None:
    """A machine with machine_os and its host with host_os."""
    scene.machine_pair("em", os_version=machine_os)
    ref = {
        "apiVersion": ELEMENTAL_MACHINES.api_version,
        "kind": ELEMENTAL_MACHINES.kind,
        "name": "em",
        "namespace": NS,
    }
    spec: dict[str, Any] = {"machineRef": ref}
    if host_os is not None:
        spec["osVersionManagement"] = host_os
    scene.host("host", spec=spec, bootstrapped=bootstrapped, **host_labels)


@pytest.mark.parametrize(
    ("bootstrapped", "in_place", "severity", "reason"),
    [
        (False, None, "Info", WAITING_FOR_OS_RECONCILE),
        (True, None, "Warning", IN_PLACE_UPDATE_NOT_PENDING),
        (True, IN_PLACE_UPDATE_PENDING, "Info", WAITING_FOR_OS_RECONCILE),
        (True, IN_PLACE_UPDATE_DONE, "Warning", IN_PLACE_UPDATE_NOT_PENDING),
    ],
)
def test_a_changed_os_version_reaches_the_host(
    scene: Scene, bootstrapped: bool, in_place: str | None, severity: str, reason: str
) -> None:
    extra = {LABEL_IN_PLACE_UPDATE: in_place} if in_place else {}
    associated(scene, {"osImage": "v1"}, {"osImage": "v2"}, bootstrapped, **extra)
    host = reconciled(scene)
    assert host["spec"]["osVersionManagement"] == {"osImage": "v2"}
    assert state(host, OS_VERSION_READY) == ("False", severity, reason)
    assert (condition(host, OS_VERSION_READY) or {})["message"].startswith(
        "ElementalMachine em OSVersionManagement mutated"
    )
    assert (condition(host, READY) or {})["reason"] == reason


def test_an_os_version_removed_from_the_machine_is_removed_from_the_host(scene: Scene) -> None:
    associated(scene, {"osImage": "v1"}, None)
    host = reconciled(scene)
    assert "osVersionManagement" not in host["spec"]
    assert state(host, OS_VERSION_READY) == ("False", "Info", WAITING_FOR_OS_RECONCILE)


@pytest.mark.parametrize(
    ("host_os", "machine_os"), [({"osImage": "v1"}, {"osImage": "v1"}), (None, {}), ({}, None)]
)
def test_the_same_os_version_changes_nothing(scene: Scene, host_os: Any, machine_os: Any) -> None:
    associated(scene, host_os, machine_os)
    host = reconciled(scene)
    assert condition(host, OS_VERSION_READY) is None
    assert host["spec"].get("osVersionManagement") == host_os


def test_a_machine_ref_to_a_missing_machine_changes_nothing_of_the_os(scene: Scene) -> None:
    ref = {"kind": ELEMENTAL_MACHINES.kind, "name": "gone"}
    scene.host("host", spec={"machineRef": ref, "osVersionManagement": {"osImage": "v1"}})
    host = reconciled(scene)
    assert host["spec"]["osVersionManagement"] == {"osImage": "v1"}
    assert condition(host, OS_VERSION_READY) is None


def test_deletion_asks_for_a_reset_then_releases_the_host_once_reset(scene: Scene) -> None:
    scene.host("host", bootstrapped=True)
    reconciled(scene)
    scene.kube.delete(HOSTS, NS, "host")

    host = reconciled(scene)
    assert labels(host)[LABEL_NEEDS_RESET] == "true"
    assert state(host, RESET_READY) == ("False", "Info", WAITING_FOR_RESET)
    assert (condition(host, RESET_READY) or {})["message"] == "Waiting for remote host to reset"
    assert state(host, READY) == ("False", "Info", WAITING_FOR_RESET)
    assert host["metadata"]["finalizers"] == [FINALIZER]  # held until the reset
    assert reconciled(scene) == host  # asked once

    scene.kube.change(HOSTS, NS, "host", lambda o: o["metadata"]["labels"].update({LABEL_RESET: "true"}))
    scene.hosts().reconcile(NS, "host")
    assert scene.get(HOSTS, "host") is None  # the finalizer went: so did the host


def test_a_deleted_host_reset_already_is_released_at_once(scene: Scene) -> None:
    scene.host("host", **{LABEL_RESET: "true"})
    reconciled(scene)
    scene.kube.delete(HOSTS, NS, "host")
    scene.hosts().reconcile(NS, "host")
    assert scene.get(HOSTS, "host") is None


def test_a_deleted_host_without_the_finalizer_is_not_touched(scene: Scene) -> None:
    scene.kube.add(
        HOSTS,
        {
            "metadata": {"name": "host", "namespace": NS, "finalizers": ["someone.else/hold"], "labels": {}},
            "spec": {},
        },
    )
    scene.kube.delete(HOSTS, NS, "host")
    before = scene.get(HOSTS, "host")
    reconciled(scene)
    assert scene.get(HOSTS, "host") == before


def test_a_gone_host_is_nothing_to_do(scene: Scene) -> None:
    assert scene.hosts().reconcile(NS, "absent") == Result()
