"""The project's programs as real processes, with their logs kept for failure messages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
# Variables of the developer's shell that would change what the programs do.
FOREIGN_ENV = ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "ELEMENTAL_STORE")


def script(name: str) -> str:
    """An installed console script of the project, next to the test's interpreter."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{path} is missing: install the project (scripts/setup)"
    return str(path)


def clean_env(extra: Mapping[str, str] = {}) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV and not k.startswith("ELEMENTAL_")}
    env.update(extra)
    return env


class Process:
    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str], log: Path) -> None:
        self.name = name
        self.command = list(command)
        self.log_path = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own group: a kill reaches gunicorn's workers too
            )

    def log(self, tail: int = 60) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-tail:])

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_for(self, check: Callable[[], T | None], timeout: float, what: str) -> T:
        """Polls `check` until it returns something truthy; fails early if the process died."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(
                    f"{self.name} exited ({self.popen.returncode}) waiting for {what}; its log:\n{self.log()}"
                )
            last = check()
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError(
            f"{self.name}: no {what} after {timeout}s (last {last!r}); its log:\n{self.log()}"
        )

    def stop(self, grace: float = 20.0) -> int:
        """SIGTERM, then SIGKILL after `grace` seconds; the exit status."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
        return self.popen.wait()
