"""ElementalRemediation decisions: each step (Rebooting, WaitingForRecovery, Recovered), its
timeout (from status.lastRemediated, woken by a requeue at the deadline), the retry limit,
escalation to the Machine's owner, the missing Machine or host, the finalizer's clean-up,
pause, and Machine writes that conflict with Cluster API's."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.hosts import seen_timestamp
from elemental_core.vocabulary import (
    ANNOTATION_PAUSED,
    CHECKED_IN,
    CLUSTERS,
    ELEMENTAL_MACHINES,
    EVENT_HOST_RECOVERED,
    EVENT_MACHINE_REPLACEMENT_REQUESTED,
    EVENT_REBOOT_ACCEPTED,
    EVENT_REBOOT_REQUESTED,
    EVENT_REBOOT_TIMED_OUT,
    EVENT_RECOVERY_TIMED_OUT,
    EVENT_REMEDIATION_ENDED,
    EVENT_REMEDIATION_FAILED,
    EXTERNALLY_REMEDIATED,
    HEALTH_CHECK_SUCCEEDED,
    HOST_REACHABLE,
    HOSTS,
    LABEL_CLUSTER_NAME,
    MACHINES,
    OWNER_REMEDIATED,
    REMEDIATION_FAILED,
    REMEDIATION_FINALIZER,
    REMEDIATION_REBOOTING,
    REMEDIATION_RECOVERED,
    REMEDIATION_REPLACING_MACHINE,
    REMEDIATION_WAITING_FOR_RECOVERY,
    REMEDIATIONS,
    WAITING_FOR_REMEDIATION,
)
from elemental_operator.controllers.base import Result
from elemental_operator.controllers.elementalremediation import ElementalRemediationController
from tests.unit.operator.scene import KUBECONFIG, NS, REQUEUE, Scene, condition, owner_reference
from tests.unit.operator.test_machine import associated_scene

MACHINE = "em-machine"
T0 = 1_780_000_000.0
REBOOT_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def remediation(scene: Scene, retry_limit: int = 1, **strategy: Any) -> dict[str, Any]:
    """What a MachineHealthCheck creates: named after the Machine, owned by it."""
    machine = scene.get(MACHINES, MACHINE)
    metadata: dict[str, Any] = {"name": MACHINE, "namespace": NS, "labels": {LABEL_CLUSTER_NAME: "cluster"}}
    if machine is not None:
        metadata["ownerReferences"] = [owner_reference(machine)]
    spec = {
        "strategy": {
            "type": "Reboot",
            "retryLimit": retry_limit,
            "rebootTimeoutSeconds": REBOOT_TIMEOUT,
            "recoveryTimeoutSeconds": RECOVERY_TIMEOUT,
            **strategy,
        }
    }
    return scene.kube.add(REMEDIATIONS, {"metadata": metadata, "spec": spec})


def remediating(scene: Scene, retry_limit: int = 1, node: bool = False) -> str:
    """An associated, bootstrapped host and its remediation; returns the remediation's uid."""
    associated_scene(scene, bootstrapped=True, initialized=True)
    if node:
        scene.kubeconfig()
        scene.kube.change(
            MACHINES, NS, MACHINE, lambda o: o.setdefault("status", {}).update(nodeRef={"name": "host"})
        )
    return str(remediation(scene, retry_limit)["metadata"]["uid"])


def reconcile(scene: Scene, clock: Clock) -> Result:
    """A fresh controller each time: nothing is kept in memory between passes (a restart)."""
    return ElementalRemediationController(scene.kube, scene.settings, clock=clock).reconcile(NS, MACHINE)


def status(scene: Scene) -> dict[str, Any]:
    found: dict[str, Any] = (scene.get(REMEDIATIONS, MACHINE) or {}).get("status") or {}
    return found


def host_request(scene: Scene) -> str | None:
    return ((scene.get(HOSTS, "host") or {}).get("spec") or {}).get("rebootRequest")


