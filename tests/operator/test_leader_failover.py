"""Two operator processes with --leader-elect: one acts, the standby is ready but idle; when
the leader dies without releasing its Lease, the standby takes over once the Lease expires."""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import httpx

from tests.controlplane import ControlPlane
from tests.e2e.processes import OperatorProcess
from tests.helpers import wait_for

G, V = "infrastructure.cluster.x-k8s.io", "v1beta1"


def is_leader(operator: OperatorProcess) -> bool:
    text = httpx.get(f"http://127.0.0.1:{operator.port}/metrics", timeout=2).text
    match = re.search(r"^elemental_operator_leader (\S+)$", text, re.M)
    return bool(match and float(match.group(1)) == 1.0)


def registration_token(custom: Any, namespace: str, name: str) -> str | None:
    obj = custom.get_namespaced_custom_object(G, V, namespace, "elementalregistrations", name)
    token: str | None = obj["spec"]["config"]["elemental"].get("registration", {}).get("token")
    return token


def create_registration(custom: Any, namespace: str, name: str) -> None:
    body = {
        "apiVersion": f"{G}/{V}",
        "kind": "ElementalRegistration",
        "metadata": {"name": name},
        "spec": {"config": {"elemental": {}}},
    }
    custom.create_namespaced_custom_object(G, V, namespace, "elementalregistrations", body)


def test_the_standby_takes_over_when_the_leader_dies(
    control_plane: ControlPlane, kube_namespace: str, custom: Any, tmp_path: Path
) -> None:
    lease = ("--leader-elect", "--leader-elect-namespace", kube_namespace)
    operators = [
        OperatorProcess(
            kubeconfig=control_plane.kubeconfig_path,
            api_endpoint="https://e.example",
            log_path=tmp_path / f"operator-{i}.log",
            extra=lease,
        )
        for i in range(2)
    ]
    try:
        for operator in operators:
            operator.start()  # waits for /readyz: a standby is ready too
        leader = wait_for(lambda: next((o for o in operators if is_leader(o)), None), 30, "a leader")
        standby = next(o for o in operators if o is not leader)
        assert not is_leader(standby)
        create_registration(custom, kube_namespace, "first")
        wait_for(lambda: registration_token(custom, kube_namespace, "first"), 20, "the leader to act")

        assert leader.process is not None
        leader.process.send_signal(signal.SIGKILL)  # dies holding the Lease
        leader.process.wait(10)
        create_registration(custom, kube_namespace, "second")
        # Lease of 15 s, retries every 2 s: the standby must wait for expiry, then act.
        wait_for(lambda: is_leader(standby), 40, "the standby to take over")
        wait_for(lambda: registration_token(custom, kube_namespace, "second"), 20, "the new leader to act")
    finally:
        for operator in operators:
            operator.stop()


def test_a_leader_that_cannot_renew_its_lease_stops(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    """Never act without the lease: when renewals fail past the deadline (here the API server
    is down), the operator exits with status 1 instead of carrying on."""
    operator = OperatorProcess(
        kubeconfig=control_plane.kubeconfig_path,
        api_endpoint="https://e.example",
        log_path=tmp_path / "operator.log",
        extra=("--leader-elect", "--leader-elect-namespace", kube_namespace),
    ).start()
    try:
        wait_for(lambda: is_leader(operator), 30, "leadership")
        control_plane.stop(graceful=False)
        try:
            assert operator.process is not None
            status = operator.process.wait(40)  # renew deadline 10 s, retries every 2 s
        finally:
            control_plane.start()
        assert status == 1, operator.log()
        assert "leader lease lost" in operator.log()
    finally:
        operator.stop()
