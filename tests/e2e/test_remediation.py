"""Remediation without a BMC, end to end with Cluster API's own controllers: a
MachineHealthCheck whose `remediation.templateRef` names an ElementalRemediationTemplate makes
CAPI create an ElementalRemediation for an unhealthy Machine; the operator asks its host to
reboot through the host's check-in, waits for it to come back, and asks the Machine's owner to
replace it when it does not.

The world of test_real_capi.py (CAPI's core manager and the garbage collector over a
management control plane, the API and the operator as processes, agents with the dummy
plugin, a workload kube-apiserver whose kubelet the test plays), with liveness made short: the
API records a check-in every 2 s at most, the operator says a host is unreachable after 2
intervals plus 2 s of grace. A MachineDeployment of 2 on a fleet of 3: one host is spare.

The tests are the steps of one story and run in order (`incremental`): a host that stops
checking in is rebooted and keeps its Machine; a host that never comes back has its Machine
replaced and resets when it is powered on again; a host running the Go agent (which ignores
reboot requests) has its Machine replaced once the reboot times out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from elemental_core.vocabulary import (
    CHECK_IN_OVERDUE,
    EVENT_HOST_RECOVERED,
    EVENT_MACHINE_REPLACEMENT_REQUESTED,
    EVENT_REBOOT_ACCEPTED,
    EVENT_REBOOT_REQUESTED,
    EVENT_REBOOT_TIMED_OUT,
    EVENT_REMEDIATION_ENDED,
    EXTERNALLY_REMEDIATED,
    HEALTH_CHECK_SUCCEEDED,
    HOST_REACHABLE,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
    OWNER_REMEDIATED,
    REMEDIATION_REBOOTING,
    REMEDIATIONS,
)
from tests.controlplane import ControlPlane
from tests.e2e.capi_world import (
    CLUSTERS,
    CONTROL_PLANES,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_HOSTS,
    ELEMENTAL_MACHINE_TEMPLATES,
    ELEMENTAL_MACHINES,
    ELEMENTAL_REGISTRATIONS,
    ELEMENTAL_REMEDIATION_TEMPLATES,
    ELEMENTAL_REMEDIATIONS,
    HEALTH_CHECKS,
    LABEL_CLUSTER_NAME,
    LABEL_DEPLOYMENT_NAME,
    MACHINE_DEPLOYMENTS,
    MACHINES,
    Fleet,
    FleetHost,
    Kubelet,
    Management,
    Obj,
    Objects,
    cluster_body,
    condition,
    elemental_cluster_body,
    health_check_body,
    host_of,
    installed,
    issued_registration,
    labels,
    machine_deployment_body,
    machine_template_body,
    registration_body,
    remediation_template_body,
    running_machines,
)
from tests.e2e.processes import ApiProcess, OperatorProcess
from tests.e2e.scenario import bootstrap_secret, kubeconfig_secret
from tests.helpers import wait_for

pytestmark = pytest.mark.incremental

CLUSTER = "heal"
DEPLOYMENT = "heal-workers"
TEMPLATE = "reboot-once"
HEARTBEAT_INTERVAL = 2.0
HEARTBEAT_GRACE = 2.0
RETRY_LIMIT = 1
# The agent takes a request at its next check-in (every 0.5 s): 10 s leave room on a loaded
# machine and keep the waits of the hosts that never take it short.
REBOOT_TIMEOUT = 10
RECOVERY_TIMEOUT = 60
# The Events of a remediation whose reboots nobody takes.
UNANSWERED = [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_TIMED_OUT] * RETRY_LIMIT + [
    EVENT_MACHINE_REPLACEMENT_REQUESTED,
    EVENT_REMEDIATION_ENDED,
]
CONVERGE = 240.0
STEP_TIMEOUT = 900


@dataclass
class World:
    workdir: Path
    workload: ControlPlane
    management: Management
    api: ApiProcess
    kubelet: Kubelet
    operator: OperatorProcess
    objects: Objects
    fleet: Fleet | None = None
    rebooted_machine: str | None = None  # the Machine kept by a reboot
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def hosts(self) -> Fleet:
        assert self.fleet is not None
        return self.fleet

    def converge(self, condition: Any, what: str, timeout: float = CONVERGE) -> Any:
        """Waits for `condition` while the hosts live their lives."""

        def stepped() -> Any:
            if self.fleet is not None:
                self.fleet.step()
            return condition()

        return wait_for(stepped, what=what, timeout=timeout, interval=0.25)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("remediation")
    with contextlib.ExitStack() as stack:
        workload = stack.enter_context(ControlPlane())
        management = stack.enter_context(Management(workdir, "management"))
        management.cp.create_namespace(CLUSTER)
        api = ApiProcess(
            workdir / "api", kubeconfig=management.cp.kubeconfig_path, heartbeat_interval=HEARTBEAT_INTERVAL
        )
        api.start()
        stack.callback(api.stop)
        kubelet = Kubelet(workload)
        stack.callback(kubelet.close)
        operator = OperatorProcess(
            kubeconfig=management.cp.kubeconfig_path,
            api_endpoint=api.base_url,
            log_path=workdir / "operator.log",
            heartbeat_interval=HEARTBEAT_INTERVAL,
            heartbeat_grace=HEARTBEAT_GRACE,
        ).start(timeout=120)
        stack.callback(operator.stop)
        objects = management.objects(CLUSTER)
        stack.callback(objects.close)
        world = World(workdir, workload, management, api, kubelet, operator, objects)
        try:
            yield world
        finally:
            if world.fleet is not None:
                world.fleet.stop_all()


# -- what the steps look at ----------------------------------------------------------------


def machines_running(world: World, count: int) -> list[Obj]:
    def running() -> list[Obj] | None:
        machines = running_machines(world.objects, DEPLOYMENT)
        every = world.objects.items(MACHINES, **{LABEL_DEPLOYMENT_NAME: DEPLOYMENT})
        return machines if len(machines) == count == len(every) else None

    found: list[Obj] = world.converge(running, what=f"{count} Machines Running with a nodeRef")
    return found


def reachable(obj: Obj | None) -> str | None:
    """The status of the object's HostReachable condition (None without one)."""
    found = condition(obj, HOST_REACHABLE)
    return None if found is None else str(found["status"])