def machine_condition(scene: Scene, kind: str) -> tuple[str, str] | None:
    found = condition(scene.get(MACHINES, MACHINE), kind)
    return None if found is None else (found["status"], found["reason"])


def event_reasons(scene: Scene) -> list[str]:
    return [
        reason
        for kind, name, _, reason, _ in scene.kube.events
        if (kind, name) == (REMEDIATIONS.kind, MACHINE)
    ]


def agent_accepts(scene: Scene, request: str) -> None:
    scene.kube.change(HOSTS, NS, "host", lambda o: o.setdefault("status", {}).update(rebootAccepted=request))


def agent_checks_in(scene: Scene, at: float) -> None:
    """The API's record of a check-in, and the host controller's verdict on it."""

    def write(obj: dict[str, Any]) -> None:
        status_ = obj.setdefault("status", {})
        status_["lastSeen"] = seen_timestamp(at)
        others = [c for c in status_.get("conditions") or [] if c["type"] != HOST_REACHABLE]
        reachable = {"type": HOST_REACHABLE, "status": "True", "reason": CHECKED_IN, "severity": "Info"}
        status_["conditions"] = [*others, reachable]

    scene.kube.change(HOSTS, NS, "host", write)


def accepted(scene: Scene, clock: Clock, uid: str) -> None:
    """Rebooting, then the agent takes the request: WaitingForRecovery."""
    reconcile(scene, clock)
    clock.now += 5
    agent_accepts(scene, f"{uid}-1")
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_WAITING_FOR_RECOVERY


# -- Rebooting ----------------------------------------------------------------------------------


def test_the_first_pass_asks_the_host_to_reboot(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene)
    result = reconcile(scene, clock)

    assert result == Result(requeue_after=REBOOT_TIMEOUT)
    assert host_request(scene) == f"{uid}-1"
    assert status(scene) == {
        "phase": REMEDIATION_REBOOTING,
        "retryCount": 1,
        "rebootRequest": f"{uid}-1",
        "lastRemediated": seen_timestamp(T0),
    }
    assert REMEDIATION_FINALIZER in (scene.get(REMEDIATIONS, MACHINE) or {})["metadata"]["finalizers"]
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED]
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) == ("False", REMEDIATION_REBOOTING)
    message = (condition(scene.get(MACHINES, MACHINE), EXTERNALLY_REMEDIATED) or {})["message"]
    assert f"Waiting up to 30s for ElementalHost 'host' to take reboot request {uid}-1" in message


def test_a_request_not_taken_yet_is_waited_for_until_its_deadline(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    reconcile(scene, clock)
    written = scene.get(REMEDIATIONS, MACHINE), scene.get(HOSTS, "host"), scene.get(MACHINES, MACHINE)
    clock.now += 10
    assert reconcile(scene, clock) == Result(requeue_after=pytest.approx(REBOOT_TIMEOUT - 10))
    assert (
        scene.get(REMEDIATIONS, MACHINE),
        scene.get(HOSTS, "host"),
        scene.get(MACHINES, MACHINE),
    ) == written
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED]


def test_a_request_taken_waits_for_recovery(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene)
    reconcile(scene, clock)
    clock.now += 5
    agent_accepts(scene, f"{uid}-1")
    result = reconcile(scene, clock)

    assert result == Result(requeue_after=REQUEUE)  # the Node is read, not watched
    assert status(scene)["phase"] == REMEDIATION_WAITING_FOR_RECOVERY
    assert status(scene)["lastRemediated"] == seen_timestamp(T0 + 5)
    assert host_request(scene) == f"{uid}-1"  # until the host is back
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_ACCEPTED]
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) == ("False", REMEDIATION_WAITING_FOR_RECOVERY)


def test_a_timed_out_request_is_followed_by_the_next_attempt(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene, retry_limit=2)
    reconcile(scene, clock)
    clock.now += REBOOT_TIMEOUT
    assert reconcile(scene, clock) == Result(requeue_after=REBOOT_TIMEOUT)

    assert host_request(scene) == f"{uid}-2"
    assert status(scene)["retryCount"] == 2
    assert status(scene)["rebootRequest"] == f"{uid}-2"
    assert status(scene)["lastRemediated"] == seen_timestamp(T0 + REBOOT_TIMEOUT)
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_TIMED_OUT, EVENT_REBOOT_REQUESTED]


