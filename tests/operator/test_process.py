"""`elemental-operator run` as a real process: health, readiness and metrics endpoints,
configuration from flags or upstream's environment variables, SIGTERM, bad configuration."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.controlplane import ControlPlane, free_port, stop_process
from tests.operator.capi import REGS, Capi, is_true, wait_for

ENV_VARS = (
    "ELEMENTAL_API_ENDPOINT",
    "ELEMENTAL_API_PROTOCOL",
    "ELEMENTAL_ENABLE_DEFAULT_CA",
    "ELEMENTAL_API_TLS_CA",
    "KUBECONFIG",
)


def command() -> list[str]:
    script = Path(sys.executable).parent / "elemental-operator"
    return [str(script)] if script.exists() else [sys.executable, "-m", "elemental_operator.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    return {**env, **extra}


class Process:
    def __init__(self, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.port = free_port()
        self.logs = logs
        with open(logs, "wb") as out:
            self.proc = subprocess.Popen(
                [*command(), "run", *args, "--health-bind-address", f"127.0.0.1:{self.port}"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def get(self, path: str) -> httpx.Response | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2)
        except httpx.TransportError:
            return None

    def wait_status(self, path: str, status: int = 200, timeout: float = 30) -> httpx.Response:
        def probe() -> httpx.Response | None:
            assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.logs.read_text()[-3000:]}"
            response = self.get(path)
            return response if response is not None and response.status_code == status else None

        return wait_for(probe, timeout, f"{path} answering {status}")

    def terminate(self) -> int:
        """SIGTERM; the exit status (a test fails if the operator outlives a generous bound)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def log_records(self) -> list[dict[str, Any]]:
        """The operator's JSON log lines (other lines, if any, are left out)."""
        records = []
        for line in self.logs.read_text().splitlines():
            with contextlib.suppress(ValueError):
                records.append(json.loads(line))
        return records


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    started: list[Process] = []

    def run(args: list[str], env: dict[str, str]) -> Process:
        process = Process(args, env, tmp_path / f"operator-{len(started)}.log")
        started.append(process)
        return process

    yield run
    for process in started:
        stop_process(process.proc, grace=5)


def test_health_readiness_metrics_and_sigterm(spawn: Any, capi: Capi, control_plane: ControlPlane) -> None:
    endpoint = "https://flags.example:9443"
    operator = spawn(
        [
            "--kubeconfig",
            str(control_plane.kubeconfig_path),
            "--api-endpoint",
            endpoint,
            "--requeue-period",
            "0.5",
        ],
        clean_env(),
    )
    operator.wait_status("/healthz")
    ready = operator.wait_status("/readyz")
    assert ready.text == "ok"
    assert operator.get("/nothing-here").status_code == 404

    capi.create(REGS, "reg", {"spec": {}})
    obj = capi.wait(REGS, "reg", lambda o: is_true(o, "Ready"))
    reg = obj["spec"]["config"]["elemental"]["registration"]
    assert reg["uri"] == f"{endpoint}/elemental/v1/namespaces/{capi.namespace}/registrations/reg"
    assert "caCert" not in reg

    metrics = operator.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'elemental_operator_reconcile_total{controller="elementalregistration",result="success"}'
        in metrics.text
    )
    assert "elemental_operator_workqueue_depth" in metrics.text
    assert "elemental_operator_reconcile_duration_seconds_bucket" in metrics.text

    code = operator.terminate()
    assert code == 0, operator.logs.read_text()[-3000:]
    # Stopped cleanly: it said why, nothing failed on the way out, and nothing answers any more.
    records = operator.log_records()
    assert {"msg": "shutting down", "signal": signal.SIGTERM} in [
        {"msg": r.get("msg"), "signal": r.get("signal")} for r in records
    ], records[-5:]
    assert not [r for r in records if r.get("level") in ("error", "critical")], records[-5:]
    assert "Traceback" not in operator.logs.read_text()
    assert operator.get("/healthz") is None


def test_configuration_from_upstream_environment_variables(
    spawn: Any, capi: Capi, control_plane: ControlPlane, tmp_path: Path
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIBenvironmentCA\n-----END CERTIFICATE-----\n")
    operator = spawn(
        ["--requeue-period", "0.5"],
        clean_env(
            KUBECONFIG=str(control_plane.kubeconfig_path),
            ELEMENTAL_API_ENDPOINT="env.example:8080",
            ELEMENTAL_API_PROTOCOL="http",
            ELEMENTAL_ENABLE_DEFAULT_CA="true",
            ELEMENTAL_API_TLS_CA=str(ca),
        ),
    )
    operator.wait_status("/readyz")
    capi.create(REGS, "reg", {"spec": {}})
    obj = capi.wait(REGS, "reg", lambda o: is_true(o, "Ready"))
    reg = obj["spec"]["config"]["elemental"]["registration"]
    assert reg["uri"] == f"http://env.example:8080/elemental/v1/namespaces/{capi.namespace}/registrations/reg"
    assert reg["caCert"] == ca.read_text()
    assert operator.terminate() == 0, operator.logs.read_text()[-3000:]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "--api-endpoint"),
        ({"ELEMENTAL_API_ENDPOINT": "x.example", "ELEMENTAL_API_PROTOCOL": "ftp"}, "ELEMENTAL_API_PROTOCOL"),
        (
            {"ELEMENTAL_API_ENDPOINT": "x.example", "ELEMENTAL_ENABLE_DEFAULT_CA": "true"},
            "ELEMENTAL_API_TLS_CA",
        ),
    ],
)
def test_bad_configuration_exits_2_naming_what_is_missing(env: dict[str, str], named: str) -> None:
    result = subprocess.run(
        [*command(), "run", "--kubeconfig", "/nonexistent"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result
    assert named in result.stderr
