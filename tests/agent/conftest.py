"""Agent test fixtures: a host root, the agent as a process, the real API app served over TCP.

`api_server` serves the `app` fixture of tests/conftest.py (the real connexion app over the
`store` fixture, so once per store backend) with uvicorn in a thread on a free port; the
agent, in-process or as a subprocess, reaches it as any agent reaches the API.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from elemental_api.store import Store
from elemental_core import registrations
from elemental_core.records import Registration
from tests.helpers import make_registration, wait_for
from tests.live import free_port, live_server  # noqa: F401  (the fixture, for the modules here)

AGENT_TIMEOUT = 30.0
FAST = 100_000_000  # 100 ms, as a Go duration in nanoseconds


def agent_command() -> list[str]:
    script = Path(sys.executable).parent / "elemental-agent"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "elemental_agent.cli"]


@dataclass
class AgentHost:
    """A host for the agent: its root directory and the agent run inside it."""

    root: Path
    env: dict[str, str]

    @property
    def config_path(self) -> Path:
        return self.root / "etc/elemental/agent/config.yaml"

    def file(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def write_config(self, config: dict[str, Any]) -> Path:
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return self.config_path

    def argv(self, *args: str) -> list[str]:
        return [*agent_command(), "--root", str(self.root), "--config", str(self.config_path), *args]

    def run(self, *args: str, timeout: float = AGENT_TIMEOUT) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), capture_output=True, text=True, timeout=timeout, env=self.env, check=False
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env
        )

    def actions(self) -> list[str]:
        log = self.file("/var/log/elemental-agent-actions.log")
        if not log.exists():
            return []
        return [line.split("\t")[1] for line in log.read_text().splitlines()]


def stop(process: subprocess.Popen[str], timeout: float = 10) -> tuple[int, str]:
    """SIGTERM, then the exit status and stderr."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _out, err = process.communicate()
        raise AssertionError(f"the agent ignored SIGTERM for {timeout}s:\n{err}") from None
    return process.returncode, err


def finish(process: subprocess.Popen[str], timeout: float = 20) -> tuple[int, str]:
    """Waits for the agent to exit by itself: its exit status and stderr."""
    try:
        _out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        return stop(process)[0] or -1, "the agent did not exit by itself"
    return process.returncode, err


# A stand-in for elemental-toolkit's `elemental` CLI: records each call's arguments and
# ELEMENTAL_* environment in $ELEMENTAL_STANDIN_LOG; `state` prints $ELEMENTAL_STANDIN_STATE;
# exits with $ELEMENTAL_STANDIN_EXIT (0).
STAND_IN = """#!/bin/sh
{
  printf 'call'
  for arg in "$@"; do printf ' %s' "$arg"; done
  printf '\\n'
  env | grep '^ELEMENTAL_[A-Z_]*=' | grep -v '^ELEMENTAL_STANDIN' | sort
  printf 'end\\n'
} >> "$ELEMENTAL_STANDIN_LOG"
if [ "$1" = state ] && [ -f "$ELEMENTAL_STANDIN_STATE" ]; then cat "$ELEMENTAL_STANDIN_STATE"; fi
exit "${ELEMENTAL_STANDIN_EXIT:-0}"
"""


@dataclass
class Call:
    args: list[str]
    env: dict[str, str]


@dataclass
class StandIn:
    log: Path
    state: Path

    def calls(self) -> list[Call]:
        if not self.log.exists():
            return []
        calls, current = [], None
        for line in self.log.read_text().splitlines():
            if line.startswith("call"):
                current = Call(args=line.split()[1:], env={})
            elif line == "end":
                assert current is not None
                calls.append(current)
            elif current is not None:
                key, _, value = line.partition("=")
                current.env[key] = value
        return calls


@pytest.fixture
def agent_host(tmp_path: Path) -> AgentHost:
    root = tmp_path / "host"
    root.mkdir()
    return AgentHost(root=root, env={**os.environ})


def agent_config(registration: Registration) -> dict[str, Any]:
    """What `elemental-api registration agent-config` prints for the registration."""
    return registrations.agent_config(registration)


def dummy_registration_config(reconciliation: int = FAST) -> dict[str, Any]:
    """A registration config for agents with the dummy plugin, checking in every 100 ms."""
    return {
        "elemental": {
            "agent": {
                "osPlugin": "/usr/lib/elemental/plugins/dummy.so",
                "reconciliation": reconciliation,
                "hostname": {"useExisting": False, "prefix": "m-"},
            },
            "install": {"device": "/dev/vda", "debug": True},
            "reset": {"resetPersistent": True},
        },
        "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
    }


class ThreadedServer:
    """An ASGI app served by uvicorn in a thread (http, or https with cert and key)."""

    def __init__(self, app: Any, *, certfile: Path | None = None, keyfile: Path | None = None) -> None:
        self.port = free_port()
        self.scheme = "https" if certfile else "http"
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        wait_for(lambda: self.server.started, timeout=15, what="uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def api_server(app: Any) -> Iterator[ThreadedServer]:
    with ThreadedServer(app) as server:
        yield server


@pytest.fixture
def dummy_registration(store: Store, api_server: ThreadedServer) -> Registration:
    registration, _key = make_registration(
        store, name="agents", endpoint=api_server.base_url, config=dummy_registration_config()
    )
    return registration


class FailingServer:
    """An HTTP server answering every request with one status and a problem body (or `body`,
    of `content_type`, as something between an agent and the API might answer)."""

    def __init__(
        self,
        status: int = 503,
        detail: str = "the store is unreachable",
        *,
        body: bytes | None = None,
        content_type: str = "application/problem+json",
    ) -> None:
        import http.server
        import json

        if body is None:
            body = json.dumps(
                {"type": "about:blank", "title": "Service Unavailable", "status": status, "detail": detail}
            ).encode()
        self.requests: list[str] = []
        requests = self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                requests.append(f"{self.command} {self.path}")
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FailingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def failing_server() -> Iterator[FailingServer]:
    with FailingServer() as server:
        yield server
