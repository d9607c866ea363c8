"""Failure domains from a host label: the ElementalCluster's list (which hosts count, its
shape, written only when the set of values changes, the host watch that wakes it) and the
ElementalMachine's placement (only hosts of the Machine's domain, status.failureDomain)."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.vocabulary import (
    ASSOCIATION_READY,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    HOSTS,
    LABEL_ELEMENTAL_MACHINE_NAME,
    MISSING_AVAILABLE_HOSTS,
    PAUSED,
)
from elemental_operator.controllers.base import Result
from elemental_operator.failuredomains import MAX_FAILURE_DOMAINS
from tests.unit.operator.scene import NS, REQUEUE, Scene, condition, state

ZONE = "topology.kubernetes.io/zone"
RACK = "example.com/rack"


def reconciled(scene: Scene, name: str = "ec") -> dict[str, Any]:
    assert scene.clusters().reconcile(NS, name) == Result()
    return scene.get(ELEMENTAL_CLUSTERS, name) or {}


def domains(ec: dict[str, Any]) -> Any:
    return (ec.get("status") or {}).get("failureDomains")


def version(scene: Scene, resource: Any, name: str) -> str:
    return str((scene.kube.stored(resource, NS, name) or {})["metadata"]["resourceVersion"])


def relabel(scene: Scene, host: str, key: str, value: str | None) -> None:
    def change(obj: dict[str, Any]) -> None:
        if value is None:
            obj["metadata"]["labels"].pop(key, None)
        else:
            obj["metadata"]["labels"][key] = value

    scene.kube.change(HOSTS, NS, host, change)


# -- the ElementalCluster's list ---------------------------------------------------------------


def test_without_a_label_no_failure_domains_are_written(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster")
    scene.host("a", **{ZONE: "zone-a"})
    ec = reconciled(scene)
    assert ec["status"]["ready"] is True
    assert "failureDomains" not in ec["status"]


def test_the_label_values_of_the_namespace_hosts_are_the_domains(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster", failureDomainLabel=ZONE)
    scene.host("b1", **{ZONE: "zone-b"})
    scene.host("a1", installed=False, **{ZONE: "zone-a"})  # registered, not installed yet: counts
    scene.host("b2", **{ZONE: "zone-b"})
    scene.host("taken", **{ZONE: "zone-c", LABEL_ELEMENTAL_MACHINE_NAME: "m"})  # taken: counts
    scene.host("empty", **{ZONE: ""})  # an empty value is no domain
    scene.host("other-label", **{RACK: "r1"})
    scene.host("going", **{ZONE: "zone-going"})
    scene.kube.change(
        HOSTS, NS, "going", lambda o: o["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z")
    )
    scene.kube.add(HOSTS, {"metadata": {"name": "x", "namespace": "elsewhere", "labels": {ZONE: "zone-x"}}})
    assert domains(reconciled(scene)) == [
        {"name": "zone-a", "controlPlane": True},
        {"name": "zone-b", "controlPlane": True},
        {"name": "zone-c", "controlPlane": True},
    ]


def test_domains_can_be_kept_from_the_control_plane(scene: Scene) -> None:
    scene.elemental_cluster(failureDomainLabel=ZONE, failureDomainControlPlane=False)
    scene.host("a", **{ZONE: "zone-a"})
    assert domains(reconciled(scene)) == [{"name": "zone-a", "controlPlane": False}]
    scene.kube.change(
        ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].update(failureDomainControlPlane=True)
    )
    assert domains(reconciled(scene)) == [{"name": "zone-a", "controlPlane": True}]


def test_the_list_is_written_only_when_the_set_of_values_changes(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster", failureDomainLabel=ZONE)
    scene.host("a1", **{ZONE: "zone-a"})
    assert domains(reconciled(scene)) == [{"name": "zone-a", "controlPlane": True}]
    written = version(scene, ELEMENTAL_CLUSTERS, "ec")

    scene.host("a2", **{ZONE: "zone-a"})  # one more host in a known domain
    relabel(scene, "a1", RACK, "r1")  # a label that is not the domain's
    reconciled(scene)
    assert version(scene, ELEMENTAL_CLUSTERS, "ec") == written

    scene.host("b1", **{ZONE: "zone-b"})  # a value appears
    assert [d["name"] for d in domains(reconciled(scene))] == ["zone-a", "zone-b"]
    relabel(scene, "b1", ZONE, "zone-c")  # one goes, one comes
    assert [d["name"] for d in domains(reconciled(scene))] == ["zone-a", "zone-c"]
    relabel(scene, "a1", ZONE, None)  # zone-a still has a2
    assert [d["name"] for d in domains(reconciled(scene))] == ["zone-a", "zone-c"]
    del scene.kube.objects[HOSTS][(NS, "a2")]  # the last host of zone-a
    assert [d["name"] for d in domains(reconciled(scene))] == ["zone-c"]
    del scene.kube.objects[HOSTS][(NS, "b1")]
    assert "failureDomains" not in reconciled(scene)["status"]  # none left: absent (minItems 1)


def test_unsetting_the_label_removes_the_list_and_upstreams_map_goes(scene: Scene) -> None:
    scene.elemental_cluster(failureDomainLabel=ZONE)
    scene.host("a", **{ZONE: "zone-a"})
    assert domains(reconciled(scene))
    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].pop("failureDomainLabel"))
    assert "failureDomains" not in reconciled(scene)["status"]

    # Upstream's v1beta1 map (which no one wrote) is replaced by the list when domains are asked for.
    upstream_map = {"zone-a": {"controlPlane": True}}
    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["status"].update(failureDomains=upstream_map))
    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].update(failureDomainLabel=ZONE))
    assert domains(reconciled(scene)) == [{"name": "zone-a", "controlPlane": True}]


def test_at_most_the_contracts_hundred_domains_are_listed(scene: Scene) -> None:
    scene.elemental_cluster(failureDomainLabel=RACK)
    for index in range(MAX_FAILURE_DOMAINS + 5):
        scene.host(f"h{index}", **{RACK: f"r{index:03}"})
    listed = domains(reconciled(scene))
    assert [d["name"] for d in listed] == [f"r{index:03}" for index in range(MAX_FAILURE_DOMAINS)]


def test_a_paused_cluster_gets_no_new_domains(scene: Scene) -> None:
    scene.elemental_cluster(failureDomainLabel=ZONE)
    scene.kube.change(
        ELEMENTAL_CLUSTERS,
        NS,
        "ec",
        lambda o: o["metadata"].update(annotations={"cluster.x-k8s.io/paused": ""}),
    )
    scene.host("a", **{ZONE: "zone-a"})
    ec = reconciled(scene)
    assert state(ec, PAUSED) == ("True", "", "Paused")
    assert "failureDomains" not in ec["status"]


# -- the host watch ----------------------------------------------------------------------------


def test_only_a_change_of_a_hosts_domain_wakes_the_clusters_asking_for_domains(scene: Scene) -> None:
    scene.elemental_cluster("zones", failureDomainLabel=ZONE)
    scene.elemental_cluster("racks", failureDomainLabel=RACK)
    scene.elemental_cluster("none")
    scene.kube.add(
        ELEMENTAL_CLUSTERS,
        {"metadata": {"name": "theirs", "namespace": "elsewhere"}, "spec": {"failureDomainLabel": ZONE}},
    )
    changed = scene.clusters().change_watches()[HOSTS]
    host = scene.host("h", **{ZONE: "zone-a"})

    def with_labels(**host_labels: str) -> dict[str, Any]:
        return {**host, "metadata": {**host["metadata"], "labels": host_labels}}

    assert changed("ADDED", host, None) == [(NS, "zones")]
    assert changed("ADDED", with_labels(), None) == []
    assert changed("MODIFIED", with_labels(**{ZONE: "zone-a", "x": "y"}), host) == []  # a check-in
    assert changed("MODIFIED", with_labels(**{ZONE: "zone-b"}), host) == [(NS, "zones")]
    assert changed("MODIFIED", with_labels(), host) == [(NS, "zones")]
    assert sorted(changed("MODIFIED", with_labels(**{ZONE: "zone-a", RACK: "r"}), host)) == [(NS, "racks")]
    deleting = {**host, "metadata": {**host["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    assert changed("MODIFIED", deleting, host) == [(NS, "zones")]
    assert changed("DELETED", host, host) == [(NS, "zones")]
    assert changed("DELETED", with_labels(), with_labels()) == []


# -- the ElementalMachine's placement ----------------------------------------------------------


def machine_scene(scene: Scene, *, failure_domain: str | None, **spec_fields: Any) -> None:
    """A Cluster, its ElementalCluster (named after it, as Cluster API's infrastructureRef
    says) and a Machine with its ElementalMachine."""
    scene.cluster("cluster")
    scene.elemental_cluster("cluster", owner="cluster", **spec_fields)
    scene.machine_pair(failure_domain=failure_domain, selector={"matchLabels": {"pool": "a"}})


def reconcile_machine(scene: Scene) -> tuple[Result, dict[str, Any]]:
    result = scene.machines().reconcile(NS, "em")
    return result, scene.get(ELEMENTAL_MACHINES, "em") or {}


def host_ref(em: dict[str, Any]) -> str | None:
    return ((em.get("spec") or {}).get("hostRef") or {}).get("name")


def test_a_machine_gets_only_a_host_of_its_failure_domain(scene: Scene) -> None:
    machine_scene(scene, failure_domain="zone-b", failureDomainLabel=ZONE)
    scene.host("a", pool="a", **{ZONE: "zone-a"})
    scene.host("b-other-pool", pool="b", **{ZONE: "zone-b"})  # the selector still applies
    scene.host("no-zone", pool="a")
    scene.host("b", pool="a", **{ZONE: "zone-b"})
    _, em = reconcile_machine(scene)
    assert host_ref(em) == "b"
    assert em["status"]["failureDomain"] == "zone-b"


def test_no_host_in_the_domain_is_no_host_available_naming_the_domain(scene: Scene) -> None:
    machine_scene(scene, failure_domain="zone-b", failureDomainLabel=ZONE)
    scene.host("a", pool="a", **{ZONE: "zone-a"})
    scene.host("b-other-pool", pool="b", **{ZONE: "zone-b"})
    result, em = reconcile_machine(scene)
    assert result == Result(requeue_after=REQUEUE)
    assert host_ref(em) is None
    assert state(em, ASSOCIATION_READY) == ("False", "Warning", MISSING_AVAILABLE_HOSTS)
    message = (condition(em, ASSOCIATION_READY) or {})["message"]
    assert "failure domain 'zone-b'" in message and ZONE in message

    scene.host("b", pool="a", **{ZONE: "zone-b"})  # one arrives: the next pass takes it
    assert host_ref(reconcile_machine(scene)[1]) == "b"


def test_a_failure_domain_without_a_cluster_label_gets_no_host(scene: Scene) -> None:
    """No host is in any domain then: the Machine's placement cannot be met."""
    machine_scene(scene, failure_domain="zone-a")
    scene.host("a", pool="a", **{ZONE: "zone-a"})
    result, em = reconcile_machine(scene)
    assert result == Result(requeue_after=REQUEUE)
    assert host_ref(em) is None
    assert state(em, ASSOCIATION_READY) == ("False", "Warning", MISSING_AVAILABLE_HOSTS)
    assert "failureDomainLabel" in (condition(em, ASSOCIATION_READY) or {})["message"]


