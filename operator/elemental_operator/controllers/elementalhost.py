"""ElementalHost: finalizer, conditions from the agent's labels, OS version propagation from
the associated ElementalMachine, reset-before-delete, and liveness (HostReachable).

On Kubernetes this controller alone removes the host's finalizer, by elemental_core's host
rules: a host being deleted is asked to reset (`marked_for_reset`) and goes once it has
reported the reset (`may_be_released`).

Liveness: the API records a host's last check-in in status.lastSeen (at most once per
heartbeat interval); HostReachable is True while that is within two intervals plus the
grace, False after, and is written only when it changes, so a host that keeps checking in
costs the operator no write. Each pass requeues the host at its deadline, so a silent host
is reported within two intervals plus the grace of its last recorded check-in. A host with
no recorded check-in (registered before the API recorded them, or just moved by clusterctl,
which does not carry status over) gets no verdict until an interval plus the grace has
passed since this operator first saw it: its next check-in records one well before that."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elemental_core.hosts import (
    conditions_from_labels,
    marked_for_reset,
    may_be_released,
    parse_seen,
    reachable_condition,
)
from elemental_core.vocabulary import (
    CHECK_IN_OVERDUE,
    CHECKED_IN,
    CLUSTERS,
    ELEMENTAL_MACHINES,
    HOST_REACHABLE,
    HOSTS,
    IN_PLACE_UPDATE_NOT_PENDING,
    LABEL_CLUSTER_NAME,
    NO_CHECK_IN_RECORDED,
    OS_VERSION_READY,
    RESET_READY,
    WAITING_FOR_OS_RECONCILE,
    Resource,
)
from elemental_operator import host_indexes
from elemental_operator.controllers.base import KubeAccess, KubeHolder, Mapper, Result, Settings
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.views import (
    FALSE,
    INFO,
    TRUE,
    WARNING,
    ClusterView,
    ElementalMachineView,
    HostView,
    Key,
)

# A requeue for a deadline never comes sooner than this: a pass landing a hair before the
# deadline (clock granularity) looks again at once rather than spinning.
MIN_RECHECK_SECONDS = 0.05


class ElementalHostController(KubeHolder):
    name = "elementalhost"
    resource = HOSTS

    def __init__(self, kube: KubeAccess, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        super().__init__(kube, settings)
        self._clock = clock  # wall-clock seconds, as status.lastSeen is written by the API
        # (namespace, name, uid) -> when this operator first saw a host with no recorded
        # check-in. In memory: a restarted operator starts the wait again, which only delays
        # the verdict on a host that never checks in. One worker runs this controller.
        self._first_seen: dict[tuple[str, str, str], float] = {}

    def watches(self) -> dict[Resource, Mapper]:
        return {ELEMENTAL_MACHINES: _machine_to_host, CLUSTERS: self._cluster_to_hosts}

    def _cluster_to_hosts(self, cluster: dict[str, Any]) -> list[Key]:
        """A Cluster's hosts (by their cluster-name label): unpausing resumes their work."""
        view = ClusterView(cluster)
        hosts = self.kube.indexed(HOSTS, host_indexes.BY_CLUSTER, view.namespace, view.name)
        return [HostView(raw).key for raw in hosts]

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(HOSTS, namespace, name)
        if before is None:
            self._forget(namespace, name)
            return Result()
        host = HostView(copy.deepcopy(before))
        if pause_reason(self.kube, host, host.label(LABEL_CLUSTER_NAME)) is not None:
            # A host of a paused cluster (or being moved) is neither asked to reset nor
            # released: after clusterctl move it keeps running for the cluster it went to.
            return Result()
        recheck: float | None = None  # a host being deleted is on its way out: no liveness
        if host.deleting:
            if host.holds_finalizer:
                reconcile_delete(host)
        else:
            host.add_finalizer()
            machine_key = host.machine_key
            machine = (
                ElementalMachineView.of(self.kube.get(ELEMENTAL_MACHINES, *machine_key))
                if machine_key
                else None
            )
            if machine is not None:
                propagate_os_version(host, machine)
            reconcile_conditions(host)
            recheck = self._reconcile_reachable(host)
        host.summarize()
        self.kube.apply_changes(HOSTS, before, host.raw)
        return Result(requeue_after=recheck)

    def _reconcile_reachable(self, host: HostView) -> float | None:
        """Sets HostReachable on a transition; the seconds until the verdict may change by
        itself (its deadline), or None when only a check-in can change it."""
        interval = self.settings.heartbeat_interval
        if interval is None:
            return None
        now = self._clock()
        last_seen = parse_seen((host.raw.get("status") or {}).get("lastSeen"))
        if last_seen is None:
            first_seen = self._first_seen.setdefault((host.namespace, host.name, host.uid), now)
        else:
            self._first_seen.pop((host.namespace, host.name, host.uid), None)
            first_seen = now
        verdict = judge(last_seen, first_seen, now, interval, self.settings.heartbeat_grace)
        if verdict.condition is not None:
            current = host.condition(HOST_REACHABLE)
            if current is None or current.get("status") != verdict.condition["status"]:
                host.set_condition(verdict.condition)
        return None if verdict.recheck_in is None else max(verdict.recheck_in, MIN_RECHECK_SECONDS)

    def _forget(self, namespace: str, name: str) -> None:
        for key in [k for k in self._first_seen if k[:2] == (namespace, name)]:
            del self._first_seen[key]


