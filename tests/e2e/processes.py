"""The operator as a real process, for end-to-end tests."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live import LiveServer, free_port


class OperatorProcess:
    def __init__(
        self,
        *,
        kubeconfig: Path,
        api_endpoint: str,
        log_path: Path,
        extra: tuple[str, ...] = (),
        heartbeat_interval: float | None = None,
        heartbeat_grace: float | None = None,
    ) -> None:
        """heartbeat_interval (the API's, same value) and heartbeat_grace: when a host is
        unreachable (HostReachable False); the operator's defaults when None."""
        self.port = free_port()
        liveness = _option("--heartbeat-interval", heartbeat_interval) + _option(
            "--heartbeat-grace", heartbeat_grace
        )
        script = Path(sys.executable).parent / "elemental-operator"
        command = [str(script)] if script.exists() else [sys.executable, "-m", "elemental_operator.cli"]
        self.command = [
            *command,
            "run",
            "--kubeconfig",
            str(kubeconfig),
            "--api-endpoint",
            api_endpoint,
            "--requeue-period",
            "1",
            "--health-bind-address",
            f"127.0.0.1:{self.port}",
            *liveness,
            *extra,
        ]
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> OperatorProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"operator exited:\n{self.log()}"
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"operator not ready in {timeout}s:\n{self.log()}")

    def stop(self) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


class ApiProcess(LiveServer):
    """`elemental-api serve` on the Kubernetes store of one cluster; `switch` restarts it on the
    same port against another cluster, as a DNS switch after a move would do for agents."""

    def __init__(self, directory: Path, kubeconfig: Path, *, heartbeat_interval: float | None = None) -> None:
        """heartbeat_interval: how often at most a host's check-in is recorded (status.lastSeen);
        the API's default when None."""
        self.options = _option("--heartbeat-interval", heartbeat_interval)
        super().__init__(directory, workers=1, kubeconfig=kubeconfig, extra_args=self.options)

    def switch(self, kubeconfig: Path, timeout: float = 60) -> None:
        assert self.stop() == 0, self.log()[-5000:]
        self.kubeconfig = str(kubeconfig)
        self.extra_args = (*self.options, "--kubeconfig", self.kubeconfig)
        deadline = time.monotonic() + timeout
        while not self._start_once():  # the port may linger a moment after the old server
            assert time.monotonic() < deadline, f"the API did not start again:\n{self.log()[-5000:]}"
            time.sleep(0.5)

    def answered(self, method: str, status: str = "200") -> float:
        """How many requests of `method` the server answered with `status` (its metrics)."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            ours = line.startswith("elemental_api_requests_total{") and f'method="{method}"' in line
            if ours and f'status="{status}"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total


def _option(name: str, value: float | None) -> tuple[str, ...]:
    return () if value is None else (name, f"{value:g}")
