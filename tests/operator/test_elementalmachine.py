"""ElementalMachine: every upstream condition reason in the order CAPI's objects make them
appear, association under spec.selector, the links written, providerID on the downstream
Node, host loss and replacement, and machine deletion resetting the host."""

from __future__ import annotations

from typing import Any

from elemental_core.vocabulary import HOSTS as KUBE_HOSTS
from elemental_core.vocabulary import (
    LABEL_BOOTSTRAPPED,
    LABEL_CLUSTER_NAME,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_INSTALLED,
    LABEL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
)
from tests.operator.activity import Activity
from tests.operator.capi import (
    CLUSTERS,
    EMS,
    HOSTS,
    MACHINES,
    Capi,
    Downstream,
    Recorder,
    condition,
    is_true,
    labels,
    reason,
)

FINALIZER = "elementalmachine.infrastructure.cluster.x-k8s.io"


def host_ref(em: dict[str, Any] | None) -> str | None:
    ref = ((em or {}).get("spec") or {}).get("hostRef") or {}
    return ref.get("name")


def test_every_condition_reason_on_the_way_to_ready(
    start_operator: Any, capi: Capi, downstream: Downstream, activity: Activity
) -> None:
    operator = start_operator()
    host_name = f"host-{capi.suffix}"

    def expect(kind: str, expected: str, severity: str | None = None) -> dict[str, Any]:
        em = capi.wait_reason(EMS, "em", kind, expected)
        assert reason(em, "Ready") == expected, em["status"]["conditions"]  # the summary follows
        if severity:
            assert (condition(em, kind) or {})["severity"] == severity
        assert not em["status"].get("ready")
        return em

    # No owner Machine yet (CAPI sets the ownerReference after creating the Machine).
    capi.elemental_machine("em", machine=None)
    expect("AssociationReady", "MissingMachineOwner", "Error")

    # Owned by a Machine without bootstrap data, labelled for a Cluster that does not exist.
    machine = capi.machine("machine", "em", bootstrap=False)
    capi.patch(EMS, "em", {"metadata": {"ownerReferences": [capi.owner_reference(machine)]}})
    expect("AssociationReady", "MissingAssociatedCluster", "Error")

    capi.cluster(infrastructure_ready=False)
    em = expect("AssociationReady", "MissingClusterInfrastructureReady", "Error")
    assert FINALIZER in em["metadata"]["finalizers"]

    capi.cluster_status("cluster", infrastructure_ready=True, control_plane_initialized=False)
    expect("AssociationReady", "MissingBootstrapSecret", "Error")

    capi.set_bootstrap_data("machine")
    expect("AssociationReady", "MissingAvailableHosts", "Warning")

    # Neither a host that is not installed nor one asked to reset is available.
    capi.host("not-installed", installed=False)
    capi.host("resetting", **{LABEL_NEEDS_RESET: "true"})
    activity.wait_settled(capi.custom, capi.namespace, operator.manager, "elementalmachine", ["em"])
    assert host_ref(capi.get(EMS, "em")) is None, "associated with an unavailable host"

    capi.host(host_name)
    em = expect("HostReady", "HostWaitingForBootstrap", "Info")
    assert is_true(em, "AssociationReady")
    assert host_ref(em) == host_name

    # The links, both ways.
    host = capi.get(HOSTS, host_name) or {}
    assert em["spec"]["hostRef"] == {
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
        "kind": "ElementalHost",
        "namespace": capi.namespace,
        "name": host_name,
        "uid": host["metadata"]["uid"],
    }
    assert host["spec"]["machineRef"] == {
        "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
        "kind": "ElementalMachine",
        "namespace": capi.namespace,
        "name": "em",
        "uid": em["metadata"]["uid"],
    }
    assert host["spec"]["bootstrapSecret"] == {
        "kind": "Secret",
        "namespace": capi.namespace,
        "name": "machine-bootstrap",
    }
    assert {
        k: labels(host).get(k) for k in (LABEL_MACHINE_NAME, LABEL_ELEMENTAL_MACHINE_NAME, LABEL_CLUSTER_NAME)
    } == {
        LABEL_MACHINE_NAME: "machine",
        LABEL_ELEMENTAL_MACHINE_NAME: "em",
        LABEL_CLUSTER_NAME: "cluster",
    }
    for other in ("not-installed", "resetting"):
        assert "machineRef" not in (capi.get(HOSTS, other) or {}).get("spec", {})

    # An associated host that lost its installed label (e.g. a resumed association).
    capi.label(HOSTS, host_name, **{LABEL_INSTALLED: None})
    expect("HostReady", "HostWaitingForInstall", "Error")
    capi.label(HOSTS, host_name, **{LABEL_INSTALLED: "true"})
    expect("HostReady", "HostWaitingForBootstrap")

    # Bootstrapped, but the control plane is not initialized yet.
    capi.label(HOSTS, host_name, **{LABEL_BOOTSTRAPPED: "true"})
    em = expect("ProviderIDReady", "WaitingForControlPlaneInitialized", "Info")
    assert is_true(em, "HostReady")
    assert "providerID" not in em["spec"]

    # Initialized, the workload kubeconfig is there, but no Node of that name yet.
    capi.kubeconfig_secret("cluster", downstream)
    capi.cluster_status("cluster", infrastructure_ready=True, control_plane_initialized=True)
    expect("ProviderIDReady", "NodeNotFound", "Error")

    downstream.create_node(host_name)
    provider_id = f"elemental://{capi.namespace}/{host_name}"
    em = capi.wait(EMS, "em", lambda o: bool(o["status"].get("ready")))
    assert em["spec"]["providerID"] == provider_id
    assert downstream.provider_id(host_name) == provider_id
    for kind in ("Ready", "AssociationReady", "HostReady", "ProviderIDReady"):
        assert is_true(em, kind), em["status"]["conditions"]


