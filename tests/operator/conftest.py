"""Fixtures for operator tests: the operator's Manager running in-process against the real
test control plane (each test in its own namespace)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_operator.controllers.base import Settings
from elemental_operator.kube import Kube, api_client
from elemental_operator.manager import Manager, ManagerOptions
from tests.controlplane import ControlPlane

API_ENDPOINT = "https://elemental-api.example:9090"


class RunningOperator:
    def __init__(self, control_plane: ControlPlane, settings: Settings, **options: Any) -> None:
        self.kube = Kube(api_client(str(control_plane.kubeconfig_path)))
        self.manager = Manager(
            self.kube, ManagerOptions(settings=settings, health_address=("127.0.0.1", 0), **options)
        )
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.exit_code = self.manager.run()

    def start(self) -> RunningOperator:
        self.thread.start()
        assert self.manager.ready.wait(60), "operator did not become ready"
        return self

    def stop(self) -> None:
        self.manager.stop_event.set()
        self.thread.join(30)


@pytest.fixture
def start_operator(control_plane: ControlPlane) -> Iterator[Callable[..., RunningOperator]]:
    started: list[RunningOperator] = []

    def start(settings: Settings | None = None, **options: Any) -> RunningOperator:
        operator = RunningOperator(
            control_plane, settings or Settings(api_endpoint=API_ENDPOINT, requeue_period=0.5), **options
        )
        started.append(operator.start())
        return operator

    yield start
    for operator in started:
        operator.stop()


@pytest.fixture
def custom(control_plane: ControlPlane) -> Iterator[k8s.CustomObjectsApi]:
    with control_plane.api_client() as api:
        yield k8s.CustomObjectsApi(api)


@pytest.fixture
def core(control_plane: ControlPlane) -> Iterator[k8s.CoreV1Api]:
    with control_plane.api_client() as api:
        yield k8s.CoreV1Api(api)
