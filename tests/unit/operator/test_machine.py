"""ElementalMachine decisions: each missing prerequisite, association (selector, resumed,
races), the host's progress, the providerID, stale claims, host loss and deletion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from elemental_core.vocabulary import (
    ASSOCIATED_HOST_NOT_FOUND,
    ASSOCIATION_READY,
    CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOST_READY,
    HOST_WAITING_FOR_BOOTSTRAP,
    HOST_WAITING_FOR_INSTALL,
    HOSTS,
    INVALID_SELECTOR,
    LABEL_BOOTSTRAPPED,
    LABEL_CLUSTER_NAME,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_INSTALLED,
    LABEL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
    MACHINES,
    MISSING_ASSOCIATED_CLUSTER,
    MISSING_AVAILABLE_HOSTS,
    MISSING_BOOTSTRAP_SECRET,
    MISSING_CLUSTER_INFRASTRUCTURE_READY,
    MISSING_MACHINE_OWNER,
    NODE_NOT_FOUND,
    PAUSED,
    PROVIDER_ID_READY,
    READY,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED,
    WAITING_FOR_KUBECONFIG,
)
from elemental_operator import placement
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import KUBECONFIG, NS, REQUEUE, Scene, condition, labels, state

WAIT = Result(requeue_after=REQUEUE)
PROVIDER_ID = f"elemental://{NS}/host"


def reconcile(scene: Scene, name: str = "em") -> tuple[Result, dict[str, Any]]:
    result = scene.machines().reconcile(NS, name)
    return result, scene.get(ELEMENTAL_MACHINES, name) or {}


def host_ref(em: dict[str, Any]) -> str | None:
    return ((em.get("spec") or {}).get("hostRef") or {}).get("name")


def claimed(scene: Scene, host: str) -> str | None:
    return labels(scene.get(HOSTS, host)).get(LABEL_ELEMENTAL_MACHINE_NAME)


def link_by_hand(scene: Scene, host: str, em: str = "em") -> None:
    """What an association leaves on a host (without the machine's hostRef)."""
    machine = scene.get(ELEMENTAL_MACHINES, em) or {}

    def link(obj: dict[str, Any]) -> None:
        obj["metadata"]["labels"].update(
            {LABEL_ELEMENTAL_MACHINE_NAME: em, LABEL_MACHINE_NAME: f"{em}-machine"}
        )
        obj["spec"].update(
            machineRef={
                "kind": ELEMENTAL_MACHINES.kind,
                "name": em,
                "namespace": NS,
                "uid": machine["metadata"]["uid"],
            },
            bootstrapSecret={"kind": "Secret", "namespace": NS, "name": f"{em}-machine-bootstrap"},
            osVersionManagement={"osImage": "v1"},
        )

    scene.kube.change(HOSTS, NS, host, link)


def set_host_ref(scene: Scene, host: str, em: str = "em") -> None:
    uid = (scene.get(HOSTS, host) or {})["metadata"]["uid"]
    ref = {"apiVersion": HOSTS.api_version, "kind": HOSTS.kind, "namespace": NS, "name": host, "uid": uid}
    scene.kube.change(ELEMENTAL_MACHINES, NS, em, lambda o: o["spec"].update(hostRef=ref))


# -- prerequisites ---------------------------------------------------------------------------------


def no_owner(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair(owned=False)


def owner_gone(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    del scene.kube.objects[MACHINES][(NS, "em-machine")]


def no_cluster_label(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair(cluster=None)


def cluster_absent(scene: Scene) -> None:
    scene.machine_pair()


def infrastructure_not_ready(scene: Scene) -> None:
    scene.cluster(infrastructure_ready=False)
    scene.machine_pair()


def no_bootstrap_data(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair(bootstrap=False)


def no_host(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    scene.host("not-installed", installed=False)
    scene.host("resetting", **{LABEL_NEEDS_RESET: "true"})
    scene.host("resetting-false", **{LABEL_NEEDS_RESET: "false"})  # the label's presence counts
    scene.host("taken", **{LABEL_MACHINE_NAME: "other-machine", LABEL_ELEMENTAL_MACHINE_NAME: "other"})
    scene.host("deleting", spec={})
    scene.kube.change(
        HOSTS, NS, "deleting", lambda o: o["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z")
    )


@pytest.mark.parametrize(
    ("setup", "reason", "severity", "result", "finalizer"),
    [
        (no_owner, MISSING_MACHINE_OWNER, "Error", Result(), False),
        (owner_gone, MISSING_MACHINE_OWNER, "Error", Result(), False),
        (no_cluster_label, MISSING_ASSOCIATED_CLUSTER, "Error", Result(), False),
        (cluster_absent, MISSING_ASSOCIATED_CLUSTER, "Error", Result(), False),
        (infrastructure_not_ready, MISSING_CLUSTER_INFRASTRUCTURE_READY, "Error", Result(), True),
        (no_bootstrap_data, MISSING_BOOTSTRAP_SECRET, "Error", Result(), True),
        (no_host, MISSING_AVAILABLE_HOSTS, "Warning", WAIT, True),
    ],
)
def test_each_missing_prerequisite_is_a_condition(
    scene: Scene, setup: Callable[[Scene], None], reason: str, severity: str, result: Result, finalizer: bool
) -> None:
    setup(scene)
    hosts_before = scene.kube.scan(HOSTS)
    got, em = reconcile(scene)
    assert got == result
    assert state(em, ASSOCIATION_READY) == ("False", severity, reason)
    assert state(em, READY) == ("False", severity, reason)
    assert not (em.get("status") or {}).get("ready")
    assert (FINALIZER in (em["metadata"].get("finalizers") or [])) is finalizer
    assert host_ref(em) is None
    assert scene.kube.scan(HOSTS) == hosts_before  # no host taken


# -- association -------------------------------------------------------------------------------------


def test_a_free_host_is_linked_both_ways(scene: Scene) -> None:
    scene.cluster()
    machine = scene.machine_pair(os_version={"osImage": "v1"})
    host = scene.host("host")
    result, em = reconcile(scene)

    assert result == Result()
    assert em["spec"]["hostRef"] == {
        "apiVersion": HOSTS.api_version,
        "kind": HOSTS.kind,
        "namespace": NS,
        "name": "host",
        "uid": host["metadata"]["uid"],
    }
    linked = scene.get(HOSTS, "host") or {}
    assert linked["spec"]["machineRef"] == {
        "apiVersion": ELEMENTAL_MACHINES.api_version,
        "kind": ELEMENTAL_MACHINES.kind,
        "namespace": NS,
        "name": "em",
        "uid": machine["metadata"]["uid"],
    }
    assert linked["spec"]["bootstrapSecret"] == {
        "kind": "Secret",
        "namespace": NS,
        "name": "em-machine-bootstrap",
    }
    assert linked["spec"]["osVersionManagement"] == {"osImage": "v1"}
    assert {
        k: labels(linked)[k] for k in (LABEL_MACHINE_NAME, LABEL_ELEMENTAL_MACHINE_NAME, LABEL_CLUSTER_NAME)
    } == {
        LABEL_MACHINE_NAME: "em-machine",
        LABEL_ELEMENTAL_MACHINE_NAME: "em",
        LABEL_CLUSTER_NAME: "cluster",
    }
    assert state(em, ASSOCIATION_READY) == ("True", "", "Ready")
    assert state(em, HOST_READY) == ("False", "Info", HOST_WAITING_FOR_BOOTSTRAP)
    assert (condition(em, HOST_READY) or {})[
        "message"
    ] == "Waiting for ElementalHost 'host' to be bootstrapped"


def test_a_host_without_os_version_follows_a_machine_without_one(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    scene.host("host", spec={"osVersionManagement": {"osImage": "old"}})
    reconcile(scene)
    assert "osVersionManagement" not in (scene.get(HOSTS, "host") or {})["spec"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (
            {
                "matchLabels": {"pool": "b"},
                "matchExpressions": [{"key": "zone", "operator": "In", "values": ["z2"]}],
            },
            "c",
        ),
        (
            {
                "matchExpressions": [
                    {"key": "pool", "operator": "NotIn", "values": ["b"]},
                    {"key": "pool", "operator": "Exists"},
                ]
            },
            "a",
        ),
        ({"matchExpressions": [{"key": "pool", "operator": "DoesNotExist"}]}, "d"),
        ({"matchLabels": {"pool": "b"}}, "b"),  # the first in name order
        ({"matchLabels": {"pool": "nowhere"}}, None),
        (None, "a"),
    ],
    ids=[
        "labels-and-in",
        "notin-and-exists",
        "does-not-exist",
        "first-of-several",
        "none-matches",
        "no-selector",
    ],
)
def test_association_honours_the_selector(
    scene: Scene, selector: dict[str, Any] | None, expected: str | None
) -> None:
    scene.cluster()
    scene.machine_pair(selector=selector)
    scene.host("a", pool="a")
    scene.host("b", pool="b", zone="z1")
    scene.host("c", pool="b", zone="z2")
    scene.host("c-not-installed", installed=False, pool="b", zone="z2")
    scene.host("d")
    _, em = reconcile(scene)
    assert host_ref(em) == expected
    taken = {
        h["metadata"]["name"] for h in scene.kube.scan(HOSTS) if LABEL_ELEMENTAL_MACHINE_NAME in labels(h)
    }
    assert taken == ({expected} if expected else set())


@pytest.mark.parametrize("hosts", [0, 2], ids=["no-hosts", "hosts"])
def test_an_invalid_selector_is_a_terminal_condition_not_a_crash(scene: Scene, hosts: int) -> None:
    """An empty NotIn would match every host: the machine takes none and says why, whether
    or not hosts exist (no exception to retry forever, no requeue until its spec changes)."""
    scene.cluster()
    scene.machine_pair(selector={"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": []}]})
    for index in range(hosts):
        scene.host(f"h{index}", pool="a")
    result, em = reconcile(scene)
    assert result == Result()
    assert host_ref(em) is None
    assert state(em, ASSOCIATION_READY) == ("False", "Error", INVALID_SELECTOR)
    assert "'NotIn' needs values" in condition(em, ASSOCIATION_READY)["message"]


def test_an_interrupted_association_is_resumed(scene: Scene) -> None:
    """The crash window: the host's link was written, the machine's hostRef was not."""
    scene.cluster()
    scene.machine_pair()
    scene.host("a-free")
    scene.host("b-linked")
    link_by_hand(scene, "b-linked")
    _, em = reconcile(scene)
    assert host_ref(em) == "b-linked"
    assert claimed(scene, "a-free") is None


def test_a_host_taken_meanwhile_is_passed_over_for_the_next(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    first, second = placement.preference_order("em", ["a", "b"])
    scene.host("a")
    scene.host("b")
    scene.kube.before_next_write(
        HOSTS, NS, first, lambda o: o["metadata"]["labels"].update({LABEL_ELEMENTAL_MACHINE_NAME: "rival"})
    )
    _, em = reconcile(scene)
    assert host_ref(em) == second
    assert claimed(scene, first) == "rival"  # the winner's claim stands
    assert claimed(scene, second) == "em"


def test_every_host_taken_meanwhile_means_none_available(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    scene.host("a")
    scene.kube.before_next_write(
        HOSTS, NS, "a", lambda o: o["metadata"]["labels"].update({LABEL_ELEMENTAL_MACHINE_NAME: "rival"})
    )
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, ASSOCIATION_READY) == ("False", "Warning", MISSING_AVAILABLE_HOSTS)
    assert host_ref(em) is None


# -- the associated host -------------------------------------------------------------------------------


def associated_scene(
    scene: Scene,
    *,
    bootstrapped: bool = False,
    installed: bool = True,
    initialized: bool = False,
    control_plane_ref: bool = True,
) -> None:
    scene.cluster(initialized=initialized, control_plane_ref=control_plane_ref)
    scene.machine_pair()
    scene.host("host", installed=installed, bootstrapped=bootstrapped)
    link_by_hand(scene, "host")
    set_host_ref(scene, "host")


def test_a_host_not_installed_is_waited_for(scene: Scene) -> None:
    associated_scene(scene, installed=False)
    result, em = reconcile(scene)
    assert result == Result()
    assert state(em, ASSOCIATION_READY) == ("True", "", "Ready")
    assert state(em, HOST_READY) == ("False", "Error", HOST_WAITING_FOR_INSTALL)
    assert (condition(em, HOST_READY) or {})["message"] == "ElementalHost 'host' is not installed."


def test_a_host_not_bootstrapped_is_waited_for(scene: Scene) -> None:
    associated_scene(scene)
    result, em = reconcile(scene)
    assert result == Result()
    assert state(em, HOST_READY) == ("False", "Info", HOST_WAITING_FOR_BOOTSTRAP)
    assert not em["status"]["ready"]


def test_a_control_plane_not_initialized_is_waited_for(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True)
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, HOST_READY) == ("True", "", "Ready")
    assert state(em, PROVIDER_ID_READY) == ("False", "Info", WAITING_FOR_CONTROL_PLANE_INITIALIZED)
    assert "providerID" not in em["spec"]


@pytest.mark.parametrize(
    "status",
    [
        {"initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": False}},
        # The condition alone (what a v1beta1 reader looked at) is not the v1beta2 contract field.
        {
            "initialization": {"infrastructureProvisioned": True},
            "conditions": [{"type": "ControlPlaneInitialized", "status": "True", "reason": "Initialized"}],
        },
    ],
    ids=["false", "condition-only"],
)
def test_a_control_plane_not_reported_initialized_is_not_initialized(
    scene: Scene, status: dict[str, Any]
) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.kube.change(CLUSTERS, NS, "cluster", lambda o: o.update(status=status))
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, PROVIDER_ID_READY) == ("False", "Info", WAITING_FOR_CONTROL_PLANE_INITIALIZED)


def test_the_provider_id_is_set_on_the_node_and_the_machine(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.kubeconfig()
    scene.kube.nodes["host"] = None
    result, em = reconcile(scene)

    assert result == Result()
    assert scene.kube.nodes["host"] == PROVIDER_ID
    assert scene.kube.kubeconfigs_used == [KUBECONFIG]  # the Cluster's kubeconfig Secret
    assert em["spec"]["providerID"] == PROVIDER_ID
    assert em["status"]["ready"] is True
    for kind in (READY, ASSOCIATION_READY, HOST_READY, PROVIDER_ID_READY):
        assert (condition(em, kind) or {})["status"] == "True", kind

    # The v1beta2 contract: initialization completed, metav1 conditions observed at the
    # generation the providerID write made (the same pass, no catching up afterwards).
    assert em["status"]["initialization"] == {"provisioned": True}
    assert em["metadata"]["generation"] == 3  # created, hostRef, providerID
    for item in em["status"]["conditions"]:
        assert set(item) == {
            "type",
            "status",
            "reason",
            "message",
            "observedGeneration",
            "lastTransitionTime",
        }
        expected_reason = "NotPaused" if item["type"] == PAUSED else "Ready"
        assert (item["reason"], item["observedGeneration"]) == (expected_reason, 3)

    # Converged: nothing is written again, here or in the workload cluster.
    _, again = reconcile(scene)
    assert again == em
    assert scene.kube.kubeconfigs_used == [KUBECONFIG]


def test_a_node_not_there_yet_is_waited_for(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.kubeconfig()
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, PROVIDER_ID_READY) == ("False", "Error", NODE_NOT_FOUND)
    assert (condition(em, PROVIDER_ID_READY) or {})[
        "message"
    ] == "Downstream cluster node 'host' is not found."
    assert "providerID" not in em["spec"]
    assert not em["status"]["ready"]

    scene.kube.nodes["host"] = None  # the Node registers
    _, em = reconcile(scene)
    assert em["spec"]["providerID"] == PROVIDER_ID


def test_a_kubeconfig_not_there_yet_is_waited_for(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.kube.nodes["host"] = None
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, PROVIDER_ID_READY) == ("False", "Info", WAITING_FOR_KUBECONFIG)
    assert (condition(em, PROVIDER_ID_READY) or {})["message"] == (
        "Waiting for the kubeconfig Secret 'cluster-kubeconfig' of downstream cluster 'cluster'."
    )
    assert "providerID" not in em["spec"]
    assert not em["status"]["ready"]
    assert scene.kube.nodes["host"] is None


def test_without_a_control_plane_provider_the_kubeconfig_and_node_are_waited_for(scene: Scene) -> None:
    """No controlPlaneRef: Cluster API calls the control plane initialized only once the
    first control-plane Machine has a Node, which needs this providerID. So nothing waits
    for ControlPlaneInitialized; the workload cluster's kubeconfig and the Node are looked
    for again every requeue period until they are there."""
    associated_scene(scene, bootstrapped=True, control_plane_ref=False)
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, PROVIDER_ID_READY) == ("False", "Info", WAITING_FOR_KUBECONFIG)

    scene.kubeconfig()
    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, PROVIDER_ID_READY) == ("False", "Error", NODE_NOT_FOUND)

    scene.kube.nodes["host"] = None  # the host's kubelet registers its Node
    result, em = reconcile(scene)
    assert result == Result()
    assert scene.kube.nodes["host"] == PROVIDER_ID
    assert em["spec"]["providerID"] == PROVIDER_ID
    assert em["status"]["ready"] is True


def test_a_lost_host_is_forgotten_then_replaced(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True, initialized=True)
    scene.kubeconfig()
    scene.kube.nodes["host"] = None
    _, em = reconcile(scene)
    assert em["status"]["ready"] is True
    del scene.kube.objects[HOSTS][(NS, "host")]
    scene.host("spare")

    result, em = reconcile(scene)
    assert result == WAIT
    assert state(em, ASSOCIATION_READY) == ("False", "Warning", ASSOCIATED_HOST_NOT_FOUND)
    assert (condition(em, ASSOCIATION_READY) or {})["message"] == "Previously associated host not found: host"
    assert "hostRef" not in em["spec"]
    assert "providerID" not in em["spec"]

    assert em["status"]["initialization"] == {"provisioned": True}  # initialization completed once
    _, em = reconcile(scene)
    assert host_ref(em) == "spare"


# -- stale claims ----------------------------------------------------------------------------------------


def test_claims_that_lost_a_race_are_given_back_or_reset(scene: Scene) -> None:
    """The machine's hostRef names one host, two more carry its label: the free one is
    released, the bootstrapped one (it may run the machine's bootstrap data) is reset."""
    scene.cluster()
    scene.machine_pair()
    for name, bootstrapped in (("winner", False), ("stale-free", False), ("stale-booted", True)):
        scene.host(name, bootstrapped=bootstrapped, **{LABEL_CLUSTER_NAME: "cluster"})
        link_by_hand(scene, name)
    set_host_ref(scene, "winner")
    winner = scene.get(HOSTS, "winner")

    reconcile(scene)
    freed = scene.get(HOSTS, "stale-free") or {}
    assert not {"machineRef", "bootstrapSecret", "osVersionManagement"} & set(freed["spec"])
    assert not {LABEL_MACHINE_NAME, LABEL_ELEMENTAL_MACHINE_NAME, LABEL_CLUSTER_NAME} & set(labels(freed))
    assert labels(freed)[LABEL_INSTALLED] == "true"
    booted = scene.get(HOSTS, "stale-booted") or {}
    assert labels(booted)[LABEL_NEEDS_RESET] == "true"
    assert labels(booted)[LABEL_BOOTSTRAPPED] == "true"
    assert scene.get(HOSTS, "winner") == winner


def test_a_stale_claim_changed_meanwhile_is_left_for_the_next_pass(scene: Scene) -> None:
    scene.cluster()
    scene.machine_pair()
    for name in ("winner", "stale"):
        scene.host(name)
        link_by_hand(scene, name)
    set_host_ref(scene, "winner")
    scene.kube.before_next_write(HOSTS, NS, "stale", lambda o: o["metadata"]["labels"].update(seen="agent"))
    _, em = reconcile(scene)
    assert state(em, ASSOCIATION_READY) == ("True", "", "Ready")
    assert claimed(scene, "stale") == "em"
    reconcile(scene)
    assert claimed(scene, "stale") is None


# -- deletion ----------------------------------------------------------------------------------------------


def test_deletion_asks_the_host_to_reset_and_releases_the_machine(scene: Scene) -> None:
    associated_scene(scene, bootstrapped=True)
    scene.host("bystander")
    reconcile(scene)  # adds the finalizer
    scene.kube.delete(ELEMENTAL_MACHINES, NS, "em")

    assert scene.machines().reconcile(NS, "em") == Result()
    assert scene.get(ELEMENTAL_MACHINES, "em") is None
    assert labels(scene.get(HOSTS, "host"))[LABEL_NEEDS_RESET] == "true"
    assert LABEL_NEEDS_RESET not in labels(scene.get(HOSTS, "bystander"))
    assert scene.get(MACHINES, "em-machine") is not None  # Cluster API's: untouched
    assert scene.get(CLUSTERS, "cluster") is not None


@pytest.mark.parametrize("host", ["none", "gone", "reset-asked"])
def test_deletion_releases_the_machine_whatever_became_of_the_host(scene: Scene, host: str) -> None:
    scene.cluster()
    scene.machine_pair(finalizer=True)
    if host != "none":
        scene.host("host", **({LABEL_NEEDS_RESET: "true"} if host == "reset-asked" else {}))
        set_host_ref(scene, "host")
    if host == "gone":
        del scene.kube.objects[HOSTS][(NS, "host")]
    hosts_before = scene.kube.scan(HOSTS)
    scene.kube.delete(ELEMENTAL_MACHINES, NS, "em")
    scene.machines().reconcile(NS, "em")
    assert scene.get(ELEMENTAL_MACHINES, "em") is None
    assert scene.kube.scan(HOSTS) == hosts_before


def test_ready_says_deleting_while_the_machine_is_held(scene: Scene) -> None:
    """Ready covers deletion (v1beta2 contract): written before our finalizer goes, it is
    what stays while another finalizer holds the machine."""
    associated_scene(scene, bootstrapped=True)
    reconcile(scene)
    scene.kube.change(ELEMENTAL_MACHINES, NS, "em", lambda o: o["metadata"]["finalizers"].append("other"))
    scene.kube.delete(ELEMENTAL_MACHINES, NS, "em")
    _, em = reconcile(scene)
    assert em["metadata"]["finalizers"] == ["other"]
    assert state(em, READY) == ("False", "Info", "Deleting")
    assert (condition(em, READY) or {})["message"] == "ElementalHost 'host' asked to reset"
    assert labels(scene.get(HOSTS, "host"))[LABEL_NEEDS_RESET] == "true"

    _, again = reconcile(scene)  # without our finalizer: only Ready, which is already so
    assert again == em


def test_a_gone_machine_is_nothing_to_do(scene: Scene) -> None:
    assert scene.machines().reconcile(NS, "absent") == Result()


# -- addresses ---------------------------------------------------------------------------------------------

ADDRESSES = [{"type": "Hostname", "address": "host"}, {"type": "InternalIP", "address": "192.168.122.10"}]


def test_the_hosts_addresses_are_the_machines(scene: Scene) -> None:
    """status.addresses of the InfraMachine contract, as the host's agent reported them."""
    associated_scene(scene)
    _, em = reconcile(scene)
    assert "addresses" not in em["status"]
    scene.kube.change(HOSTS, NS, "host", lambda o: o.setdefault("status", {}).update(addresses=ADDRESSES))
    _, em = reconcile(scene)
    assert em["status"]["addresses"] == ADDRESSES

    changed = [{"type": "InternalIP", "address": "192.168.122.11"}]
    scene.kube.change(HOSTS, NS, "host", lambda o: o["status"].update(addresses=changed))
    _, em = reconcile(scene)
    assert em["status"]["addresses"] == changed

    del scene.kube.objects[HOSTS][(NS, "host")]
    _, em = reconcile(scene)
    assert "addresses" not in em["status"]