def test_without_control_plane_ref_the_machine_gets_its_provider_id(
    start_operator: Any, capi: Capi, downstream: Downstream
) -> None:
    """A Cluster without spec.controlPlaneRef (stand-alone control-plane Machines): its
    ControlPlaneInitialized stays False until a Node has our providerID, so the machine
    waits for the kubeconfig Secret and the Node only."""
    start_operator()
    host_name = f"host-{capi.suffix}"
    capi.cluster(control_plane_ref=False, control_plane_initialized=False)
    capi.host(host_name, bootstrapped=True)
    capi.machine_pair("em")
    capi.wait_reason(EMS, "em", "ProviderIDReady", "WaitingForKubeconfig")
    capi.kubeconfig_secret("cluster", downstream)
    capi.wait_reason(EMS, "em", "ProviderIDReady", "NodeNotFound")
    downstream.create_node(host_name)
    em = capi.wait(EMS, "em", lambda o: bool(o["status"].get("ready")))
    assert em["spec"]["providerID"] == f"elemental://{capi.namespace}/{host_name}"
    assert downstream.provider_id(host_name) == em["spec"]["providerID"]


def test_association_honours_the_selector(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster()
    capi.host("a-pool-a", pool="a")
    capi.host("b-pool-b-z1", pool="b", zone="z1")
    capi.host("c-pool-b-z2", pool="b", zone="z2")
    capi.host("d-pool-b-z2-not-installed", installed=False, pool="b", zone="z2")
    capi.host("e-unlabelled")

    capi.machine_pair(
        "by-labels-and-expression",
        selector={
            "matchLabels": {"pool": "b"},
            "matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2", "z3"]}],
        },
    )
    capi.machine_pair(
        "by-not-in-and-exists",
        selector={
            "matchExpressions": [
                {"key": "pool", "operator": "NotIn", "values": ["b"]},
                {"key": "pool", "operator": "Exists"},
            ]
        },
    )
    capi.machine_pair("by-nothing-there", selector={"matchLabels": {"pool": "c"}})

    em = capi.wait(EMS, "by-labels-and-expression", host_ref)
    assert host_ref(em) == "c-pool-b-z2"
    em = capi.wait(EMS, "by-not-in-and-exists", host_ref)
    assert host_ref(em) == "a-pool-a"
    capi.wait_reason(EMS, "by-nothing-there", "AssociationReady", "MissingAvailableHosts")

    # The hosts that matched nothing are untouched, and only the matching ones are taken.
    for free in ("b-pool-b-z1", "d-pool-b-z2-not-installed", "e-unlabelled"):
        host = capi.get(HOSTS, free) or {}
        assert "machineRef" not in host["spec"]
        assert LABEL_ELEMENTAL_MACHINE_NAME not in labels(host)

    # A host that matches shows up: the waiting machine takes it, and only it.
    capi.host("f-pool-c", pool="c")
    em = capi.wait(EMS, "by-nothing-there", host_ref)
    assert host_ref(em) == "f-pool-c"
    assert LABEL_ELEMENTAL_MACHINE_NAME not in labels(capi.get(HOSTS, "b-pool-b-z1"))