def test_without_a_machine_domain_any_host_and_status_says_where_it_landed(scene: Scene) -> None:
    machine_scene(scene, failure_domain=None, failureDomainLabel=ZONE)
    scene.host("h", pool="a", **{ZONE: "zone-a"})
    _, em = reconcile_machine(scene)
    assert (host_ref(em), em["status"]["failureDomain"]) == ("h", "zone-a")

    relabel(scene, "h", ZONE, "zone-b")  # the host's label is the truth on every pass
    assert reconcile_machine(scene)[1]["status"]["failureDomain"] == "zone-b"
    relabel(scene, "h", ZONE, None)
    assert "failureDomain" not in reconcile_machine(scene)[1]["status"]
    relabel(scene, "h", ZONE, "zone-a")
    assert reconcile_machine(scene)[1]["status"]["failureDomain"] == "zone-a"

    del scene.kube.objects[HOSTS][(NS, "h")]  # host lost: so is where it was
    assert "failureDomain" not in reconcile_machine(scene)[1]["status"]


@pytest.mark.parametrize("spec_fields", [{}, {"failureDomainLabel": RACK}], ids=["no-label", "other-label"])
def test_status_failure_domain_only_from_the_clusters_label(
    scene: Scene, spec_fields: dict[str, Any]
) -> None:
    machine_scene(scene, failure_domain=None, **spec_fields)
    scene.host("h", pool="a", **{ZONE: "zone-a"})
    _, em = reconcile_machine(scene)
    assert host_ref(em) == "h"
    assert "failureDomain" not in em["status"]

    # The label set later: the ElementalCluster's change wakes the machines of its Cluster.
    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "cluster", lambda o: o["spec"].update(failureDomainLabel=ZONE))
    woken = scene.machines().watches()[ELEMENTAL_CLUSTERS](scene.get(ELEMENTAL_CLUSTERS, "cluster") or {})
    assert woken == [(NS, "em")]
    assert reconcile_machine(scene)[1]["status"]["failureDomain"] == "zone-a"


def test_an_elemental_cluster_without_owner_wakes_no_machine(scene: Scene) -> None:
    machine_scene(scene, failure_domain=None)
    scene.elemental_cluster("orphan", failureDomainLabel=ZONE)
    assert scene.machines().watches()[ELEMENTAL_CLUSTERS](scene.get(ELEMENTAL_CLUSTERS, "orphan") or {}) == []
