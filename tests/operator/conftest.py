"""Fixtures for operator tests: the operator's Manager running in-process against the real
test control plane (each test in its own namespace), a second kube-apiserver standing in for
the workload ("downstream") cluster, and `capi`, the test playing Cluster API's part."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_operator.controllers.base import Settings
from tests.controlplane import ControlPlane
from tests.inprocess_operator import RunningOperator
from tests.operator.activity import Activity
from tests.operator.capi import Capi, Downstream

API_ENDPOINT = "https://elemental-api.example:9090"
REQUEUE = 0.5


def settings(**overrides: Any) -> Settings:
    return Settings(**{"api_endpoint": API_ENDPOINT, "requeue_period": REQUEUE, **overrides})


@pytest.fixture
def start_operator(
    control_plane: ControlPlane, kube_namespace: str
) -> Iterator[Callable[..., RunningOperator]]:
    """start_operator(settings=None, wait=True, **ManagerOptions kwargs); stopped at teardown.

    Scoped to the test's namespace unless `namespaces` is given: the session control plane
    keeps every earlier test's objects (no namespace controller deletes them), and an
    operator reconciling those would never be idle, nor would its work be the test's alone."""
    started: list[RunningOperator] = []

    def start(settings_: Settings | None = None, wait: bool = True, **options: Any) -> RunningOperator:
        options.setdefault("namespaces", frozenset({kube_namespace}))
        operator = RunningOperator(control_plane, settings_ or settings(), **options)
        started.append(operator)
        return operator.start(wait)

    yield start
    for operator in started:
        if operator.thread.is_alive():
            operator.stop()


@pytest.fixture
def activity(monkeypatch: pytest.MonkeyPatch) -> Activity:
    """Counts the operators' work (tests.operator.activity); before any operator starts."""
    return Activity(monkeypatch)


@pytest.fixture
def custom(control_plane: ControlPlane) -> Iterator[k8s.CustomObjectsApi]:
    with control_plane.api_client() as api:
        yield k8s.CustomObjectsApi(api)


@pytest.fixture
def core(control_plane: ControlPlane) -> Iterator[k8s.CoreV1Api]:
    with control_plane.api_client() as api:
        yield k8s.CoreV1Api(api)


@pytest.fixture(scope="session")
def downstream() -> Iterator[Downstream]:
    """A second kube-apiserver: the workload cluster whose Nodes get their providerID."""
    with ControlPlane() as cp, cp.api_client() as api:
        yield Downstream(cp, k8s.CoreV1Api(api))


@pytest.fixture
def capi(custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, kube_namespace: str) -> Iterator[Capi]:
    """Creates what Cluster API would; afterwards removes the namespace's objects (no
    namespace controller runs, so they would otherwise stay and be reconciled by every
    operator started later in the session)."""
    world = Capi(custom, core, kube_namespace)
    yield world
    world.cleanup()