def test_an_acknowledgement_of_an_earlier_attempt_is_not_this_one(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene, retry_limit=2)
    reconcile(scene, clock)
    clock.now += REBOOT_TIMEOUT
    reconcile(scene, clock)
    agent_accepts(scene, f"{uid}-1")  # a late agent answering the first request
    clock.now += 1
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_REBOOTING
    assert host_request(scene) == f"{uid}-2"


def test_the_last_timed_out_attempt_asks_for_a_replacement(scene: Scene, clock: Clock) -> None:
    remediating(scene, retry_limit=1)
    reconcile(scene, clock)
    clock.now += REBOOT_TIMEOUT
    assert reconcile(scene, clock) == Result()

    assert status(scene)["phase"] == REMEDIATION_REPLACING_MACHINE
    assert "rebootRequest" not in status(scene)
    assert host_request(scene) is None
    assert machine_condition(scene, OWNER_REMEDIATED) == ("False", WAITING_FOR_REMEDIATION)
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) == ("False", REMEDIATION_REPLACING_MACHINE)
    assert event_reasons(scene) == [
        EVENT_REBOOT_REQUESTED,
        EVENT_REBOOT_TIMED_OUT,
        EVENT_MACHINE_REPLACEMENT_REQUESTED,
    ]
    # The end: the Machine's owner replaces it; nothing more is done or written here.
    written = scene.get(REMEDIATIONS, MACHINE), scene.get(MACHINES, MACHINE)
    clock.now += 1000
    assert reconcile(scene, clock) == Result()
    assert (scene.get(REMEDIATIONS, MACHINE), scene.get(MACHINES, MACHINE)) == written


def test_a_request_withdrawn_by_someone_else_is_asked_again(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene)
    reconcile(scene, clock)
    scene.kube.change(HOSTS, NS, "host", lambda o: o["spec"].pop("rebootRequest"))
    clock.now += 1
    reconcile(scene, clock)
    assert host_request(scene) == f"{uid}-1"


# -- WaitingForRecovery, Recovered ----------------------------------------------------------------


def test_a_host_back_after_the_reboot_and_its_ready_node_recover(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene, node=True)
    accepted(scene, clock, uid)
    clock.now += 20
    agent_checks_in(scene, clock.now - 1)
    scene.kube.node_readiness["host"] = True
    assert reconcile(scene, clock) == Result(requeue_after=RECOVERY_TIMEOUT)

    assert status(scene)["phase"] == REMEDIATION_RECOVERED
    assert "rebootRequest" not in status(scene)
    assert host_request(scene) is None
    assert scene.kube.kubeconfigs_used[-1] == KUBECONFIG
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) == ("True", REMEDIATION_RECOVERED)
    assert event_reasons(scene)[-1] == EVENT_HOST_RECOVERED


@pytest.mark.parametrize(
    "why",
    ["no check-in since the acknowledgement", "node not ready", "no node", "no kubeconfig"],
)
def test_recovery_needs_a_check_in_after_the_reboot_and_a_ready_node(
    scene: Scene, clock: Clock, why: str
) -> None:
    uid = remediating(scene, node=True)
    accepted(scene, clock, uid)
    clock.now += 20
    agent_checks_in(scene, T0 + 4 if why.startswith("no check-in") else clock.now - 1)
    scene.kube.node_readiness["host"] = why != "node not ready"
    if why == "no node":
        del scene.kube.node_readiness["host"]
    if why == "no kubeconfig":
        scene.kube.secrets.clear()
    assert reconcile(scene, clock) == Result(requeue_after=REQUEUE)
    assert status(scene)["phase"] == REMEDIATION_WAITING_FOR_RECOVERY


