"""ElementalHost: finalizer, conditions from the agent's labels with the Ready summary, OS
version propagation from the associated ElementalMachine, and reset-before-delete."""

from __future__ import annotations

import time
from typing import Any

from elemental_core.hosts import (
    parse_seen,
    seen_timestamp,
)
from elemental_core.vocabulary import (
    CHECK_IN_OVERDUE,
    CHECKED_IN,
    HOST_REACHABLE,
    LABEL_BOOTSTRAPPED,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
    NO_CHECK_IN_RECORDED,
)
from tests.operator.activity import Activity
from tests.operator.capi import EMS, HOSTS, Capi, condition, is_true, labels, reason
from tests.operator.conftest import settings

FINALIZER = "elementalmachine.infrastructure.cluster.x-k8s.io"


def test_finalizer_and_conditions_follow_the_labels(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.host("fresh", installed=False)
    host = capi.wait(HOSTS, "fresh", lambda o: FINALIZER in (o["metadata"].get("finalizers") or []))
    assert condition(host, "InstallationReady") is None
    assert condition(host, "Ready") is None  # nothing to summarise yet

    capi.label(HOSTS, "fresh", **{LABEL_INSTALLED: "true"})
    host = capi.wait(HOSTS, "fresh", lambda o: is_true(o, "InstallationReady"))
    assert is_true(host, "RegistrationReady")
    assert is_true(host, "Ready")
    assert condition(host, "BootstrapReady") is None

    capi.label(HOSTS, "fresh", **{LABEL_BOOTSTRAPPED: "true"})
    host = capi.wait(HOSTS, "fresh", lambda o: is_true(o, "BootstrapReady"))
    assert is_true(host, "Ready")
    assert [c["type"] for c in host["status"]["conditions"]] == [
        "Ready",
        "BootstrapReady",
        "InstallationReady",
        "RegistrationReady",
    ]


def test_os_version_changes_reach_the_associated_host(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster()
    capi.host("host")
    capi.machine_pair("em", os_version={"osImage": "v1"})
    # Associated once the machine's hostRef is written too (the host's link comes first).
    capi.wait(EMS, "em", lambda o: (o["spec"].get("hostRef") or {}).get("name") == "host")
    host = capi.get(HOSTS, "host") or {}
    assert host["spec"]["machineRef"]["name"] == "em"
    assert host["spec"]["osVersionManagement"] == {"osImage": "v1"}  # copied by the association
    assert condition(host, "OSVersionReady") is None

    def set_os(image: str, expected: str) -> dict[str, Any]:
        """Changes the machine's OS version; returns the host once its spec and then (a
        separate write, to the status subresource) its OSVersionReady reason follow."""
        capi.patch(EMS, "em", {"spec": {"osVersionManagement": {"osImage": image}}})
        return capi.wait(
            HOSTS,
            "host",
            lambda o: (
                o["spec"].get("osVersionManagement") == {"osImage": image}
                and reason(o, "OSVersionReady") == expected
            ),
        )

    # Not bootstrapped yet: the new version is simply to be applied.
    host = set_os("v2", "WaitingForOSReconcile")
    os_ready = condition(host, "OSVersionReady") or {}
    assert (os_ready["status"], os_ready["severity"], os_ready["reason"]) == (
        "False",
        "Info",
        "WaitingForOSReconcile",
    )
    assert os_ready["message"] == "ElementalMachine em OSVersionManagement mutated"
    assert reason(host, "Ready") == "WaitingForOSReconcile"

    # Bootstrapped without a pending in-place update: propagated, but flagged as ignored.
    capi.label(HOSTS, "host", **{LABEL_BOOTSTRAPPED: "true"})
    capi.wait(HOSTS, "host", lambda o: is_true(o, "BootstrapReady"))
    host = set_os("v3", "InPlaceUpdateNotPending")
    os_ready = condition(host, "OSVersionReady") or {}
    assert (os_ready["status"], os_ready["severity"], os_ready["reason"]) == (
        "False",
        "Warning",
        "InPlaceUpdateNotPending",
    )
    assert "no in-place-upgrade is pending" in os_ready["message"]

    # With in-place-update=pending the mutation is to be reconciled again.
    capi.label(HOSTS, "host", **{LABEL_IN_PLACE_UPDATE: "pending"})
    set_os("v4", "WaitingForOSReconcile")

    # Any other value of the label counts as not pending.
    capi.label(HOSTS, "host", **{LABEL_IN_PLACE_UPDATE: "done"})
    set_os("v5", "InPlaceUpdateNotPending")


def test_deletion_waits_for_the_reset(start_operator: Any, capi: Capi, activity: Activity) -> None:
    operator = start_operator()
    capi.host("doomed")
    capi.wait(HOSTS, "doomed", lambda o: FINALIZER in (o["metadata"].get("finalizers") or []))

    capi.delete(HOSTS, "doomed")
    host = capi.wait(
        HOSTS,
        "doomed",
        lambda o: labels(o).get(LABEL_NEEDS_RESET) == "true" and condition(o, "ResetReady") is not None,
    )
    assert host["metadata"].get("deletionTimestamp")
    reset = condition(host, "ResetReady") or {}
    assert (reset["status"], reset["reason"]) == ("False", "WaitingForReset")
    assert reason(host, "Ready") == "WaitingForReset"
    activity.wait_idle(capi.custom, capi.namespace, operator.manager)  # it has done all it will
    assert capi.get(HOSTS, "doomed") is not None, "the finalizer did not hold the host"

    capi.label(HOSTS, "doomed", **{LABEL_RESET: "true"})
    capi.wait_gone(HOSTS, "doomed")


LIVENESS = {"heartbeat_interval": 1.0, "heartbeat_grace": 0.5}  # a limit of 2.5 s


def test_host_reachable_follows_the_recorded_check_ins(start_operator: Any, capi: Capi) -> None:
    """Against the real kube-apiserver with short intervals: True once a check-in is
    recorded, False when none is for two intervals plus the grace (nothing but the
    operator's own requeue at the deadline makes it look again), True when one comes."""
    start_operator(settings(**LIVENESS))
    capi.host("alive")
    last = time.time()
    capi.patch_status(HOSTS, "alive", {"lastSeen": seen_timestamp(last)})  # what the API writes
    host = capi.wait_reason(HOSTS, "alive", HOST_REACHABLE, CHECKED_IN)
    assert is_true(host, HOST_REACHABLE)
    assert (condition(host, HOST_REACHABLE) or {})["message"].startswith("Last check-in recorded ")

    host = capi.wait_reason(HOSTS, "alive", HOST_REACHABLE, CHECK_IN_OVERDUE, timeout=60)
    unreachable = condition(host, HOST_REACHABLE) or {}
    assert unreachable["status"] == "False"
    assert unreachable["message"].startswith("No check-in for ")
    # Not before the deadline (the transition time has whole seconds).
    assert parse_seen(unreachable["lastTransitionTime"]) >= int(last + 2.5)  # type: ignore[operator]
    assert reason(host, "Ready") == CHECK_IN_OVERDUE

    capi.patch_status(HOSTS, "alive", {"lastSeen": seen_timestamp(time.time())})
    host = capi.wait_reason(HOSTS, "alive", HOST_REACHABLE, CHECKED_IN)
    assert is_true(host, "Ready")


def test_a_host_without_a_recorded_check_in_is_reported_after_the_wait(
    start_operator: Any, capi: Capi
) -> None:
    """The upgrade path: no status.lastSeen (a host registered before the API recorded
    them): unreachable once an interval plus the grace has passed since first seen."""
    started = time.time()
    start_operator(settings(**LIVENESS))
    capi.host("legacy")
    host = capi.wait_reason(HOSTS, "legacy", HOST_REACHABLE, NO_CHECK_IN_RECORDED, timeout=60)
    reported = condition(host, HOST_REACHABLE) or {}
    assert reported["message"].startswith("No check-in recorded in the ")
    assert parse_seen(reported["lastTransitionTime"]) >= int(started + 1.5)  # type: ignore[operator]