def liveness_everywhere(world: World, machine: Obj, host: str) -> list[str | None]:
    """HostReachable's status on the host, its ElementalMachine and its Machine."""
    objects = world.objects
    return [
        reachable(objects.get(ELEMENTAL_HOSTS, host)),
        reachable(objects.get(ELEMENTAL_MACHINES, machine["spec"]["infrastructureRef"]["name"])),
        reachable(objects.get(MACHINES, machine["metadata"]["name"])),
    ]


def health_check_counts(world: World) -> tuple[int, int]:
    status = (world.objects.get(HEALTH_CHECKS, DEPLOYMENT) or {}).get("status") or {}
    return int(status.get("expectedMachines") or 0), int(status.get("currentHealthy") or 0)


def reboot_request(world: World, host: str) -> str | None:
    spec = (world.objects.get(ELEMENTAL_HOSTS, host) or {}).get("spec") or {}
    request: str | None = spec.get("rebootRequest")
    return request


def remediation_events(world: World, remediation: Obj) -> list[str]:
    assert remediation["kind"] == REMEDIATIONS.kind
    return world.objects.events(remediation["metadata"]["uid"])


def ended_remediation_events(world: World, remediation: Obj) -> list[str]:
    """The Events of a remediation that is gone, once the last one (RemediationEnded, written
    as its finalizer is released) is there."""

    def ended() -> list[str] | None:
        found = remediation_events(world, remediation)
        return found if found[-1:] == [EVENT_REMEDIATION_ENDED] else None

    name = remediation["metadata"]["name"]
    events: list[str] = world.converge(ended, what=f"ElementalRemediation {name}'s Events up to its end")
    return events


def remediation_created(world: World, machine: str) -> Obj:
    remediation: Obj = world.converge(
        lambda: world.objects.get(ELEMENTAL_REMEDIATIONS, machine),
        what=f"an ElementalRemediation for Machine {machine}",
    )
    return remediation


def free_host(objects: Objects, name: str) -> Obj | None:
    """The host, installed and taken by no machine."""
    host = installed(objects, name)
    if host is None or LABEL_ELEMENTAL_MACHINE_NAME in labels(host) or LABEL_NEEDS_RESET in labels(host):
        return None
    return host


def spare(world: World, taken: set[str]) -> FleetHost:
    (host,) = [h for h in world.hosts.hosts if h.name not in taken]
    return host


def replaced(world: World, gone: str) -> list[Obj] | None:
    """Two Machines running again, `gone` no longer there."""
    if world.objects.get(MACHINES, gone) is not None:
        return None
    machines = running_machines(world.objects, DEPLOYMENT)
    every = world.objects.items(MACHINES, **{LABEL_DEPLOYMENT_NAME: DEPLOYMENT})
    return machines if len(machines) == 2 == len(every) else None


