"""Leader election: of two managers sharing a Lease only one acts; when it stops cleanly the
other takes over."""

from __future__ import annotations

import time
from typing import Any

from kubernetes import client as k8s

from tests.controlplane import ControlPlane
from tests.operator.capi import REGS, Capi, is_true, wait_for


def holder(control_plane: ControlPlane, namespace: str, name: str) -> str:
    with control_plane.api_client() as api:
        lease = k8s.CoordinationV1Api(api).read_namespaced_lease(name, namespace)
    return str(lease.spec.holder_identity or "")


def test_only_one_of_two_acts_and_the_second_takes_over(
    start_operator: Any, capi: Capi, control_plane: ControlPlane
) -> None:
    lease = {"leader_elect": True, "leader_namespace": capi.namespace, "leader_name": "elemental-lease"}
    first = start_operator(**lease)
    second = start_operator(wait=False, **lease)
    assert first.manager.elector is not None and second.manager.elector is not None
    assert holder(control_plane, capi.namespace, "elemental-lease") == first.manager.elector.identity

    # The first acts; the second waits for the lease with no worker running.
    capi.create(REGS, "reg-1", {"spec": {}})
    capi.wait(REGS, "reg-1", lambda o: is_true(o, "Ready"))
    time.sleep(2.5)  # longer than the elector's retry period
    assert not second.manager.ready.is_set()
    assert not [t for t in second.manager._threads if t.is_alive()]
    assert holder(control_plane, capi.namespace, "elemental-lease") == first.manager.elector.identity

    # A clean stop gives the lease up; the second acquires it and starts acting.
    first.stop()
    assert first.exit_code == 0
    assert second.manager.ready.wait(10), "the second manager did not take over"
    assert holder(control_plane, capi.namespace, "elemental-lease") == second.manager.elector.identity
    capi.create(REGS, "reg-2", {"spec": {}})
    capi.wait(REGS, "reg-2", lambda o: is_true(o, "Ready"))

    # A third one now waits behind the second.
    third = start_operator(wait=False, **lease)
    wait_for(third.thread.is_alive, 5, "third manager running")
    time.sleep(0.5)
    assert not third.manager.ready.is_set()
