"""Pause, as Cluster API's contract has it and clusterctl move needs it: nothing is decided
for an object whose Cluster has spec.paused, or which has the paused annotation, or which
clusterctl move is deleting (delete-for-move); the v1beta2 kinds say so in Paused; hosts of
a paused cluster are not reset; unpausing resumes the work (the Cluster is watched)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from elemental_core.vocabulary import (
    ANNOTATION_DELETE_FOR_MOVE,
    ANNOTATION_PAUSED,
    CLUSTERS,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    LABEL_CLUSTER_NAME,
    LABEL_NEEDS_RESET,
    NOT_PAUSED,
    PAUSED,
    PAUSED_REASON,
    READY,
    REGISTRATIONS,
    Resource,
)
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import NS, Scene, condition, labels, state
from tests.unit.operator.test_machine import host_ref, link_by_hand, set_host_ref


def pause_cluster(scene: Scene, paused: bool = True) -> None:
    scene.kube.change(CLUSTERS, NS, "cluster", lambda o: o["spec"].update(paused=paused))


def annotate(scene: Scene, resource: Resource, name: str, key: str) -> None:
    scene.kube.change(
        resource, NS, name, lambda o: o["metadata"].setdefault("annotations", {}).update({key: ""})
    )


def machine_pausers() -> dict[str, tuple[Callable[[Scene], None], str]]:
    return {
        "cluster": (pause_cluster, "Cluster 'cluster' is paused"),
        "annotation": (
            lambda s: annotate(s, ELEMENTAL_MACHINES, "em", ANNOTATION_PAUSED),
            f"ElementalMachine has the {ANNOTATION_PAUSED} annotation",
        ),
        "move": (
            lambda s: annotate(s, ELEMENTAL_MACHINES, "em", ANNOTATION_DELETE_FOR_MOVE),
            f"ElementalMachine is being moved to another cluster ({ANNOTATION_DELETE_FOR_MOVE})",
        ),
    }


@pytest.mark.parametrize("how", sorted(machine_pausers()))
def test_a_paused_machine_takes_no_host_and_says_paused(scene: Scene, how: str) -> None:
    pause, message = machine_pausers()[how]
    scene.cluster()
    scene.machine_pair()
    scene.host("free")
    pause(scene)
    hosts_before = scene.kube.scan(HOSTS)

    assert scene.machines().reconcile(NS, "em") == Result()  # the watched Cluster wakes it
    em = scene.get(ELEMENTAL_MACHINES, "em") or {}
    assert scene.kube.scan(HOSTS) == hosts_before
    assert host_ref(em) is None
    assert FINALIZER not in (em["metadata"].get("finalizers") or [])
    paused = condition(em, PAUSED) or {}
    assert (paused["status"], paused["reason"], paused["message"]) == ("True", PAUSED_REASON, message)
    assert [c["type"] for c in em["status"]["conditions"]] == [PAUSED]  # nothing else decided


def test_unpausing_resumes_the_association(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    scene.host("free")
    pause_cluster(scene)
    scene.machines().reconcile(NS, "em")
    pause_cluster(scene, paused=False)
    scene.machines().reconcile(NS, "em")
    em = scene.get(ELEMENTAL_MACHINES, "em") or {}
    assert host_ref(em) == "free"
    assert state(em, PAUSED) == ("False", "", NOT_PAUSED)


@pytest.mark.parametrize("how", ["cluster", "move"])
def test_a_paused_machine_being_deleted_keeps_its_host_running(scene: Scene, how: str) -> None:
    """clusterctl move deletes the machine from the cluster it leaves (paused, marked
    delete-for-move): its host runs on for the cluster it goes to."""
    scene.cluster()
    scene.machine_pair(finalizer=True)
    scene.host("host", bootstrapped=True, **{LABEL_CLUSTER_NAME: "cluster"})
    link_by_hand(scene, "host")
    set_host_ref(scene, "host")
    machine_pausers()[how][0](scene)
    host_before = scene.get(HOSTS, "host")
    scene.kube.delete(ELEMENTAL_MACHINES, NS, "em")

    scene.machines().reconcile(NS, "em")
    em = scene.get(ELEMENTAL_MACHINES, "em") or {}
    assert scene.get(HOSTS, "host") == host_before  # not asked to reset
    assert em["metadata"]["finalizers"] == [FINALIZER]
    assert state(em, READY) == ("False", "Info", "Deleting")
    assert (condition(em, READY) or {})["message"].startswith("Deletion paused: ")
    assert state(em, PAUSED) == ("True", "", PAUSED_REASON)

    if how == "cluster":  # unpaused, the deletion goes on
        pause_cluster(scene, paused=False)
        scene.machines().reconcile(NS, "em")
        assert scene.get(ELEMENTAL_MACHINES, "em") is None
        assert labels(scene.get(HOSTS, "host"))[LABEL_NEEDS_RESET] == "true"


def deleting_host(scene: Scene) -> None:
    scene.cluster()
    scene.host("host", bootstrapped=True, **{LABEL_CLUSTER_NAME: "cluster"})
    assert scene.hosts().reconcile(NS, "host") == Result()  # adds the finalizer
    scene.kube.delete(HOSTS, NS, "host")


@pytest.mark.parametrize(
    "pause",
    [
        pause_cluster,
        lambda s: annotate(s, HOSTS, "host", ANNOTATION_PAUSED),
        lambda s: annotate(s, HOSTS, "host", ANNOTATION_DELETE_FOR_MOVE),
    ],
    ids=["cluster", "annotation", "move"],
)
def test_a_paused_host_being_deleted_is_not_reset(scene: Scene, pause: Callable[[Scene], None]) -> None:
    deleting_host(scene)
    pause(scene)
    before = scene.get(HOSTS, "host")
    assert scene.hosts().reconcile(NS, "host") == Result()
    assert scene.get(HOSTS, "host") == before


def test_unpausing_a_cluster_wakes_its_hosts_and_resumes_their_reset(scene: Scene) -> None:
    deleting_host(scene)
    scene.host("other-cluster", **{LABEL_CLUSTER_NAME: "other"})
    scene.host("free")
    pause_cluster(scene)
    scene.hosts().reconcile(NS, "host")
    pause_cluster(scene, paused=False)
    assert scene.hosts().watches()[CLUSTERS](scene.get(CLUSTERS, "cluster") or {}) == [(NS, "host")]
    scene.hosts().reconcile(NS, "host")
    assert labels(scene.get(HOSTS, "host"))[LABEL_NEEDS_RESET] == "true"


def test_a_cluster_paused_leaves_its_elemental_cluster_as_it_is(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster", endpoint=False)
    pause_cluster(scene)
    assert scene.clusters().reconcile(NS, "ec") == Result()
    ec = scene.get(ELEMENTAL_CLUSTERS, "ec") or {}
    assert [c["type"] for c in ec["status"]["conditions"]] == [PAUSED]
    assert state(ec, PAUSED) == ("True", "", PAUSED_REASON)
    assert "ready" not in ec["status"]

    pause_cluster(scene, paused=False)
    scene.clusters().reconcile(NS, "ec")
    ec = scene.get(ELEMENTAL_CLUSTERS, "ec") or {}
    assert state(ec, PAUSED) == ("False", "", NOT_PAUSED)
    assert ec["status"]["ready"] is False


def test_a_paused_registration_is_not_completed(scene: Scene) -> None:
    registration: dict[str, Any] = scene.registration()
    annotate(scene, REGISTRATIONS, registration["metadata"]["name"], ANNOTATION_PAUSED)
    before = scene.get(REGISTRATIONS, "reg")
    scene.registrations().reconcile(NS, "reg")
    assert scene.get(REGISTRATIONS, "reg") == before
    assert scene.kube.secrets == {}