def test_a_machine_without_a_node_recovers_on_liveness_alone(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene, node=False)
    accepted(scene, clock, uid)
    clock.now += 20
    agent_checks_in(scene, clock.now - 1)
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_RECOVERED
    assert scene.kube.kubeconfigs_used == []


def test_a_host_not_back_in_time_is_rebooted_again_then_replaced(scene: Scene, clock: Clock) -> None:
    uid = remediating(scene, retry_limit=2)
    accepted(scene, clock, uid)
    clock.now += RECOVERY_TIMEOUT - 1
    assert reconcile(scene, clock) == Result(requeue_after=pytest.approx(1))
    clock.now += 1
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_REBOOTING
    assert host_request(scene) == f"{uid}-2"
    assert EVENT_RECOVERY_TIMED_OUT in event_reasons(scene)

    clock.now += 1
    agent_accepts(scene, f"{uid}-2")
    reconcile(scene, clock)
    clock.now += RECOVERY_TIMEOUT
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_REPLACING_MACHINE
    assert machine_condition(scene, OWNER_REMEDIATED) == ("False", WAITING_FOR_REMEDIATION)


@pytest.mark.parametrize("healthy", [True, False])
def test_a_recovered_machine_still_unhealthy_later_is_not_recovered(
    scene: Scene, clock: Clock, healthy: bool
) -> None:
    uid = remediating(scene, retry_limit=1)
    accepted(scene, clock, uid)
    clock.now += 1
    agent_checks_in(scene, clock.now)
    clock.now += 1
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_RECOVERED
    health = {"type": HEALTH_CHECK_SUCCEEDED, "status": "True" if healthy else "False", "reason": "X"}
    scene.kube.change(MACHINES, NS, MACHINE, lambda o: o["status"]["conditions"].append(health))
    clock.now += RECOVERY_TIMEOUT
    reconcile(scene, clock)
    expected = REMEDIATION_RECOVERED if healthy else REMEDIATION_REPLACING_MACHINE
    assert status(scene)["phase"] == expected


# -- nothing to reboot ----------------------------------------------------------------------------


def test_without_a_machine_the_remediation_fails(scene: Scene, clock: Clock) -> None:
    remediation(scene)  # no Machine at all
    assert reconcile(scene, clock) == Result()
    assert status(scene)["phase"] == REMEDIATION_FAILED
    assert event_reasons(scene) == [EVENT_REMEDIATION_FAILED]


def test_without_a_host_the_machine_is_replaced_at_once(scene: Scene, clock: Clock) -> None:
    scene.cluster()
    scene.machine_pair()  # its ElementalMachine never got a host
    remediation(scene)
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_REPLACING_MACHINE
    assert machine_condition(scene, OWNER_REMEDIATED) == ("False", WAITING_FOR_REMEDIATION)


def test_a_retry_limit_of_zero_replaces_the_machine_without_a_reboot(scene: Scene, clock: Clock) -> None:
    remediating(scene, retry_limit=0)
    reconcile(scene, clock)
    assert status(scene)["phase"] == REMEDIATION_REPLACING_MACHINE
    assert status(scene).get("retryCount") is None
    assert host_request(scene) is None
    assert event_reasons(scene) == [EVENT_MACHINE_REPLACEMENT_REQUESTED]


# -- deletion, pause, conflicts -------------------------------------------------------------------


def test_deletion_withdraws_the_request_and_the_machines_condition(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    reconcile(scene, clock)
    scene.kube.delete(REMEDIATIONS, NS, MACHINE)
    reconcile(scene, clock)
    assert scene.get(REMEDIATIONS, MACHINE) is None  # its finalizer released
    assert host_request(scene) is None
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) is None


def test_deletion_says_the_remediation_ended_and_in_which_phase(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    reconcile(scene, clock)
    scene.kube.delete(REMEDIATIONS, NS, MACHINE)
    reconcile(scene, clock)
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED, EVENT_REMEDIATION_ENDED]
    message = scene.kube.events[-1][4]
    assert "found Machine" in message and "healthy" in message and "Rebooting" in message, message