def test_lost_host_is_replaced(start_operator: Any, capi: Capi, downstream: Downstream) -> None:
    start_operator()
    first, second = f"a-host-{capi.suffix}", f"b-host-{capi.suffix}"
    capi.cluster(control_plane_initialized=True)
    capi.kubeconfig_secret("cluster", downstream)
    for name in (first, second):
        downstream.create_node(name)
    capi.host(first)
    capi.machine_pair("em")
    capi.wait(EMS, "em", lambda o: host_ref(o) == first)
    capi.label(HOSTS, first, **{LABEL_BOOTSTRAPPED: "true"})
    em = capi.wait(EMS, "em", lambda o: bool(o["status"].get("ready")))
    assert em["spec"]["providerID"] == f"elemental://{capi.namespace}/{first}"

    # The spare host arrives; the associated one is deleted (held for its reset), then goes.
    capi.host(second)
    capi.delete(HOSTS, first)
    capi.wait(HOSTS, first, lambda o: labels(o).get(LABEL_NEEDS_RESET) == "true")
    assert host_ref(capi.get(EMS, "em")) == first  # still there: still associated
    capi.strip_finalizers(HOSTS, first)
    capi.wait_gone(HOSTS, first)

    em = capi.wait(EMS, "em", lambda o: host_ref(o) == second and not o["status"].get("ready"))
    host = capi.get(HOSTS, second) or {}
    assert host["spec"]["machineRef"]["uid"] == em["metadata"]["uid"]
    assert labels(host)[LABEL_ELEMENTAL_MACHINE_NAME] == "em"
    assert em["spec"].get("providerID") != f"elemental://{capi.namespace}/{first}"

    # The replacement is bootstrapped: a new providerID, on its own Node.
    capi.label(HOSTS, second, **{LABEL_BOOTSTRAPPED: "true"})
    em = capi.wait(EMS, "em", lambda o: bool(o["status"].get("ready")))
    assert em["spec"]["providerID"] == f"elemental://{capi.namespace}/{second}"
    assert downstream.provider_id(second) == em["spec"]["providerID"]


def test_lost_host_is_reported_when_there_is_no_replacement(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster()
    capi.host("only")
    capi.machine_pair("em")
    capi.wait(EMS, "em", lambda o: host_ref(o) == "only")
    recorder = Recorder(capi.custom, capi.namespace, EMS)
    try:
        capi.delete(HOSTS, "only")
        capi.strip_finalizers(HOSTS, "only")
        capi.wait_gone(HOSTS, "only")
        # AssociatedHostNotFound (hostRef and providerID cleared) is written first; the next
        # pass, at once, looks for another host and finds none.
        em = capi.wait_reason(EMS, "em", "AssociationReady", "MissingAvailableHosts")
        assert "hostRef" not in em["spec"]
        reasons = recorder.reasons("em", "AssociationReady")
        assert reasons.index("AssociatedHostNotFound") < reasons.index("MissingAvailableHosts"), reasons
        lost = next(o for o in recorder.seen if reason(o, "AssociationReady") == "AssociatedHostNotFound")
        assert "hostRef" not in lost["spec"]
        assert (condition(lost, "AssociationReady") or {})[
            "message"
        ] == "Previously associated host not found: only"
    finally:
        recorder.stop()


def test_machine_deletion_resets_the_host_and_releases_the_finalizer(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster()
    capi.host("host-a")
    capi.host("host-b")
    capi.machine_pair("em")
    em = capi.wait(EMS, "em", host_ref)
    assert FINALIZER in em["metadata"]["finalizers"]
    taken = host_ref(em)
    bystander = "host-b" if taken == "host-a" else "host-a"

    capi.delete(EMS, "em")
    capi.wait_gone(EMS, "em")
    host = capi.get(HOSTS, taken or "") or {}
    assert labels(host)[LABEL_NEEDS_RESET] == "true"
    assert LABEL_NEEDS_RESET not in labels(capi.get(HOSTS, bystander))
    # The Machine and Cluster are CAPI's: untouched.
    assert capi.get(MACHINES, "em-machine") is not None
    assert capi.get(CLUSTERS, "cluster") is not None


def test_host_reset_and_released_by_the_operator_is_replaced(start_operator: Any, capi: Capi) -> None:
    """The agent's path: the associated host is deleted, resets, reports it; the operator
    itself releases the finalizer, and must then see the host as gone (not keep the last
    version it wrote in its cache)."""
    operator = start_operator()
    capi.cluster()
    capi.machine_pair("em")
    for round_ in range(3):
        name = f"host-{round_}"
        capi.host(name)
        capi.wait(EMS, "em", lambda o, name=name: host_ref(o) == name)
        capi.delete(HOSTS, name)
        capi.wait(HOSTS, name, lambda o: labels(o).get(LABEL_NEEDS_RESET) == "true")
        capi.label(HOSTS, name, **{LABEL_RESET: "true"})
        capi.wait_gone(HOSTS, name)
        capi.wait_reason(EMS, "em", "AssociationReady", "MissingAvailableHosts")
        assert operator.kube.get(KUBE_HOSTS, capi.namespace, name) is None
