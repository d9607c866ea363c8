"""HostReachable: the host controller's verdict on status.lastSeen (the API's record of the
last check-in). True while it is within two heartbeat intervals plus the grace, False after,
written only on a transition; each pass requeues at the deadline; a host with no recorded
check-in gets no verdict until an interval plus the grace since the operator first saw it."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.hosts import (
    seen_timestamp,
)
from elemental_core.vocabulary import (
    CHECK_IN_OVERDUE,
    CHECKED_IN,
    HOST_REACHABLE,
    HOSTS,
    NO_CHECK_IN_RECORDED,
    READY,
)
from elemental_operator.controllers.elementalhost import MIN_RECHECK_SECONDS, ElementalHostController
from tests.unit.operator.fake_kube import FakeKube
from tests.unit.operator.scene import NS, Scene, condition, state

INTERVAL = 60.0
GRACE = 30.0
LIMIT = 2 * INTERVAL + GRACE  # 150 s
T0 = 1_780_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def controller(scene: Scene, clock: Clock) -> ElementalHostController:
    return scene.hosts(clock, heartbeat_interval=INTERVAL, heartbeat_grace=GRACE)


def checked_in(kube: FakeKube, at: float, name: str = "host") -> None:
    """What the API writes on a check-in that is due: status.lastSeen."""

    def write(obj: dict[str, Any]) -> None:
        obj.setdefault("status", {})["lastSeen"] = seen_timestamp(at)

    kube.change(HOSTS, NS, name, write)


def host_seen_at(scene: Scene, at: float, name: str = "host") -> None:
    scene.host(name)
    checked_in(scene.kube, at, name)


def reachable(scene: Scene, name: str = "host") -> dict[str, Any] | None:
    return condition(scene.get(HOSTS, name), HOST_REACHABLE)


def test_a_host_heard_from_is_reachable_until_its_deadline(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    host_seen_at(scene, T0 - 10)
    result = controller.reconcile(NS, "host")
    assert state(scene.get(HOSTS, "host"), HOST_REACHABLE) == ("True", "Info", CHECKED_IN)
    message = (reachable(scene) or {})["message"]
    assert message.startswith("Last check-in recorded 10s ago (at ") and message.endswith("Z)")
    assert result.requeue_after == pytest.approx(LIMIT - 10)


def test_a_silent_host_is_unreachable_at_the_deadline_its_requeue_asks_for(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    host_seen_at(scene, T0)
    first = controller.reconcile(NS, "host")
    assert (reachable(scene) or {})["status"] == "True"
    assert first.requeue_after == pytest.approx(LIMIT)

    clock.now = T0 + LIMIT - 0.001  # a hair early: still reachable, looks again at once
    assert controller.reconcile(NS, "host").requeue_after == MIN_RECHECK_SECONDS
    assert (reachable(scene) or {})["status"] == "True"

    clock.now = T0 + (first.requeue_after or 0)
    result = controller.reconcile(NS, "host")
    assert state(scene.get(HOSTS, "host"), HOST_REACHABLE) == ("False", "Warning", CHECK_IN_OVERDUE)
    assert (reachable(scene) or {})["message"].startswith(
        "No check-in for 150s (last recorded at 2026-05-28T"
    )
    assert (
        "the limit is 150s: two heartbeat intervals of 60s and 30s of grace"
        in (reachable(scene) or {})["message"]
    )
    assert result.requeue_after is None  # only a check-in changes it now
    # An unreachable host is not Ready, and says why.
    assert state(scene.get(HOSTS, "host"), READY) == ("False", "Warning", CHECK_IN_OVERDUE)


def test_the_condition_changes_only_on_transitions(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    host_seen_at(scene, T0)
    controller.reconcile(NS, "host")
    first = scene.get(HOSTS, "host") or {}
    for step in range(1, 6):  # the API records a check-in every interval, time goes on
        clock.now = T0 + step * INTERVAL
        checked_in(scene.kube, clock.now)
        version = (scene.get(HOSTS, "host") or {})["metadata"]["resourceVersion"]
        result = controller.reconcile(NS, "host")
        assert (scene.get(HOSTS, "host") or {})["metadata"]["resourceVersion"] == version  # no write
        assert result.requeue_after == pytest.approx(LIMIT)
    assert reachable(scene) == condition(first, HOST_REACHABLE)  # same message and transition time


def test_a_host_heard_from_again_is_reachable_again(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    host_seen_at(scene, T0 - 1000)
    controller.reconcile(NS, "host")
    assert (reachable(scene) or {})["reason"] == CHECK_IN_OVERDUE
    checked_in(scene.kube, T0)
    controller.reconcile(NS, "host")
    assert state(scene.get(HOSTS, "host"), HOST_REACHABLE) == ("True", "Info", CHECKED_IN)
    assert (reachable(scene) or {})["message"].startswith("Last check-in recorded 0s ago")
    assert (condition(scene.get(HOSTS, "host"), READY) or {})["status"] == "True"


def test_a_time_recorded_ahead_of_the_operators_clock_is_reachable(
    scene: Scene, controller: ElementalHostController
) -> None:
    host_seen_at(scene, T0 + 20)  # the API's clock ahead of the operator's
    result = controller.reconcile(NS, "host")
    assert (reachable(scene) or {})["status"] == "True"
    assert result.requeue_after == pytest.approx(LIMIT)  # counted from now, never longer


def test_without_a_recorded_check_in_there_is_no_verdict_for_an_interval_and_the_grace(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    """The upgrade path: hosts registered before the API recorded check-ins (or moved by
    clusterctl, which drops status) have none until their next check-in."""
    scene.host("host")
    first = controller.reconcile(NS, "host")
    assert reachable(scene) is None
    assert first.requeue_after == pytest.approx(INTERVAL + GRACE)

    clock.now = T0 + INTERVAL + GRACE - 1
    assert controller.reconcile(NS, "host").requeue_after == pytest.approx(1)
    assert reachable(scene) is None

    clock.now = T0 + INTERVAL + GRACE
    assert controller.reconcile(NS, "host").requeue_after is None
    assert state(scene.get(HOSTS, "host"), HOST_REACHABLE) == ("False", "Warning", NO_CHECK_IN_RECORDED)
    assert (reachable(scene) or {})["message"] == (
        "No check-in recorded in the 90s since the operator first saw the host"
    )


def test_a_check_in_recorded_during_the_wait_gives_the_verdict_from_it(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    scene.host("host")
    controller.reconcile(NS, "host")
    clock.now = T0 + 5
    checked_in(scene.kube, clock.now)
    assert controller.reconcile(NS, "host").requeue_after == pytest.approx(LIMIT)
    assert (reachable(scene) or {})["status"] == "True"


def test_a_restarted_operator_starts_the_wait_again(scene: Scene, clock: Clock) -> None:
    """First sight is this operator's memory: a new one (restart, another leader) waits
    anew, which only delays the verdict on a host that never checks in."""
    scene.host("host")
    scene.hosts(clock, heartbeat_interval=INTERVAL, heartbeat_grace=GRACE).reconcile(NS, "host")
    clock.now = T0 + INTERVAL + GRACE
    restarted = scene.hosts(clock, heartbeat_interval=INTERVAL, heartbeat_grace=GRACE)
    assert restarted.reconcile(NS, "host").requeue_after == pytest.approx(INTERVAL + GRACE)
    assert reachable(scene) is None


def test_a_host_recreated_under_its_name_waits_anew(
    scene: Scene, clock: Clock, controller: ElementalHostController
) -> None:
    scene.host("host")
    controller.reconcile(NS, "host")
    del scene.kube.objects[HOSTS][(NS, "host")]
    controller.reconcile(NS, "host")  # gone: forgotten
    clock.now = T0 + INTERVAL + GRACE
    scene.host("host")
    assert controller.reconcile(NS, "host").requeue_after == pytest.approx(INTERVAL + GRACE)
    assert reachable(scene) is None


def test_a_host_being_deleted_gets_no_verdict(scene: Scene, controller: ElementalHostController) -> None:
    host_seen_at(scene, T0 - 1000)
    controller.reconcile(NS, "host")  # finalizer first
    condition_before = reachable(scene)
    scene.kube.delete(HOSTS, NS, "host")
    checked_in(scene.kube, T0 - 2000)
    assert controller.reconcile(NS, "host").requeue_after is None
    assert reachable(scene) == condition_before


def test_no_heartbeat_interval_no_condition(scene: Scene, clock: Clock) -> None:
    """An operator built without the setting (the CLI always sets it) judges nothing."""
    host_seen_at(scene, T0 - 1000)
    result = scene.hosts(clock).reconcile(NS, "host")
    assert reachable(scene) is None
    assert result.requeue_after is None


def test_a_paused_host_is_not_judged(scene: Scene, controller: ElementalHostController) -> None:
    host_seen_at(scene, T0 - 1000)
    scene.kube.change(
        HOSTS,
        NS,
        "host",
        lambda o: o["metadata"].setdefault("annotations", {}).update({"cluster.x-k8s.io/paused": ""}),
    )
    assert controller.reconcile(NS, "host").requeue_after is None
    assert reachable(scene) is None


@pytest.mark.parametrize(("grace", "silent", "status"), [(0.0, 119.9, "True"), (0.0, 120.0, "False")])
def test_a_grace_of_zero_leaves_two_intervals(
    scene: Scene, clock: Clock, grace: float, silent: float, status: str
) -> None:
    host_seen_at(scene, T0 - silent)
    scene.hosts(clock, heartbeat_interval=INTERVAL, heartbeat_grace=grace).reconcile(NS, "host")
    assert (reachable(scene) or {})["status"] == status
