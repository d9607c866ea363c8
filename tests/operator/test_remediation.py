"""Remediation on a real kube-apiserver: the test plays Cluster API (the Machine, its
ElementalMachine, the ElementalRemediation a MachineHealthCheck would create) and the agent
(status.rebootAccepted, status.lastSeen as the API records a check-in), and reads what the
operator writes: the host's reboot request, the remediation's status, the Machine's
conditions, Events. Liveness mirroring onto the ElementalMachine and the Machine too."""

from __future__ import annotations

import datetime
from typing import Any

from kubernetes import client as k8s

from elemental_core.hosts import seen_timestamp
from elemental_core.vocabulary import (
    EVENT_HOST_RECOVERED,
    EVENT_MACHINE_REPLACEMENT_REQUESTED,
    EVENT_REBOOT_ACCEPTED,
    EVENT_REBOOT_REQUESTED,
    EVENT_REBOOT_TIMED_OUT,
    EVENT_REMEDIATION_ENDED,
)
from elemental_kube.objects import Kube
from elemental_operator.manager import connect
from tests.controlplane import ControlPlane
from tests.helpers import wait_for
from tests.operator.capi import (
    EMS,
    HOSTS,
    MACHINES,
    REMEDIATIONS,
    Capi,
    Downstream,
    condition,
    reason,
)
from tests.operator.conftest import settings

MACHINE = "em-machine"


def remediated_machine(capi: Capi, **strategy: Any) -> tuple[dict[str, Any], str]:
    """A host associated with Machine em-machine, and the remediation a MachineHealthCheck
    creates for it; returns the remediation and its first reboot request's id."""
    capi.cluster()
    capi.host("host", bootstrapped=True)
    capi.machine_pair("em")
    capi.wait(EMS, "em", lambda o: (o["spec"].get("hostRef") or {}).get("name") == "host")
    machine = capi.get(MACHINES, MACHINE) or {}
    body = {
        "metadata": {
            "labels": {"cluster.x-k8s.io/cluster-name": "cluster"},
            "ownerReferences": [capi.owner_reference(machine)],
        },
        "spec": {"strategy": {"type": "Reboot", **strategy}},
    }
    created = capi.create(REMEDIATIONS, MACHINE, body)
    return created, f"{created['metadata']['uid']}-1"


def phase(capi: Capi) -> str | None:
    return ((capi.get(REMEDIATIONS, MACHINE) or {}).get("status") or {}).get("phase")


def host_request(capi: Capi) -> str | None:
    return ((capi.get(HOSTS, "host") or {}).get("spec") or {}).get("rebootRequest")


def events(core: k8s.CoreV1Api, namespace: str) -> list[str]:
    listing = core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={MACHINE}")
    ordered = sorted(listing.items, key=lambda e: e.metadata.name)
    return [e.reason for e in ordered if e.involved_object.kind == "ElementalRemediation"]


def wait_events(core: k8s.CoreV1Api, namespace: str, *expected: str) -> None:
    wait_for(lambda: set(expected) <= set(events(core, namespace)), 20, f"events {expected}")


def check_in(capi: Capi) -> None:
    """What the API records of an agent's check-in."""
    capi.patch_status(
        HOSTS, "host", {"lastSeen": seen_timestamp(datetime.datetime.now(datetime.UTC).timestamp())}
    )


def test_a_reboot_taken_and_a_host_back_recover(
    start_operator: Any, capi: Capi, core: k8s.CoreV1Api, kube_namespace: str
) -> None:
    start_operator(settings(heartbeat_interval=30.0, heartbeat_grace=5.0))
    remediation, request = remediated_machine(capi, retryLimit=1, rebootTimeoutSeconds=60)

    capi.wait(HOSTS, "host", lambda o: o["spec"].get("rebootRequest") == request)
    status = capi.wait(REMEDIATIONS, MACHINE, lambda o: (o.get("status") or {}).get("phase") == "Rebooting")[
        "status"
    ]
    assert (status["retryCount"], status["rebootRequest"]) == (1, request)
    machine = capi.wait_reason(MACHINES, MACHINE, "ExternallyRemediated", "Rebooting")
    assert (condition(machine, "ExternallyRemediated") or {})["status"] == "False"
    wait_events(core, kube_namespace, EVENT_REBOOT_REQUESTED)

    # The agent takes the request (then reboots): the operator waits for it to be back.
    capi.patch_status(HOSTS, "host", {"rebootAccepted": request})
    capi.wait(REMEDIATIONS, MACHINE, lambda o: o["status"].get("phase") == "WaitingForRecovery")
    capi.wait_reason(MACHINES, MACHINE, "ExternallyRemediated", "WaitingForRecovery")
    assert host_request(capi) == request
    wait_events(core, kube_namespace, EVENT_REBOOT_ACCEPTED)

    # Its first check-in after the reboot: reachable, and the Machine has no Node to wait for.
    check_in(capi)
    capi.wait(REMEDIATIONS, MACHINE, lambda o: o["status"].get("phase") == "Recovered")
    capi.wait(HOSTS, "host", lambda o: "rebootRequest" not in o["spec"])
    machine = capi.wait_reason(MACHINES, MACHINE, "ExternallyRemediated", "Recovered")
    assert (condition(machine, "ExternallyRemediated") or {})["status"] == "True"
    wait_events(core, kube_namespace, EVENT_HOST_RECOVERED)

    # The MachineHealthCheck finds the Machine healthy and deletes the remediation.
    capi.delete(REMEDIATIONS, MACHINE)
    capi.wait_gone(REMEDIATIONS, MACHINE)
    capi.wait(MACHINES, MACHINE, lambda o: condition(o, "ExternallyRemediated") is None)
    wait_events(core, kube_namespace, EVENT_REMEDIATION_ENDED)
    assert remediation["metadata"]["name"] == MACHINE


