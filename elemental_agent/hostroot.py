"""`--root DIR`: where the host's files are, and the one boundary for actions on the host OS.

Inside the agent every path is a *host path* (`/etc/elemental/agent/config.yaml`); file work
goes through `HostRoot.path`, which places it inside the root. With the root `/` that is the
path itself and host actions (hostname, reboot, power-off, boot entry, mounts) run for real.
With any other root, nothing can leave DIR: paths are confined to it, and each host action is
appended as a line to `DIR/var/log/elemental-agent-actions.log` instead of being executed.
"""

from __future__ import annotations

import logging
import os
import posixpath
import socket
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from elemental_agent.errors import AgentError
from elemental_agent.runner import CommandRunner

log = logging.getLogger(__name__)

ACTIONS_LOG = "/var/log/elemental-agent-actions.log"
HOSTNAME_FILE = "/etc/hostname"


class HostRoot:
    def __init__(self, root: str | os.PathLike[str] = "/", runner: CommandRunner | None = None) -> None:
        resolved = Path(root).resolve()
        self.root = resolved
        self.is_host = resolved == Path("/")
        self.runner = runner or CommandRunner()

    # -- paths -------------------------------------------------------------------------------

    def path(self, host_path: str) -> Path:
        """Where `host_path` is: itself with the root `/`, else inside the root (never outside:
        `..` stops at the root and a symlink leading out is refused)."""
        if self.is_host:
            return Path(host_path)
        normalized = posixpath.normpath("/" + host_path.lstrip("/"))
        inside = self.root / normalized.lstrip("/")
        resolved = inside.resolve()
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise AgentError(f"{host_path} leads outside --root {self.root} (through a symlink)")
        return inside

    def host_path(self, given: str) -> str:
        """A path given on the command line as a host path: a path already inside the root is
        taken as that file (`--root R --config R/etc/x.yaml` is `/etc/x.yaml`)."""
        if self.is_host:
            return given
        absolute = Path(os.path.abspath(given))
        if absolute.is_relative_to(self.root):
            return "/" + absolute.relative_to(self.root).as_posix()
        return absolute.as_posix()

    # -- files -------------------------------------------------------------------------------

    def make_dirs(self, host_path: str, mode: int = 0o700) -> None:
        """Creates a directory and its parents; refuses a path that exists but isn't one."""
        target = self.path(host_path)
        if target.exists() and not target.is_dir():
            raise AgentError(f"{host_path} exists but is not a directory")
        try:
            target.mkdir(mode=mode, parents=True, exist_ok=True)
        except OSError as error:
            raise AgentError(f"creating directory {host_path}: {error.strerror or error}") from error

    def write_file(self, host_path: str, content: bytes, mode: int = 0o644) -> None:
        """Writes a file (parents created 0700 when missing), then sets its mode."""
        target = self.path(host_path)
        try:
            if not target.parent.exists():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            target.write_bytes(content)
            target.chmod(mode)
        except OSError as error:
            raise AgentError(f"writing {host_path}: {error.strerror or error}") from error

    def read_file(self, host_path: str) -> bytes:
        try:
            return self.path(host_path).read_bytes()
        except OSError as error:
            raise AgentError(f"reading {host_path}: {error.strerror or error}") from error

    def exists(self, host_path: str) -> bool:
        return self.path(host_path).exists()

    # -- host actions ------------------------------------------------------------------------

    def current_hostname(self) -> str:
        """The machine's hostname; inside a root, the one its `/etc/hostname` names, if any."""
        if not self.is_host:
            try:
                name = self.path(HOSTNAME_FILE).read_text().strip()
            except OSError:
                name = ""
            if name:
                return name
        return socket.gethostname()

    def set_hostname(self, hostname: str) -> None:
        if self.is_host:
            self.runner.run(["hostnamectl", "set-hostname", hostname])
            return
        self.record("set-hostname", ["hostnamectl", "set-hostname", hostname])
        target = self.path(HOSTNAME_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(hostname + "\n")

    def reboot(self) -> None:
        self.action("reboot", ["reboot", "-f"])

    def power_off(self) -> None:
        self.action("poweroff", ["poweroff", "-f"])

    def action(self, name: str, argv: Sequence[str]) -> None:
        """Runs a command that changes the host (boot, power, mounts), or records it."""
        if self.is_host:
            self.runner.run(argv)
        else:
            self.record(name, argv)

    def record(self, name: str, argv: Sequence[str]) -> None:
        line = f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}\t{name}\t{' '.join(argv)}\n"
        target = self.path(ACTIONS_LOG)
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a") as stream:
            stream.write(line)
        log.info("Not on the real host (--root %s): recorded %s: %s", self.root, name, " ".join(argv))

    def actions(self) -> list[tuple[str, str]]:
        """The recorded actions as (name, command) pairs, oldest first."""
        try:
            lines = self.path(ACTIONS_LOG).read_text().splitlines()
        except OSError:
            return []
        result = []
        for line in lines:
            parts = line.split("\t", 2)
            if len(parts) == 3:
                result.append((parts[1], parts[2]))
        return result
