"""A new host costs kube-apiserver the API's two writes (the object, then its status) and
none of the operator's: the API writes HostReachable and the Ready summary with the
registration's status, as the operator's host controller would set them, so the operator
finds nothing to change. Its installation likewise: the API writes RegistrationReady and
InstallationReady with the installed label. Counted from kube-apiserver's own
apiserver_request_total."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_api.store import Store, open_store
from elemental_core import hosts
from elemental_core.records import Host, Registration
from elemental_core.vocabulary import CHECKED_IN, HOST_REACHABLE, INSTALLATION_READY, REGISTRATION_READY
from elemental_core.vocabulary import HOSTS as HOSTS_RESOURCE
from elemental_models.api import ApiHostPatchRequest
from tests.controlplane import ControlPlane
from tests.helpers import make_registration, wait_for
from tests.operator.activity import Activity, caches_current, poke
from tests.operator.capi import HOSTS, is_true, reason
from tests.operator.conftest import settings


def host_requests(control_plane: ControlPlane) -> Counter[str]:
    """Requests for ElementalHosts so far, by verb and subresource ("PATCH status")."""
    counts: Counter[str] = Counter()
    for labels, count in control_plane.request_counts():
        if labels.get("resource") == "elementalhosts" and labels.get("verb") not in ("WATCH", "LIST", "GET"):
            counts[f"{labels['verb']} {labels.get('subresource') or 'object'}"] += int(count)
    return counts


def managers(obj: dict[str, Any]) -> set[str]:
    return {entry["manager"] for entry in obj["metadata"].get("managedFields") or []}


@dataclass
class Fleet:
    """A running operator (with liveness) and the API's Kubernetes store, with a registration."""

    manager: Any
    store: Store
    registration: Registration
    namespace: str


@pytest.fixture
def fleet(start_operator: Any, control_plane: ControlPlane, kube_namespace: str) -> Iterator[Fleet]:
    operator = start_operator(settings(heartbeat_interval=60.0, heartbeat_grace=30.0))
    store = open_store("kubernetes", kubeconfig=str(control_plane.kubeconfig_path))
    try:
        registration, _ = make_registration(store, name="fleet", namespace=kube_namespace)
        yield Fleet(operator.manager, store, registration, kube_namespace)
    finally:
        store.close()


def reconciled_once(
    manager: Any, custom: k8s.CustomObjectsApi, namespace: str, activity: Activity, name: str
) -> Any:
    """The host after the operator has reconciled it at least once as the API left it (a
    reconcile that starts once its caches are current), and its caches have its writes."""
    wait_for(lambda: caches_current(custom, namespace, manager), 60, "the operator's caches current")
    since = activity.counts(manager, "elementalhost", namespace, [name])
    poke(custom, HOSTS_RESOURCE, namespace, name)
    activity.wait_processed(manager, "elementalhost", namespace, [name], times=1, since=since)
    wait_for(lambda: caches_current(custom, namespace, manager), 60, "the operator's caches current")
    return custom.get_namespaced_custom_object(
        HOSTS_RESOURCE.group, HOSTS_RESOURCE.version, namespace, HOSTS, name
    )


def test_a_new_host_costs_the_operator_no_write(
    fleet: Fleet, control_plane: ControlPlane, custom: k8s.CustomObjectsApi, activity: Activity
) -> None:
    before = host_requests(control_plane)
    # As the createHost handler leaves it: registering is checking in.
    new = Host(namespace=fleet.namespace, name="new", registration=fleet.registration.name)
    fleet.store.create_host(hosts.seen(new, time.time(), 60.0))
    host = reconciled_once(fleet.manager, custom, fleet.namespace, activity, "new")
    assert reason(host, HOST_REACHABLE) == CHECKED_IN and is_true(host, "Ready")
    assert "elemental-operator" not in managers(host)
    writes = host_requests(control_plane) - before
    assert writes == Counter({"POST object": 1, "PATCH status": 1, "PATCH object": 1}), (
        "the API's create and status write, the test's poke, nothing else"
    )


def test_an_installation_costs_the_operator_no_write(
    fleet: Fleet, control_plane: ControlPlane, custom: k8s.CustomObjectsApi, activity: Activity
) -> None:
    new = Host(namespace=fleet.namespace, name="new", registration=fleet.registration.name)
    created = fleet.store.create_host(hosts.seen(new, time.time(), 60.0))
    before = host_requests(control_plane)
    # The agent's installation check-in, as the patchHost handler applies it.
    installed = ApiHostPatchRequest.model_validate(
        {"installed": True, "condition": {"type": INSTALLATION_READY, "status": "True", "severity": "Info"}}
    )
    fleet.store.update_host(hosts.apply_patch(created, installed, hosts.Assigned.by(fleet.registration)))
    host = reconciled_once(fleet.manager, custom, fleet.namespace, activity, "new")
    assert is_true(host, REGISTRATION_READY) and is_true(host, INSTALLATION_READY) and is_true(host, "Ready")
    assert "elemental-operator" not in managers(host)
    writes = host_requests(control_plane) - before
    assert writes == Counter({"PATCH status": 1, "PATCH object": 2}), (
        "the API's label and status writes, the test's poke, nothing else"
    )