def test_a_reboot_taken_just_before_the_deletion_is_still_said(scene: Scene, clock: Clock) -> None:
    """The MachineHealthCheck may delete the remediation before the controller saw the ack."""
    remediating(scene)
    reconcile(scene, clock)
    request = host_request(scene)
    assert request is not None
    agent_accepts(scene, request)
    scene.kube.delete(REMEDIATIONS, NS, MACHINE)
    reconcile(scene, clock)
    assert event_reasons(scene) == [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_ACCEPTED, EVENT_REMEDIATION_ENDED]


def test_deletion_with_the_machine_says_the_machine_went(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    reconcile(scene, clock)
    scene.kube.delete(MACHINES, NS, MACHINE)
    scene.kube.delete(REMEDIATIONS, NS, MACHINE)
    reconcile(scene, clock)
    assert event_reasons(scene)[-1] == EVENT_REMEDIATION_ENDED
    assert f"Machine '{MACHINE}' deleted" in scene.kube.events[-1][4]


def test_deletion_leaves_another_remediations_request_alone(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    reconcile(scene, clock)
    scene.kube.change(HOSTS, NS, "host", lambda o: o["spec"].update(rebootRequest="someone-else-1"))
    scene.kube.delete(REMEDIATIONS, NS, MACHINE)
    reconcile(scene, clock)
    assert host_request(scene) == "someone-else-1"


@pytest.mark.parametrize("how", ["cluster", "annotation"])
def test_a_paused_remediation_does_nothing(scene: Scene, clock: Clock, how: str) -> None:
    remediating(scene)
    if how == "cluster":
        scene.kube.change(CLUSTERS, NS, "cluster", lambda o: o["spec"].update(paused=True))
    else:
        scene.kube.change(
            REMEDIATIONS, NS, MACHINE, lambda o: o["metadata"].update(annotations={ANNOTATION_PAUSED: ""})
        )
    written = scene.get(REMEDIATIONS, MACHINE), scene.get(HOSTS, "host"), scene.get(MACHINES, MACHINE)
    assert reconcile(scene, clock) == Result()
    assert (
        scene.get(REMEDIATIONS, MACHINE),
        scene.get(HOSTS, "host"),
        scene.get(MACHINES, MACHINE),
    ) == written
    assert scene.kube.events == []


def test_a_machine_changed_by_cluster_api_meanwhile_is_written_again(scene: Scene, clock: Clock) -> None:
    remediating(scene)
    theirs = {"type": HEALTH_CHECK_SUCCEEDED, "status": "False", "reason": "UnhealthyNode", "message": ""}
    scene.kube.before_next_write(
        MACHINES, NS, MACHINE, lambda o: o.setdefault("status", {}).update(conditions=[theirs])
    )
    reconcile(scene, clock)
    assert machine_condition(scene, EXTERNALLY_REMEDIATED) == ("False", REMEDIATION_REBOOTING)
    assert condition(scene.get(MACHINES, MACHINE), HEALTH_CHECK_SUCCEEDED) == theirs


# -- watches ---------------------------------------------------------------------------------------


def test_the_host_machines_and_cluster_wake_the_remediation(scene: Scene) -> None:
    remediating(scene)
    controller = ElementalRemediationController(scene.kube, scene.settings)
    watches = controller.watches()
    key = [(NS, MACHINE)]
    assert watches[HOSTS](scene.get(HOSTS, "host") or {}) == key
    assert watches[ELEMENTAL_MACHINES](scene.get(ELEMENTAL_MACHINES, "em") or {}) == key
    assert watches[MACHINES](scene.get(MACHINES, MACHINE) or {}) == key
    assert watches[CLUSTERS](scene.get(CLUSTERS, "cluster") or {}) == key
    scene.kube.objects[REMEDIATIONS].clear()
    assert watches[HOSTS](scene.get(HOSTS, "host") or {}) == []  # no remediation: nothing to wake