class Observed:
    """What a wait saw on the way (states that may last less than one poll are not asserted
    on: only recorded for the failure message)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def note(self, what: str) -> None:
        if not self.seen or self.seen[-1] != what:
            self.seen.append(what)


def remediation_status(world: World, machine: str) -> Obj:
    status: Obj = (world.objects.get(ELEMENTAL_REMEDIATIONS, machine) or {}).get("status") or {}
    return status


def remediation_phase(world: World, machine: str) -> str | None:
    remediation = world.objects.get(ELEMENTAL_REMEDIATIONS, machine)
    if remediation is None:
        return None
    return str(((remediation.get("status") or {}).get("phase")) or "")


# -- the story -----------------------------------------------------------------------------


@pytest.mark.timeout(STEP_TIMEOUT)
def test_machines_run_under_a_health_check_that_remediates_by_reboot(world: World) -> None:
    objects = world.objects
    objects.create(ELEMENTAL_REGISTRATIONS, registration_body("hosts"))
    registration = issued_registration(objects, "hosts")
    world.fleet = Fleet(world.workdir / "hosts", world.kubelet)
    for host in world.fleet.boot(registration, 3):
        wait_for(lambda h=host: installed(objects, h.name), what=f"{host.name} installed", timeout=CONVERGE)
    objects.create_secret(
        bootstrap_secret("heal-bootstrap", CLUSTER, "#cloud-config\nruncmd:\n- echo heal\n")
    )
    objects.create(ELEMENTAL_CLUSTERS, elemental_cluster_body(CLUSTER))
    objects.create(CONTROL_PLANES, {"kind": "TestControlPlane", "metadata": {"name": CLUSTER}, "spec": {}})
    objects.create(CLUSTERS, cluster_body(CLUSTER, control_plane=True))
    objects.create(ELEMENTAL_MACHINE_TEMPLATES, machine_template_body(DEPLOYMENT))
    objects.create(
        ELEMENTAL_REMEDIATION_TEMPLATES,
        remediation_template_body(
            TEMPLATE,
            retry_limit=RETRY_LIMIT,
            reboot_timeout=REBOOT_TIMEOUT,
            recovery_timeout=RECOVERY_TIMEOUT,
        ),
    )
    objects.create(
        MACHINE_DEPLOYMENTS, machine_deployment_body(DEPLOYMENT, CLUSTER, DEPLOYMENT, "heal-bootstrap", 2)
    )
    world.converge(
        lambda: (
            ((objects.get(CLUSTERS, CLUSTER) or {}).get("status") or {})
            .get("initialization", {})
            .get("infrastructureProvisioned")
        ),
        what="the Cluster's infrastructure provisioned",
    )
    objects.create_secret(kubeconfig_secret(CLUSTER, world.workload.kubeconfig_path.read_bytes()))
    objects.patch_status(
        CONTROL_PLANES, CLUSTER, {"status": {"initialization": {"controlPlaneInitialized": True}}}
    )

    machines = machines_running(world, 2)
    objects.create(
        HEALTH_CHECKS,
        health_check_body(
            DEPLOYMENT,
            CLUSTER,
            DEPLOYMENT,
            machine_conditions=[{"type": HOST_REACHABLE, "status": "False", "timeoutSeconds": 1}],
            node_conditions=[{"type": "Ready", "status": "False", "timeoutSeconds": 1}],
            remediation_template=TEMPLATE,
        ),
    )

    world.converge(
        lambda: health_check_counts(world) == (2, 2), what="the MachineHealthCheck: 2 of 2 healthy"
    )
    for machine in machines:
        host_name = host_of(objects, machine)
        assert host_name is not None
        # The host's liveness, mirrored where a MachineHealthCheck can see it.
        world.converge(
            lambda m=machine, h=host_name: liveness_everywhere(world, m, h) == ["True"] * 3,
            what=f"HostReachable True on {host_name}, its ElementalMachine and its Machine",
        )
    assert objects.items(ELEMENTAL_REMEDIATIONS) == []


@pytest.mark.timeout(STEP_TIMEOUT)
def test_a_host_that_stops_checking_in_is_rebooted_and_keeps_its_machine(world: World) -> None:
    objects = world.objects
    machine = running_machines(objects, DEPLOYMENT)[0]
    name, uid = machine["metadata"]["name"], machine["metadata"]["uid"]
    host_name = host_of(objects, machine)
    assert host_name is not None
    host = world.hosts.by_name(host_name)
    others = {m["metadata"]["uid"] for m in running_machines(objects, DEPLOYMENT)}

    host.pause()

    world.converge(
        lambda: liveness_everywhere(world, machine, host_name) == ["False"] * 3,
        what=f"HostReachable False on {host_name}, its ElementalMachine and its Machine",
    )
    cond = condition(objects.get(ELEMENTAL_HOSTS, host_name), HOST_REACHABLE)
    assert cond is not None and cond["reason"] == CHECK_IN_OVERDUE, cond
    mirrored = condition(objects.get(MACHINES, name), HOST_REACHABLE)
    assert mirrored is not None and (mirrored["reason"], mirrored["message"]) == (
        cond["reason"],
        cond["message"],
    )
    # CAPI's MachineHealthCheck made the request, named after the Machine and owned by it.
    remediation = remediation_created(world, name)
    owners = remediation["metadata"].get("ownerReferences") or []
    assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [("Machine", name, uid)]
    assert labels(remediation)[LABEL_CLUSTER_NAME] == CLUSTER
    # (the Machine's verdict is patched after the remediation is created)
    verdict = world.converge(
        lambda: condition(objects.get(MACHINES, name), HEALTH_CHECK_SUCCEEDED),
        what=f"Machine {name}: the MachineHealthCheck's verdict",
    )
    assert verdict["status"] == "False" and HOST_REACHABLE in verdict["message"], verdict
    # Hung with it, its kubelet stopped too: the Node is NotReady until the host reboots (and
    # so the Machine stays unhealthy until then, whatever the agent's first check-in says).
    world.kubelet.set_ready(host_name, "False")
    request = world.converge(
        lambda: reboot_request(world, host_name), what=f"a reboot requested of {host_name}"
    )
    assert request == f"{remediation['metadata']['uid']}-1"
    # The host's spec is written before the remediation's status.
    status = world.converge(
        lambda: found if (found := remediation_status(world, name)).get("rebootRequest") == request else None,
        what="the remediation's status naming the request",
    )
    assert (status["phase"], status["retryCount"]) == (REMEDIATION_REBOOTING, 1)
    externally = condition(objects.get(MACHINES, name), EXTERNALLY_REMEDIATED)
    assert externally is not None and externally["status"] == "False", externally
    assert host.reboots == 0

    host.resume()  # it comes back, sees the request at its next check-in and takes it

    world.converge(lambda: host.reboots == 1, what=f"{host_name} rebooted and its agent running again")
    accepted = ((objects.get(ELEMENTAL_HOSTS, host_name) or {}).get("status") or {}).get("rebootAccepted")
    assert accepted == request
    world.converge(
        lambda: objects.get(ELEMENTAL_REMEDIATIONS, name) is None and health_check_counts(world) == (2, 2),
        what="the Machine healthy again and its ElementalRemediation gone",
    )
    machine_now = objects.get(MACHINES, name)
    assert machine_now is not None and machine_now["metadata"]["uid"] == uid  # kept, not replaced
    assert not machine_now["metadata"].get("deletionTimestamp")
    assert {m["metadata"]["uid"] for m in running_machines(objects, DEPLOYMENT)} == others
    events = ended_remediation_events(world, remediation)
    # HostRecovered only if the operator saw the host back (a check-in recorded since the
    # reboot, the Node Ready) before the MachineHealthCheck, which watches the Node, deleted it.
    assert events in (
        [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_ACCEPTED, EVENT_HOST_RECOVERED, EVENT_REMEDIATION_ENDED],
        [EVENT_REBOOT_REQUESTED, EVENT_REBOOT_ACCEPTED, EVENT_REMEDIATION_ENDED],
    ), events
    world.converge(
        lambda: condition(objects.get(MACHINES, name), EXTERNALLY_REMEDIATED) is None,
        what="the Machine's ExternallyRemediated condition removed",
    )
    assert reboot_request(world, host_name) is None  # the request ended with the remediation
    assert liveness_everywhere(world, machine, host_name) == ["True"] * 3
    assert (host.resets, host.name, host.recorded_reboots()) == (0, host_name, host.reboot_records)
    world.rebooted_machine = name


@pytest.mark.timeout(STEP_TIMEOUT)
def test_a_host_that_never_comes_back_has_its_machine_replaced(world: World) -> None:
    objects = world.objects
    machines = running_machines(objects, DEPLOYMENT)
    taken = {str(host_of(objects, m)) for m in machines}
    (machine,) = [m for m in machines if m["metadata"]["name"] != world.rebooted_machine]
    name = machine["metadata"]["name"]
    host_name = host_of(objects, machine)
    assert host_name is not None
    host = world.hosts.by_name(host_name)
    resets, reboots = host.resets, host.reboots
    free = spare(world, taken)
    observed = Observed()

    host.kill()

    remediation = remediation_created(world, name)

    def replaced_noting() -> list[Obj] | None:
        phase = remediation_phase(world, name)
        if phase is not None:
            observed.note(f"remediation {phase}")
        owner_remediated = condition(objects.get(MACHINES, name), OWNER_REMEDIATED)
        if owner_remediated is not None:
            observed.note(f"OwnerRemediated {owner_remediated['status']} {owner_remediated['reason']}")
        return replaced(world, name)

    after = world.converge(replaced_noting, what=f"Machine {name} replaced")

    events = ended_remediation_events(world, remediation)
    assert events == UNANSWERED, (events, observed.seen)
    assert {host_of(objects, m) for m in after} == (taken - {host_name}) | {free.name}
    assert objects.items(ELEMENTAL_REMEDIATIONS) == []  # it went with its Machine
    # The silent host is to reset once it is heard of again.
    assert LABEL_NEEDS_RESET in labels(objects.get(ELEMENTAL_HOSTS, host_name)), objects.get(
        ELEMENTAL_HOSTS, host_name
    )

    host.boot_again()

    world.converge(
        lambda: host.name != host_name and free_host(objects, host.name),
        what=f"{host_name} reset and offered again",
    )
    assert (host.resets, host.reboots) == (resets + 1, reboots)
    assert objects.get(ELEMENTAL_HOSTS, host_name) is None


@pytest.mark.timeout(STEP_TIMEOUT)
def test_a_go_agent_host_ignores_the_reboot_and_its_machine_is_replaced(world: World) -> None:
    objects = world.objects
    machines = running_machines(objects, DEPLOYMENT)
    taken = {str(host_of(objects, m)) for m in machines}
    # The Machine rebooted before: its new ElementalRemediation has the same name.
    (machine,) = [m for m in machines if m["metadata"]["name"] == world.rebooted_machine]
    name = machine["metadata"]["name"]
    host_name = host_of(objects, machine)
    assert host_name is not None
    host = world.hosts.by_name(host_name)
    resets, reboots = host.resets, host.reboots
    free = spare(world, taken)
    go_agent = host.check_in_as_go_agent()
    world.converge(lambda: len(go_agent.answers) >= 2, what=f"{host_name} checking in as the Go agent")
    assert go_agent.failures == []

    world.kubelet.set_ready(host_name, "False")  # its Node goes NotReady; it still checks in

    remediation = remediation_created(world, name)
    after = world.converge(lambda: replaced(world, name), what=f"Machine {name} replaced")

    # The API offered the reboot at its check-ins; the Go agent does not know the field.
    offered = {a["rebootRequest"] for a in go_agent.answers if a.get("rebootRequest")}
    assert len(offered) == RETRY_LIMIT, go_agent.answers[-3:]
    events = ended_remediation_events(world, remediation)
    assert events == UNANSWERED, events
    assert objects.items(ELEMENTAL_REMEDIATIONS) == []
    # Asked to reset, the host (its agent again) resets and comes back under a new name.
    world.converge(
        lambda: host.name != host_name and installed(objects, host.name), what=f"{host_name} reset"
    )
    assert go_agent.failures == []
    assert (host.resets, host.reboots) == (resets + 1, reboots)
    # The replacement took a free host: the spare, or this one if it was back first.
    (new_host,) = {host_of(objects, m) for m in after} - (taken - {host_name})
    assert new_host in (free.name, host.name)


@pytest.mark.timeout(STEP_TIMEOUT)
def test_deleting_the_cluster_leaves_no_remediation_stuck(world: World) -> None:
    objects = world.objects
    objects.delete(CLUSTERS, CLUSTER)

    world.converge(lambda: not objects.items(CLUSTERS), what="the Cluster deleted")

    assert objects.items(ELEMENTAL_REMEDIATIONS) == []
    world.converge(
        lambda: all(free_host(objects, h.name) for h in world.hosts.hosts), what="every host free again"
    )
    # The hosts and their registration stay (with their finalizers), and the template the user
    # wrote (owned by nothing: CAPI gives the Cluster only the MachineHealthCheck).
    kept = ("elementalhosts/", "elementalregistrations/")
    assert [n for n in objects.with_finalizers() if not n.startswith(kept)] == []
    left = [n for n in objects.remaining() if not n.startswith(kept)]
    assert left == [f"elementalremediationtemplates/{TEMPLATE}"]
