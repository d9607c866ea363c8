"""Failure domains from a host label against the real kube-apiserver: the ElementalCluster's
status.failureDomains follows the label's values as hosts come, change and go (woken by the
host watch, untouched by a host change that leaves its value alone), and a Machine with
spec.failureDomain gets a host of that domain only."""

from __future__ import annotations

from typing import Any

from elemental_core.vocabulary import ASSOCIATION_READY, MISSING_AVAILABLE_HOSTS
from tests.operator.activity import Activity
from tests.operator.capi import CLUSTERS, ECLUSTERS, EMS, HOSTS, MACHINES, Capi, condition

ZONE = "topology.kubernetes.io/zone"


def elemental_cluster(capi: Capi, **spec: Any) -> None:
    """The ElementalCluster `cluster`, owned by the Cluster `cluster`, asking for failure domains."""
    uid = (capi.get(CLUSTERS, "cluster") or {})["metadata"]["uid"]
    owner = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "name": "cluster", "uid": uid}
    endpoint = {"host": "cp.example", "port": 6443}
    capi.create(
        ECLUSTERS,
        "cluster",
        {"metadata": {"ownerReferences": [owner]}, "spec": {"controlPlaneEndpoint": endpoint, **spec}},
    )


def wait_domains(capi: Capi, names: list[str]) -> dict[str, Any]:
    expected = [{"name": name, "controlPlane": True} for name in names]
    return capi.wait(
        ECLUSTERS, "cluster", lambda o: (o.get("status") or {}).get("failureDomains") == expected
    )


def wait_no_domains(capi: Capi) -> dict[str, Any]:
    return capi.wait(
        ECLUSTERS,
        "cluster",
        lambda o: bool((o.get("status") or {}).get("ready")) and "failureDomains" not in o["status"],
    )


def test_the_list_follows_the_hosts_label_values(start_operator: Any, capi: Capi, activity: Activity) -> None:
    running = start_operator()
    capi.cluster("cluster")
    elemental_cluster(capi, failureDomainLabel=ZONE)
    wait_no_domains(capi)  # no host yet: no list (minItems 1)

    capi.host("a1", **{ZONE: "zone-a"})
    capi.host("b1", **{ZONE: "zone-b"})
    wait_domains(capi, ["zone-a", "zone-b"])
    capi.host("a2", installed=False, **{ZONE: "zone-a"})
    capi.label(HOSTS, "b1", **{ZONE: "zone-c"})
    wait_domains(capi, ["zone-a", "zone-c"])
    capi.label(HOSTS, "a1", **{ZONE: None})  # zone-a keeps a2
    capi.delete(HOSTS, "a2")  # being deleted (or gone): no longer counts
    wait_domains(capi, ["zone-c"])

    # A host change that leaves its value alone (a check-in) does not wake the ElementalCluster;
    # a host in a known domain wakes it, and nothing is written.
    activity.wait_idle(capi.custom, capi.namespace, running.manager)
    written = (capi.get(ECLUSTERS, "cluster") or {})["metadata"]["resourceVersion"]
    handled = activity.processed(running.manager, "elementalcluster", capi.namespace, "cluster")
    capi.label(HOSTS, "b1", rack="r1")
    activity.wait_idle(capi.custom, capi.namespace, running.manager)
    assert activity.processed(running.manager, "elementalcluster", capi.namespace, "cluster") == handled
    capi.host("c2", **{ZONE: "zone-c"})
    activity.wait_idle(capi.custom, capi.namespace, running.manager)
    assert activity.processed(running.manager, "elementalcluster", capi.namespace, "cluster") > handled
    assert (capi.get(ECLUSTERS, "cluster") or {})["metadata"]["resourceVersion"] == written

    capi.patch(ECLUSTERS, "cluster", {"spec": {"failureDomainLabel": None}})
    wait_no_domains(capi)


def test_a_machine_lands_in_its_failure_domain(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster("cluster")
    elemental_cluster(capi, failureDomainLabel=ZONE)
    capi.host("a", **{ZONE: "zone-a"})
    capi.host("b", **{ZONE: "zone-b"})
    wait_domains(capi, ["zone-a", "zone-b"])

    for name, domain in (("em-b", "zone-b"), ("em-c", "zone-c")):
        # As Cluster API's MachineSet does: the Machine names its failure domain from the start.
        machine = capi.machine(f"{name}-machine", name)
        machine = capi.patch(MACHINES, f"{name}-machine", {"spec": {"failureDomain": domain}})
        capi.elemental_machine(name, machine)

    em = capi.wait(EMS, "em-b", lambda o: (o.get("status") or {}).get("failureDomain") == "zone-b")
    assert em["spec"]["hostRef"]["name"] == "b"

    em = capi.wait_reason(EMS, "em-c", ASSOCIATION_READY, MISSING_AVAILABLE_HOSTS)
    assert "failure domain 'zone-c'" in (condition(em, ASSOCIATION_READY) or {})["message"]
    capi.host("c", **{ZONE: "zone-c"})
    em = capi.wait(EMS, "em-c", lambda o: (o.get("status") or {}).get("failureDomain") == "zone-c")
    assert em["spec"]["hostRef"]["name"] == "c"
    assert (capi.get(EMS, "em-b") or {})["spec"]["hostRef"]["name"] == "b"
