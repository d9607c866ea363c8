"""HostReachable mirrored from a host onto its ElementalMachine and Machine (where a
MachineHealthCheck can match it): copied on a transition only, never part of the
machine's Ready, written to the Machine with the resourceVersion and retried on conflict."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.vocabulary import (
    CHECK_IN_OVERDUE,
    CHECKED_IN,
    ELEMENTAL_MACHINES,
    HOST_REACHABLE,
    HOST_READY,
    HOSTS,
    MACHINES,
    READY,
)
from elemental_kube.errors import Conflict
from elemental_operator.controllers import machineconditions
from elemental_operator.views import ElementalMachineView
from tests.unit.operator.scene import NS, Scene, condition
from tests.unit.operator.test_machine import associated_scene

MACHINE = "em-machine"


def host_reachable(scene: Scene, status: str, reason: str, message: str) -> None:
    """What the host controller writes on a transition (v1beta1 shape, with severity)."""
    wanted = {
        "type": HOST_REACHABLE,
        "status": status,
        "reason": reason,
        "message": message,
        "severity": "Info" if status == "True" else "Warning",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }

    def write(obj: dict[str, Any]) -> None:
        status_ = obj.setdefault("status", {})
        others = [c for c in status_.get("conditions") or [] if c["type"] != HOST_REACHABLE]
        status_["conditions"] = [*others, wanted]

    scene.kube.change(HOSTS, NS, "host", write)


def mirrored(obj: dict[str, Any] | None) -> tuple[str, str, str] | None:
    found = condition(obj, HOST_REACHABLE)
    return None if found is None else (found["status"], found["reason"], found["message"])


def test_the_hosts_verdict_reaches_the_machine_and_the_capi_machine(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    host_reachable(scene, "True", CHECKED_IN, "Last check-in recorded 3s ago")
    scene.machines().reconcile(NS, "em")
    em, machine = scene.get(ELEMENTAL_MACHINES, "em"), scene.get(MACHINES, MACHINE)
    expected = ("True", CHECKED_IN, "Last check-in recorded 3s ago")
    assert mirrored(em) == expected
    assert mirrored(machine) == expected
    # metav1 shape on the Machine: no severity, observed at its generation.
    on_machine = condition(machine, HOST_REACHABLE) or {}
    assert set(on_machine) == {
        "type",
        "status",
        "reason",
        "message",
        "observedGeneration",
        "lastTransitionTime",
    }

    host_reachable(scene, "False", CHECK_IN_OVERDUE, "No check-in for 200s")
    scene.machines().reconcile(NS, "em")
    expected = ("False", CHECK_IN_OVERDUE, "No check-in for 200s")
    assert mirrored(scene.get(ELEMENTAL_MACHINES, "em")) == expected
    assert mirrored(scene.get(MACHINES, MACHINE)) == expected


def test_liveness_is_no_part_of_the_machines_ready() -> None:
    """Even a False HostReachable of the highest merge priority leaves Ready to the others."""
    em = ElementalMachineView({"metadata": {"name": "em", "generation": 1}})
    em.set_true(HOST_READY)
    em.set_false(HOST_REACHABLE, "Error", CHECK_IN_OVERDUE, "No check-in for 200s")
    em.summarize()
    assert (condition(em.raw, READY) or {})["status"] == "True"


def test_an_unchanged_verdict_writes_nothing(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    host_reachable(scene, "True", CHECKED_IN, "Last check-in recorded 3s ago")
    scene.machines().reconcile(NS, "em")
    em, machine = scene.get(ELEMENTAL_MACHINES, "em"), scene.get(MACHINES, MACHINE)
    scene.machines().reconcile(NS, "em")
    assert scene.get(ELEMENTAL_MACHINES, "em") == em
    assert scene.get(MACHINES, MACHINE) == machine


def test_without_a_verdict_nothing_is_mirrored(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.machines().reconcile(NS, "em")
    assert condition(scene.get(ELEMENTAL_MACHINES, "em"), HOST_REACHABLE) is None
    assert condition(scene.get(MACHINES, MACHINE), HOST_REACHABLE) is None


def test_a_machine_changed_meanwhile_is_read_again_and_its_conditions_kept(scene: Scene) -> None:
    """Cluster API writes the same list: its condition, landing between our read and our
    write, makes our write conflict; the retry builds on it."""
    associated_scene(scene, bootstrapped=True, initialized=True)
    host_reachable(scene, "False", CHECK_IN_OVERDUE, "No check-in for 200s")
    theirs = {"type": "NodeHealthy", "status": "False", "reason": "NodeNotReady", "message": ""}

    def capi_writes(obj: dict[str, Any]) -> None:
        obj.setdefault("status", {})["conditions"] = [theirs]

    scene.kube.before_next_write(MACHINES, NS, MACHINE, capi_writes)
    scene.machines().reconcile(NS, "em")
    machine = scene.get(MACHINES, MACHINE)
    assert mirrored(machine) == ("False", CHECK_IN_OVERDUE, "No check-in for 200s")
    assert condition(machine, "NodeHealthy") == theirs


def test_conflicts_beyond_the_attempts_go_to_the_work_queue(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    associated_scene(scene)
    calls: list[str] = []

    def always_conflicting(*args: Any) -> dict[str, Any]:
        calls.append("write")
        raise Conflict("changed")

    monkeypatch.setattr(scene.kube, "apply_changes", always_conflicting)
    with pytest.raises(Conflict):
        machineconditions.update(
            scene.kube, NS, MACHINE, lambda m: m.set_condition({"type": "X", "status": "True", "reason": "Y"})
        )
    assert len(calls) == machineconditions.ATTEMPTS
