"""The real server in a subprocess: `elemental-api serve` (gunicorn + uvicorn workers) on SQLite.

Tests import what they need explicitly:

    from tests.live import LiveServer, live_server  # noqa: F401  (the fixture)

`LiveServer` is a context manager; the `live_server` fixture is one server per test module.
Registrations go straight into the server's SQLite file (`make_registration`), with the
server's URL as endpoint, so the registration URI, and thus the tokens' `aud`, match it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from elemental_api.store import Store, open_store
from elemental_core.records import Registration
from tests.helpers import make_registration

STARTUP_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def elemental_api_command() -> list[str]:
    """The installed `elemental-api` script next to this interpreter, else `python -m`."""
    script = Path(sys.executable).parent / "elemental-api"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "elemental_api.cli"]


class LiveServer:
    """`elemental-api serve` on a free port with its own SQLite file, logs and metrics dir."""

    def __init__(
        self,
        directory: Path,
        *,
        workers: int = 2,
        extra_args: tuple[str, ...] = (),
        kubeconfig: Path | None = None,
    ) -> None:
        """kubeconfig: serve from the Kubernetes store of that cluster instead of SQLite."""
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self.kubeconfig = str(kubeconfig) if kubeconfig else None
        self.extra_args = extra_args + (("--kubeconfig", self.kubeconfig) if self.kubeconfig else ())
        self.db_path = directory / "e.db"
        self.store_url = "kubernetes" if kubeconfig else f"sqlite:///{self.db_path}"
        self.log_path = directory / "server.log"
        self.metrics_dir = directory / "metrics"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._stores: list[Store] = []

    # -- life -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        for _attempt in range(3):  # the free port may be taken between the probe and the bind
            self.port = free_port()
            if self._start_once():
                return self
        raise RuntimeError(f"the server did not start; its log:\n{self.log()}")

    def _start_once(self) -> bool:
        self.metrics_dir.mkdir(exist_ok=True)
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir)}
        env.pop("ELEMENTAL_STORE", None)
        command = [
            *elemental_api_command(),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--store",
            self.store_url,
            "--workers",
            str(self.workers),
            "--api-endpoint",
            self.base_url,
            *self.extra_args,
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.directory
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"the server did not answer /healthz in {STARTUP_TIMEOUT_SECONDS}s:\n{self.log()}")

    def terminate(self, stop_signal: int = signal.SIGTERM) -> None:
        """Sends SIGTERM (gunicorn's graceful shutdown), or `stop_signal`, without waiting."""
        assert self.process is not None
        self.process.send_signal(stop_signal)

    def wait(self, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> int:
        """The exit status; kills the server and fails when it outlives `timeout`."""
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(
                f"the server did not exit within {timeout}s of SIGTERM; killed. Its log:\n{self.log()}"
            ) from None

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT_SECONDS) -> int:
        """SIGTERM, then the exit status (see `wait`)."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.terminate()
        return self.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to the master and, so none lingers, to the workers it forked."""
        if self.process is None or self.process.poll() is not None:
            return
        for pid in self.worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.kill()
        self.process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        """Live child processes of the server (gunicorn's workers), from /proc."""
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def assert_no_server_errors(self) -> None:
        """The server logged no error and no traceback (4xx answers log warnings only)."""
        errors = [
            line for line in self.log().splitlines() if '"level": "error"' in line or "Traceback" in line
        ]
        assert not errors, "the server logged errors:\n" + "\n".join(errors)

    def close(self) -> None:
        for store in self._stores:
            store.close()
        self._stores.clear()

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if self.process is not None and self.process.poll() is None:
                status = self.stop()
                if exc_type is None:
                    assert status == 0, f"the server exited with {status}; its log:\n{self.log()}"
        finally:
            self.close()

    # -- data -------------------------------------------------------------------------------

    def store(self) -> Store:
        """A store on the server's SQLite file (closed with the server)."""
        opened = open_store(self.store_url, kubeconfig=self.kubeconfig)
        self._stores.append(opened)
        return opened

    def make_registration(
        self, name: str = "reg", namespace: str = "default", **options: Any
    ) -> Registration:
        """A registration in the server's store whose URI (and token audience) is this server."""
        registration, _key = make_registration(
            self.store(), name=name, namespace=namespace, endpoint=self.base_url, **options
        )
        return registration

    def client(self, **options: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **options)

    def requests_served(self, method: str, route: str) -> dict[int, float]:
        """Per worker pid: requests counted by `elemental_api_requests_total{method, route}`.

        Read from the prometheus_client multiprocess files, one `counter_<pid>.db` per worker.
        """
        from prometheus_client.mmap_dict import MmapedDict

        served: dict[int, float] = {}
        for path in self.metrics_dir.glob("counter_*.db"):
            pid = int(path.stem.rsplit("_", 1)[1])
            values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
            for key, value, _timestamp, _position in values:
                _metric, sample, labels, _help = _parse_metric_key(key)
                if (
                    sample == "elemental_api_requests_total"
                    and labels.get("method") == method
                    and labels.get("route") == route
                ):
                    served[pid] = served.get(pid, 0.0) + value
        return served


def _parse_metric_key(key: str) -> tuple[str, str, dict[str, str], str]:
    metric, sample, labels, help_text = json.loads(key)
    return metric, sample, labels, help_text


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server (2 workers) per test module."""
    with LiveServer(tmp_path_factory.mktemp("live")) as server:
        yield server
