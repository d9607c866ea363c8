"""Surviving clusterctl move: it recreates each object from its metadata (owner references
rewritten to the new uids) and spec, never its status. Everything the operator needs lives
there, so on the cluster moved to, with the statuses gone, the machine is Ready again with
the same host and providerID, and no host is reset or re-associated."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from typing import Any

from elemental_core.vocabulary import (
    BOOTSTRAP_READY,
    CLUSTERS,
    ELEMENTAL_MACHINES,
    HOSTS,
    INSTALLATION_READY,
    LABEL_NEEDS_RESET,
    PROVIDER_ID_READY,
    READY,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED,
    Resource,
)
from tests.unit.operator.scene import NS, Scene, labels, state
from tests.unit.operator.test_machine import PROVIDER_ID, associated_scene, host_ref


def moved(source: Scene) -> Scene:
    """A new cluster holding what clusterctl move creates there from `source`: the Elemental
    objects without status; Cluster API's own with theirs, as its controllers there rebuild
    them (from our statuses, which the operator rebuilds first)."""
    target = Scene()
    uids = itertools.count(1)
    new_uid = {
        obj["metadata"]["uid"]: f"moved-{next(uids)}"
        for objects in source.kube.objects.values()
        for obj in objects.values()
    }
    resource: Resource
    for resource, objects in source.kube.objects.items():
        for obj in objects.values():
            copied = copy.deepcopy(obj)
            if resource.group == ELEMENTAL_MACHINES.group:
                copied.pop("status", None)
            meta = copied["metadata"]
            meta["uid"] = new_uid[meta["uid"]]
            meta.pop("generation", None)
            for owner in meta.get("ownerReferences") or []:
                owner["uid"] = new_uid.get(owner["uid"], owner["uid"])
            target.kube.add(resource, copied)
    target.kube.secrets = copy.deepcopy(source.kube.secrets)
    target.kube.nodes = source.kube.nodes  # the same workload cluster
    return target


def test_a_ready_machine_and_its_host_survive_a_move_without_their_status() -> None:
    source = Scene()
    associated_scene(source, bootstrapped=True, initialized=True)
    source.kubeconfig()
    source.kube.nodes["host"] = None
    source.hosts().reconcile(NS, "host")
    source.machines().reconcile(NS, "em")
    assert (source.get(ELEMENTAL_MACHINES, "em") or {})["status"]["ready"] is True

    target = moved(source)
    host_before: dict[str, Any] = target.get(HOSTS, "host") or {}
    assert "status" not in host_before
    target.hosts().reconcile(NS, "host")
    target.machines().reconcile(NS, "em")

    em = target.get(ELEMENTAL_MACHINES, "em") or {}
    assert em["status"]["ready"] is True
    assert em["status"]["initialization"] == {"provisioned": True}
    assert em["spec"]["providerID"] == PROVIDER_ID
    assert host_ref(em) == "host"
    host = target.get(HOSTS, "host") or {}
    assert labels(host) == labels(host_before)  # not asked to reset, nor released
    assert LABEL_NEEDS_RESET not in labels(host)
    assert host["spec"] == host_before["spec"]
    assert state(host, INSTALLATION_READY) == ("True", "Info", "")
    assert state(host, BOOTSTRAP_READY) == ("True", "Info", "")
    assert target.kube.kubeconfigs_used == []  # the Node already has the providerID


def test_a_moved_machine_is_ready_again_once_the_control_plane_is_reported_again() -> None:
    """On the cluster moved to the Cluster's status is rebuilt too: until the control-plane
    provider there reports `initialized` again the machine waits for it, even with its
    providerID in spec; once reported, ProviderIDReady (and so Ready) is True again."""
    source = Scene()
    associated_scene(source, bootstrapped=True, initialized=True)
    source.kubeconfig()
    source.kube.nodes["host"] = None
    source.hosts().reconcile(NS, "host")
    source.machines().reconcile(NS, "em")
    target = moved(source)

    def initialized(value: bool) -> Callable[[dict[str, Any]], None]:
        def change(cluster: dict[str, Any]) -> None:
            cluster["status"]["initialization"]["controlPlaneInitialized"] = value

        return change

    target.kube.change(CLUSTERS, NS, "cluster", initialized(False))
    target.hosts().reconcile(NS, "host")
    target.machines().reconcile(NS, "em")
    em = target.get(ELEMENTAL_MACHINES, "em") or {}
    assert state(em, PROVIDER_ID_READY) == ("False", "Info", WAITING_FOR_CONTROL_PLANE_INITIALIZED)
    assert state(em, READY) == ("False", "Info", WAITING_FOR_CONTROL_PLANE_INITIALIZED)

    target.kube.change(CLUSTERS, NS, "cluster", initialized(True))
    target.machines().reconcile(NS, "em")

    em = target.get(ELEMENTAL_MACHINES, "em") or {}
    assert state(em, PROVIDER_ID_READY) == ("True", "", "Ready")
    assert state(em, READY) == ("True", "", "Ready")
    assert em["status"]["ready"] is True
    assert em["spec"]["providerID"] == PROVIDER_ID
    assert target.kube.kubeconfigs_used == []  # the Node already had the providerID
