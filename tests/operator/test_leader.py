"""Leader election: of two managers sharing a Lease only one acts; when it stops cleanly the
other takes over."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client as k8s

from tests.controlplane import ControlPlane
from tests.operator.capi import REGS, Capi, is_true, wait_for


def holder(control_plane: ControlPlane, namespace: str, name: str) -> str:
    with control_plane.api_client() as api:
        lease = k8s.CoordinationV1Api(api).read_namespaced_lease(name, namespace)
    return str(lease.spec.holder_identity or "")


def lease_reads(operator: Any) -> list[str]:
    """Spies on an operator's reads of its Lease (calling through): the holder each saw."""
    seen: list[str] = []
    lock = threading.Lock()
    read = operator.kube.read_lease

    def counted(namespace: str, name: str) -> Any:
        lease = read(namespace, name)
        with lock:
            seen.append(str(lease.spec.holder_identity or "") if lease is not None else "")
        return lease

    operator.kube.read_lease = counted
    return seen


def test_only_one_of_two_acts_and_the_second_takes_over(
    start_operator: Any, capi: Capi, control_plane: ControlPlane
) -> None:
    lease = {"leader_elect": True, "leader_namespace": capi.namespace, "leader_name": "elemental-lease"}
    first = start_operator(**lease)
    second = start_operator(wait=False, **lease)
    second_reads = lease_reads(second)
    assert first.manager.elector is not None and second.manager.elector is not None
    assert holder(control_plane, capi.namespace, "elemental-lease") == first.manager.elector.identity

    # The first acts; the second waits for the lease with no worker running.
    capi.create(REGS, "reg-1", {"spec": {}})
    capi.wait(REGS, "reg-1", lambda o: is_true(o, "Ready"))
    # The second keeps trying (twice more, a retry period apart) and finds the first holding it.
    tried = len(second_reads)
    wait_for(lambda: len(second_reads) >= tried + 2, 20, "the second manager trying for the lease")
    assert set(second_reads) == {first.manager.elector.identity}, second_reads
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
    third_reads = lease_reads(third)
    wait_for(lambda: len(third_reads) >= 2, 30, "the third manager trying for the lease twice")
    assert set(third_reads) == {second.manager.elector.identity}, third_reads
    assert not third.manager.ready.is_set()
    assert not [t for t in third.manager._threads if t.is_alive()]
    assert holder(control_plane, capi.namespace, "elemental-lease") == second.manager.elector.identity