@dataclass(frozen=True)
class Verdict:
    """condition: HostReachable as it should be (None: no verdict yet); recheck_in: seconds
    until the verdict changes unless a check-in is recorded first (None: only one can)."""

    condition: dict[str, Any] | None
    recheck_in: float | None


def judge(last_seen: float | None, first_seen: float, now: float, interval: float, grace: float) -> Verdict:
    """Reachable while the last recorded check-in is within two intervals plus the grace
    (the API records one at most an interval after the previous, so a host checking in
    more often than every interval plus the grace is never reported); without one, no
    verdict until an interval plus the grace since `first_seen`. The message, written only
    on a transition, says how long the host has been silent then."""
    limit = 2 * interval + grace
    if last_seen is not None:
        silent = max(now - last_seen, 0.0)
        at = _clock_time(last_seen)
        if silent < limit:
            message = f"Last check-in recorded {silent:.0f}s ago (at {at})"
            return Verdict(reachable_condition(TRUE, CHECKED_IN, message), limit - silent)
        message = (
            f"No check-in for {silent:.0f}s (last recorded at {at}); the limit is {limit:g}s: "
            f"two heartbeat intervals of {interval:g}s and {grace:g}s of grace"
        )
        return Verdict(reachable_condition(FALSE, CHECK_IN_OVERDUE, message), None)
    waited = now - first_seen
    wait = interval + grace
    if waited < wait:
        return Verdict(None, wait - waited)
    message = f"No check-in recorded in the {waited:.0f}s since the operator first saw the host"
    return Verdict(reachable_condition(FALSE, NO_CHECK_IN_RECORDED, message), None)


def _clock_time(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def reconcile_conditions(host: HostView) -> None:
    for kind in conditions_from_labels(host.labels):
        host.set_true(kind)


def propagate_os_version(host: HostView, machine: ElementalMachineView) -> None:
    """A changed osVersionManagement on the machine reaches the host; once bootstrapped, it is
    applied only through a pending in-place update (upstream's rules)."""
    wanted = machine.os_version_management
    if (host.os_version_management or None) == (wanted or None):
        return
    host.os_version_management = wanted
    if host.bootstrapped and not host.in_place_update_pending:
        host.set_false(
            OS_VERSION_READY,
            WARNING,
            IN_PLACE_UPDATE_NOT_PENDING,
            f"ElementalMachine {machine.name} OSVersionManagement mutated, "
            "but no in-place-upgrade is pending. Mutation will be ignored.",
        )
    else:
        host.set_false(
            OS_VERSION_READY,
            INFO,
            WAITING_FOR_OS_RECONCILE,
            f"ElementalMachine {machine.name} OSVersionManagement mutated",
        )


def reconcile_delete(host: HostView) -> None:
    record = host.record()
    if may_be_released(record):
        host.remove_finalizer()
        host.set_true(RESET_READY)
    else:
        host.take_labels_and_conditions(marked_for_reset(record))


def _machine_to_host(machine: dict[str, Any]) -> list[Key]:
    key = ElementalMachineView(machine).host_key
    return [key] if key else []