def test_an_unanswered_reboot_asks_for_a_replacement(
    start_operator: Any, capi: Capi, core: k8s.CoreV1Api, kube_namespace: str
) -> None:
    """A Go agent never takes the request: after retryLimit timed-out attempts the Machine's
    owner is asked to replace it."""
    start_operator()
    _, request = remediated_machine(capi, retryLimit=1, rebootTimeoutSeconds=1)
    capi.wait(HOSTS, "host", lambda o: o["spec"].get("rebootRequest") == request)

    capi.wait(REMEDIATIONS, MACHINE, lambda o: (o.get("status") or {}).get("phase") == "ReplacingMachine")
    machine = capi.wait_reason(MACHINES, MACHINE, "OwnerRemediated", "WaitingForRemediation")
    assert (condition(machine, "OwnerRemediated") or {})["status"] == "False"
    assert reason(machine, "ExternallyRemediated") == "ReplacingMachine"
    capi.wait(HOSTS, "host", lambda o: "rebootRequest" not in o["spec"])
    wait_events(
        core,
        kube_namespace,
        EVENT_REBOOT_REQUESTED,
        EVENT_REBOOT_TIMED_OUT,
        EVENT_MACHINE_REPLACEMENT_REQUESTED,
    )


def test_host_liveness_is_mirrored_onto_the_machines(start_operator: Any, capi: Capi) -> None:
    start_operator(settings(heartbeat_interval=1.0, heartbeat_grace=0.5))
    capi.cluster()
    capi.host("host", bootstrapped=True)
    capi.machine_pair("em")
    capi.wait(EMS, "em", lambda o: (o["spec"].get("hostRef") or {}).get("name") == "host")
    check_in(capi)
    em = capi.wait_reason(EMS, "em", "HostReachable", "CheckedIn")
    assert (condition(em, "HostReachable") or {})["status"] == "True"
    machine = capi.wait_reason(MACHINES, MACHINE, "HostReachable", "CheckedIn")
    assert set(condition(machine, "HostReachable") or {}) == {
        "type",
        "status",
        "reason",
        "message",
        "observedGeneration",
        "lastTransitionTime",
    }

    # Silent for two intervals plus the grace: unreachable, on both, with the host's message.
    machine = capi.wait_reason(MACHINES, MACHINE, "HostReachable", "CheckInOverdue")
    em = capi.wait_reason(EMS, "em", "HostReachable", "CheckInOverdue")
    host = capi.get(HOSTS, "host")
    assert (condition(machine, "HostReachable") or {})["message"] == (condition(host, "HostReachable") or {})[
        "message"
    ]
    assert (condition(em, "HostReachable") or {})["status"] == "False"


# -- elemental_kube: Events and the workload cluster's Nodes ------------------------------------


def test_an_event_that_cannot_be_written_is_no_failure(control_plane: ControlPlane) -> None:
    kube: Kube = connect(str(control_plane.kubeconfig_path))
    try:
        about = {
            "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
            "kind": "ElementalRemediation",
            "metadata": {"name": "x", "namespace": "no-such-namespace", "uid": "u"},
        }
        kube.record_event(about, "Normal", "RebootRequested", "a message")  # 404: logged, not raised
    finally:
        kube.close()


def test_a_nodes_readiness_is_read_from_the_workload_cluster(
    control_plane: ControlPlane, downstream: Downstream, kube_namespace: str
) -> None:
    kube: Kube = connect(str(control_plane.kubeconfig_path))
    node = f"ready-{kube_namespace}"
    try:
        assert kube.node_ready(downstream.kubeconfig, node) is None
        downstream.create_node(node)
        assert kube.node_ready(downstream.kubeconfig, node) is False
        at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        ready = {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": at,
            "lastTransitionTime": at,
        }
        downstream.core.patch_node_status(node, {"status": {"conditions": [ready]}})
        assert kube.node_ready(downstream.kubeconfig, node) is True
    finally:
        kube.close()


def test_a_machine_with_a_node_recovers_once_its_node_is_ready(
    start_operator: Any, capi: Capi, downstream: Downstream
) -> None:
    """The Node is read through the workload cluster's kubeconfig, as for the providerID."""
    start_operator(settings(heartbeat_interval=30.0, heartbeat_grace=5.0))
    node = f"rebooted-{capi.suffix}"
    downstream.create_node(node)
    capi.kubeconfig_secret("cluster", downstream)
    _, request = remediated_machine(capi, rebootTimeoutSeconds=60, recoveryTimeoutSeconds=120)
    capi.patch_status(MACHINES, MACHINE, {"nodeRef": {"name": node}})
    capi.wait(HOSTS, "host", lambda o: o["spec"].get("rebootRequest") == request)
    capi.patch_status(HOSTS, "host", {"rebootAccepted": request})
    machine = capi.wait_reason(MACHINES, MACHINE, "ExternallyRemediated", "WaitingForRecovery")
    assert f"and Node '{node}' to be Ready" in (condition(machine, "ExternallyRemediated") or {})["message"]

    check_in(capi)  # the host is back, its Node is not Ready yet
    capi.wait(HOSTS, "host", lambda o: reason(o, "HostReachable") == "CheckedIn")
    assert phase(capi) == "WaitingForRecovery"

    at = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "",
        "lastHeartbeatTime": at,
    }
    downstream.core.patch_node_status(node, {"status": {"conditions": [{**ready, "lastTransitionTime": at}]}})
    capi.wait(REMEDIATIONS, MACHINE, lambda o: o["status"].get("phase") == "Recovered")
    capi.wait(HOSTS, "host", lambda o: "rebootRequest" not in o["spec"])
