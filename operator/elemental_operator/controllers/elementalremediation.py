"""ElementalRemediation: Cluster API's external remediation of a Machine whose host has no
BMC. A MachineHealthCheck creates one (named after the Machine, owned by it) when the
Machine is unhealthy, and deletes it once the Machine is healthy again.

The steps (status.phase), each timed from status.lastRemediated so that a restarted
operator keeps the schedule, each waking the remediation at its deadline (never a loop):
- Rebooting: the host's spec.rebootRequest names this attempt ("<uid>-<attempt>"); the
  agent takes it (status.rebootAccepted, then it reboots) within rebootTimeoutSeconds, or
  the attempt timed out (a Go agent never takes one).
- WaitingForRecovery: the host checks in again after it took the request (HostReachable
  True on a check-in recorded since) and the Machine's Node is Ready, within
  recoveryTimeoutSeconds; a Machine without a Node yet is judged on the host alone.
- Recovered: the request is withdrawn; the MachineHealthCheck deletes the remediation once
  it sees the Machine healthy. Still unhealthy recoveryTimeoutSeconds later: not recovered.
- A failed attempt leads to the next while retryCount < retryLimit; after the last one,
  ReplacingMachine: the Machine's OwnerRemediated condition (False, WaitingForRemediation)
  asks its MachineSet or control plane to replace it, whose deletion resets the host.
  Without a Machine there is nothing to replace: Failed.

Every step is said in the Machine's ExternallyRemediated condition (reason: the phase) and
in an Event on the remediation. A finalizer lets the deletion withdraw the host's request
and take ExternallyRemediated off the Machine."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elemental_core.hosts import parse_seen
from elemental_core.vocabulary import (
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
    KUBECONFIG_VALUE_FIELD,
    LABEL_MACHINE_NAME,
    MACHINES,
    OWNER_REMEDIATED,
    REMEDIATION_FAILED,
    REMEDIATION_REBOOTING,
    REMEDIATION_RECOVERED,
    REMEDIATION_REPLACING_MACHINE,
    REMEDIATION_WAITING_FOR_RECOVERY,
    REMEDIATIONS,
    WAITING_FOR_REMEDIATION,
    Resource,
)
from elemental_kube.errors import KubeError
from elemental_operator.controllers import machineconditions
from elemental_operator.controllers.base import KubeAccess, KubeHolder, Mapper, Result, Settings
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.remediationview import RemediationView
from elemental_operator.views import (
    FALSE,
    TRUE,
    ClusterView,
    ElementalMachineView,
    HostView,
    Key,
    MachineView,
    kubeconfig_secret_of,
)

log = logging.getLogger(__name__)
NORMAL, WARNING = "Normal", "Warning"  # Event types
# A deadline's requeue never comes sooner than this (clock granularity: no spinning).
MIN_RECHECK_SECONDS = 0.05


@dataclass
class Pass:
    """One reconcile of one remediation: what it read, the Events to say once its status
    is written."""

    remediation: RemediationView
    machine: MachineView | None
    host: HostView | None
    now: float
    events: list[tuple[str, str, str]] = field(default_factory=list)

    def event(self, event_type: str, reason: str, message: str) -> None:
        self.events.append((event_type, reason, message))

    @property
    def host_name(self) -> str:
        return self.host.name if self.host is not None else "(none)"


class ElementalRemediationController(KubeHolder):
    name = "elementalremediation"
    resource = REMEDIATIONS

    def __init__(self, kube: KubeAccess, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(kube, settings)
        self._clock = clock  # wall-clock seconds: lastRemediated and lastSeen are times of day

    # -- watches: a remediation has the name of its Machine -----------------------------------

    def watches(self) -> dict[Resource, Mapper]:
        return {
            HOSTS: self._host_to_remediation,
            ELEMENTAL_MACHINES: self._elemental_machine_to_remediation,
            MACHINES: self._machine_to_remediation,
            CLUSTERS: self._cluster_to_remediations,
        }

    def _host_to_remediation(self, raw: dict[str, Any]) -> list[Key]:
        host = HostView(raw)
        return self._remediating(host.namespace, host.label(LABEL_MACHINE_NAME))

    def _elemental_machine_to_remediation(self, raw: dict[str, Any]) -> list[Key]:
        em = ElementalMachineView(raw)
        return self._remediating(em.namespace, em.machine_owner)

    def _machine_to_remediation(self, raw: dict[str, Any]) -> list[Key]:
        machine = MachineView(raw)
        return self._remediating(machine.namespace, machine.name)

    def _remediating(self, namespace: str, machine: str | None) -> list[Key]:
        """The remediation of that Machine, if there is one (most changes concern none)."""
        if machine and self.kube.get(REMEDIATIONS, namespace, machine) is not None:
            return [(namespace, machine)]
        return []

    def _cluster_to_remediations(self, cluster: dict[str, Any]) -> list[Key]:
        """A Cluster's remediations: unpausing resumes them."""
        view = ClusterView(cluster)
        found = [RemediationView(raw) for raw in self.kube.scan(REMEDIATIONS, view.namespace)]
        return [r.key for r in found if r.cluster_name == view.name]

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(REMEDIATIONS, namespace, name)
        if before is None:
            return Result()
        remediation = RemediationView(copy.deepcopy(before))
        machine = MachineView.of(self.kube.get(MACHINES, namespace, remediation.machine_name))
        cluster_name = remediation.cluster_name or (machine.cluster_name if machine else None)
        if pause_reason(self.kube, remediation, cluster_name) is not None:
            return Result()
        if remediation.deleting:
            if remediation.holds_finalizer:
                self._release(before, remediation, machine)
            return Result()
        if not remediation.holds_finalizer:
            # Held before the host is asked anything: a deletion can then always withdraw it.
            remediation.add_finalizer()
            before = self.kube.apply_changes(REMEDIATIONS, before, remediation.raw)
            remediation = RemediationView(copy.deepcopy(before))
        step = Pass(remediation, machine, self._host_of(machine), self._clock())
        result = self._step(step)
        written = self.kube.apply_changes(REMEDIATIONS, before, remediation.raw)
        for event_type, reason, message in step.events:
            self.kube.record_event(written, event_type, reason, message)
        return result

    def _host_of(self, machine: MachineView | None) -> HostView | None:
        """Machine -> its ElementalMachine -> that machine's host (not one being deleted)."""
        em_key = machine.elemental_machine_key if machine else None
        em = ElementalMachineView.of(self.kube.get(ELEMENTAL_MACHINES, *em_key)) if em_key else None
        host_key = em.host_key if em else None
        host = HostView.of(self.kube.get(HOSTS, *host_key)) if host_key else None
        return None if host is None or host.deleting else host

    def _step(self, p: Pass) -> Result:
        phase = p.remediation.phase
        if phase is None:
            return self._start(p)
        if phase == REMEDIATION_REBOOTING:
            return self._rebooting(p)
        if phase == REMEDIATION_WAITING_FOR_RECOVERY:
            return self._waiting_for_recovery(p)
        if phase == REMEDIATION_RECOVERED:
            return self._recovered(p)
        return Result()  # ReplacingMachine, Failed: the Machine's owner takes it from here

    def _start(self, p: Pass) -> Result:
        if p.machine is None:
            return self._fail(p, f"Machine '{p.remediation.machine_name}' not found")
        if p.host is None:
            return self._escalate(p, f"Machine '{p.machine.name}' has no ElementalHost to reboot")
        if p.remediation.retry_limit == 0:
            return self._escalate(p, "spec.strategy.retryLimit is 0: no reboot is tried")
        return self._request_reboot(p, 1)

    # -- Rebooting ----------------------------------------------------------------------------

    def _request_reboot(self, p: Pass, attempt: int) -> Result:
        assert p.host is not None and p.machine is not None
        remediation = p.remediation
        request = remediation.start_attempt(attempt, p.now)
        self._ask_host(p.host, request)
        limit = remediation.retry_limit
        p.event(
            NORMAL,
            EVENT_REBOOT_REQUESTED,
            f"Asked ElementalHost '{p.host.name}' to reboot "
            f"(request {request}, attempt {attempt} of {limit})",
        )
        self._say(
            p,
            REMEDIATION_REBOOTING,
            f"Waiting up to {remediation.reboot_timeout:g}s for ElementalHost '{p.host.name}' to take "
            f"reboot request {request} (attempt {attempt} of {limit})",
        )
        return Result(requeue_after=remediation.reboot_timeout)

    def _rebooting(self, p: Pass) -> Result:
        remediation = p.remediation
        if p.machine is None:
            return self._fail(p, f"Machine '{remediation.machine_name}' not found")
        request = remediation.reboot_request
        if p.host is None or request is None:
            return self._escalate(p, "the ElementalHost to reboot is gone")
        if p.host.reboot_accepted == request:
            remediation.enter(REMEDIATION_WAITING_FOR_RECOVERY, p.now)
            p.event(
                NORMAL, EVENT_REBOOT_ACCEPTED, f"ElementalHost '{p.host.name}' took reboot request {request}"
            )
            self._say(p, REMEDIATION_WAITING_FOR_RECOVERY, self._recovery_wait(p))
            return self._recheck_recovery(remediation.recovery_timeout)
        if p.host.reboot_request != request:
            self._ask_host(p.host, request)  # withdrawn by someone else: asked again
        remaining = self._remaining(remediation, remediation.reboot_timeout, p.now)
        if remaining > 0:
            return Result(requeue_after=max(remaining, MIN_RECHECK_SECONDS))
        p.event(
            WARNING,
            EVENT_REBOOT_TIMED_OUT,
            f"ElementalHost '{p.host.name}' did not take reboot request {request} "
            f"within {remediation.reboot_timeout:g}s",
        )
        return self._next_attempt(p, f"the host did not take reboot request {request}")

    # -- WaitingForRecovery, Recovered --------------------------------------------------------

    def _recovery_wait(self, p: Pass) -> str:
        assert p.machine is not None
        node = p.machine.node_name
        what = f"and Node '{node}' to be Ready" if node else "(the Machine has no Node yet)"
        return (
            f"Waiting up to {p.remediation.recovery_timeout:g}s for ElementalHost '{p.host_name}' "
            f"to check in again after the reboot {what}"
        )

    def _recheck_recovery(self, remaining: float) -> Result:
        """The Node is read, not watched: looked at every requeue period until the deadline."""
        return Result(requeue_after=max(min(remaining, self.settings.requeue_period), MIN_RECHECK_SECONDS))

    def _waiting_for_recovery(self, p: Pass) -> Result:
        remediation = p.remediation
        if p.machine is None:
            return self._fail(p, f"Machine '{remediation.machine_name}' not found")
        if p.host is None:
            return self._escalate(p, "the rebooted ElementalHost is gone")
        if self._is_back(p):
            self._withdraw_requests(remediation)
            remediation.forget_request()
            remediation.enter(REMEDIATION_RECOVERED, p.now)
            node = p.machine.node_name
            back = f" and Node '{node}' is Ready" if node else ""
            p.event(
                NORMAL,
                EVENT_HOST_RECOVERED,
                f"ElementalHost '{p.host.name}' checked in after the reboot{back}",
            )
            self._say(
                p,
                REMEDIATION_RECOVERED,
                f"ElementalHost '{p.host.name}' is back after the reboot{back}; waiting for the "
                "MachineHealthCheck to find the Machine healthy",
                status=TRUE,
            )
            return Result(requeue_after=remediation.recovery_timeout)
        remaining = self._remaining(remediation, remediation.recovery_timeout, p.now)
        if remaining > 0:
            return self._recheck_recovery(remaining)
        p.event(
            WARNING,
            EVENT_RECOVERY_TIMED_OUT,
            f"ElementalHost '{p.host.name}' was not back within "
            f"{remediation.recovery_timeout:g}s of the reboot",
        )
        return self._next_attempt(p, "the host was not back in time after the reboot")

    def _is_back(self, p: Pass) -> bool:
        """The host is reachable on a check-in recorded since it took the request, and the
        Machine's Node (if it has one) is Ready."""
        assert p.host is not None and p.machine is not None
        accepted_at = p.remediation.last_remediated or p.now
        seen = parse_seen(p.host.last_seen)
        if not p.host.condition_is_true(HOST_REACHABLE) or seen is None or seen <= accepted_at:
            return False
        node = p.machine.node_name
        return node is None or self._node_ready(p.machine, node)

    def _node_ready(self, machine: MachineView, node: str) -> bool:
        cluster = machine.cluster_name
        secret = self.kube.read_secret(machine.namespace, kubeconfig_secret_of(cluster)) if cluster else None
        if secret is None or KUBECONFIG_VALUE_FIELD not in secret:
            return False
        try:
            return self.kube.node_ready(secret[KUBECONFIG_VALUE_FIELD], node) is True
        except KubeError as error:
            # An unreachable workload cluster is a Node not seen Ready: the deadline still holds.
            log.info("workload node not read", extra={"machine": machine.name, "error": str(error)})
            return False

    def _recovered(self, p: Pass) -> Result:
        """MachineHealthCheck deletes a remediation whose Machine is healthy; one still here
        a recovery timeout later, its Machine still failing the check, did not recover."""
        remediation = p.remediation
        remaining = self._remaining(remediation, remediation.recovery_timeout, p.now)
        if remaining > 0:
            return Result(requeue_after=max(remaining, MIN_RECHECK_SECONDS))
        if p.machine is None:
            return self._fail(p, f"Machine '{remediation.machine_name}' not found")
        if (p.machine.condition(HEALTH_CHECK_SUCCEEDED) or {}).get("status") != FALSE:
            return Result()  # healthy (or no longer checked): nothing left to do
        if p.host is None:
            return self._escalate(p, "the Machine is still unhealthy after the reboot and its host is gone")
        return self._next_attempt(p, "the Machine is still unhealthy after the reboot")

    # -- the ends -----------------------------------------------------------------------------

    def _next_attempt(self, p: Pass, why: str) -> Result:
        remediation = p.remediation
        if remediation.retry_count < remediation.retry_limit and p.host is not None:
            return self._request_reboot(p, remediation.retry_count + 1)
        tried = remediation.retry_count
        return self._escalate(p, f"{why}; {tried} reboot(s) tried, retryLimit {remediation.retry_limit}")

    def _escalate(self, p: Pass, why: str) -> Result:
        """Asks the Machine's owner (MachineSet, control plane) to replace it."""
        assert p.machine is not None
        remediation = p.remediation
        self._withdraw_requests(remediation)
        remediation.forget_request()
        remediation.enter(REMEDIATION_REPLACING_MACHINE, p.now)
        owner = {
            "type": OWNER_REMEDIATED,
            "status": FALSE,
            "reason": WAITING_FOR_REMEDIATION,
            "message": f"ElementalRemediation '{remediation.name}' asks for a replacement: {why}",
        }
        externally = {
            "type": EXTERNALLY_REMEDIATED,
            "status": FALSE,
            "reason": REMEDIATION_REPLACING_MACHINE,
            "message": f"Waiting for the Machine's owner to replace it: {why}",
        }

        def ask(machine: MachineView) -> None:
            machineconditions.set_if_changed(machine, owner)
            machineconditions.set_if_changed(machine, externally)

        machineconditions.update(self.kube, p.machine.namespace, p.machine.name, ask)
        p.event(
            WARNING, EVENT_MACHINE_REPLACEMENT_REQUESTED, f"Machine '{p.machine.name}' to be replaced: {why}"
        )
        log.info("machine replacement requested", extra={"machine": p.machine.name, "why": why})
        return Result()

    def _fail(self, p: Pass, why: str) -> Result:
        """Nothing to remediate (the Machine is gone): the remediation ends there."""
        remediation = p.remediation
        self._withdraw_requests(remediation)
        remediation.forget_request()
        remediation.enter(REMEDIATION_FAILED, p.now)
        p.event(WARNING, EVENT_REMEDIATION_FAILED, why)
        return Result()

    def _release(
        self, before: dict[str, Any], remediation: RemediationView, machine: MachineView | None
    ) -> None:
        """Deleted (the Machine is healthy, or gone): no reboot is asked any more, the Machine
        no longer says it is being remediated, and the remediation may go. Cluster API may
        delete it at any step (a host that checks in again makes its Machine healthy at once
        under a HostReachable check), so the Events say how far it got."""
        for event_type, reason, message in self._ending_events(remediation, machine):
            self.kube.record_event(before, event_type, reason, message)
        self._withdraw_requests(remediation)
        if machine is not None:
            machineconditions.update(
                self.kube,
                machine.namespace,
                machine.name,
                lambda m: m.remove_condition(EXTERNALLY_REMEDIATED),
            )
        remediation.remove_finalizer()
        self.kube.apply_changes(REMEDIATIONS, before, remediation.raw)

    def _ending_events(
        self, remediation: RemediationView, machine: MachineView | None
    ) -> list[tuple[str, str, str]]:
        """A reboot taken but not yet said (deleted before the controller saw the ack), then
        why the remediation ended and in which phase."""
        events = []
        request = remediation.reboot_request
        host = self._host_of(machine)
        taken = host is not None and request is not None and host.reboot_accepted == request
        if remediation.phase == REMEDIATION_REBOOTING and host is not None and taken:
            said = f"ElementalHost '{host.name}' took reboot request {request}"
            events.append((NORMAL, EVENT_REBOOT_ACCEPTED, said))
        if machine is None or machine.deleting:
            why = f"Machine '{remediation.machine_name}' deleted"
        else:
            why = f"the MachineHealthCheck found Machine '{machine.name}' healthy"
        ended = f"{why}; remediation ended in phase {remediation.phase}"
        events.append((NORMAL, EVENT_REMEDIATION_ENDED, ended))
        return events

    # -- writes -------------------------------------------------------------------------------

    def _ask_host(self, host: HostView, request: str) -> None:
        after = HostView(copy.deepcopy(host.raw))
        after.reboot_request = request
        self.kube.apply_changes(HOSTS, host.raw, after.raw)
        log.info("host asked to reboot", extra={"host": host.name, "request": request})

    def _withdraw_requests(self, remediation: RemediationView) -> None:
        """Removes this remediation's reboot request from whichever host still has one (a
        request of another remediation is left alone)."""
        hosts = self.kube.select(
            HOSTS, remediation.namespace, lambda raw: remediation.owns_request(HostView(raw).reboot_request)
        )
        for raw in hosts:
            after = HostView(copy.deepcopy(raw))
            after.reboot_request = None
            self.kube.apply_changes(HOSTS, raw, after.raw)

    def _say(self, p: Pass, reason: str, message: str, status: str = FALSE) -> None:
        """The step, in the Machine's ExternallyRemediated condition (on a change only)."""
        assert p.machine is not None
        wanted = {"type": EXTERNALLY_REMEDIATED, "status": status, "reason": reason, "message": message}
        machineconditions.update(
            self.kube,
            p.machine.namespace,
            p.machine.name,
            lambda machine: machineconditions.set_if_changed(machine, wanted),
        )

    @staticmethod
    def _remaining(remediation: RemediationView, timeout: float, now: float) -> float:
        started = remediation.last_remediated
        return timeout if started is None else started + timeout - now
