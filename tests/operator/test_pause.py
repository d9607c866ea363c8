"""Pause against the real kube-apiserver: a paused Cluster's machines take no host and say
Paused; unpausing the Cluster (a watched change) resumes the work; a paused machine deleted
as clusterctl move does (delete-for-move) leaves its host running."""

from __future__ import annotations

from typing import Any

from elemental_core.vocabulary import ANNOTATION_DELETE_FOR_MOVE, LABEL_NEEDS_RESET
from tests.operator.activity import Activity
from tests.operator.capi import CLUSTERS, EMS, HOSTS, Capi, condition, labels, reason
from tests.operator.test_elementalmachine import FINALIZER, host_ref


def test_a_paused_cluster_is_left_alone_until_unpaused(
    start_operator: Any, capi: Capi, activity: Activity
) -> None:
    operator = start_operator()
    capi.cluster()
    capi.patch(CLUSTERS, "cluster", {"spec": {"paused": True}})
    capi.host("free")
    capi.machine_pair("em")
    em = capi.wait_reason(EMS, "em", "Paused", "Paused")
    assert (condition(em, "Paused") or {})["message"] == "Cluster 'cluster' is paused"
    activity.wait_idle(capi.custom, capi.namespace, operator.manager)
    em = capi.get(EMS, "em") or {}
    assert host_ref(em) is None
    assert FINALIZER not in (em["metadata"].get("finalizers") or [])
    assert "machineRef" not in (capi.get(HOSTS, "free") or {})["spec"]

    capi.patch(CLUSTERS, "cluster", {"spec": {"paused": False}})
    em = capi.wait(EMS, "em", host_ref)
    assert host_ref(em) == "free"
    assert reason(em, "Paused") == "NotPaused"


def test_a_paused_machine_deleted_for_a_move_keeps_its_host(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster()
    capi.host("host", bootstrapped=True)
    capi.machine_pair("em")
    capi.wait(EMS, "em", host_ref)
    # What clusterctl move does on the cluster it leaves: pause, then delete marked for the move.
    capi.patch(CLUSTERS, "cluster", {"spec": {"paused": True}})
    capi.wait_reason(EMS, "em", "Paused", "Paused")
    capi.patch(EMS, "em", {"metadata": {"annotations": {ANNOTATION_DELETE_FOR_MOVE: ""}}})
    capi.delete(EMS, "em")
    em = capi.wait(EMS, "em", lambda o: (condition(o, "Ready") or {}).get("reason") == "Deleting")
    assert (condition(em, "Ready") or {})["message"].startswith("Deletion paused: ")
    assert FINALIZER in em["metadata"]["finalizers"]
    assert LABEL_NEEDS_RESET not in labels(capi.get(HOSTS, "host"))
    capi.strip_finalizers(EMS, "em")  # clusterctl removes the finalizers itself
    capi.wait_gone(EMS, "em")
    assert LABEL_NEEDS_RESET not in labels(capi.get(HOSTS, "host"))
