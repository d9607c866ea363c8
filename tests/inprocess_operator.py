"""The operator's Manager running in a thread of the test process, against a test control
plane: what the operator tests drive, and what completes registrations and releases hosts
beside the API tests on the Kubernetes store (on Kubernetes those are the operator's rules)."""

from __future__ import annotations

import threading
from typing import Any

from elemental_operator.controllers.base import Settings
from elemental_operator.manager import Manager, ManagerOptions, connect
from tests.controlplane import ControlPlane


class RunningOperator:
    def __init__(self, control_plane: ControlPlane, settings: Settings, **options: Any) -> None:
        self.kube = connect(str(control_plane.kubeconfig_path))
        self.manager = Manager(
            self.kube, ManagerOptions(settings=settings, health_address=("127.0.0.1", 0), **options)
        )
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.exit_code = self.manager.run()

    def start(self, wait: bool = True) -> RunningOperator:
        self.thread.start()
        if wait:
            assert self.manager.ready.wait(60), "operator did not become ready"
        return self

    def stop(self) -> None:
        self.manager.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "operator did not stop"
