"""The OS plugin interface (upstream's `osplugin.Plugin`), in Python.

The agent decides *when*; a plugin decides *how* on its OS. Inputs that upstream passes as
JSON bytes (cloud-config, install, reset, osVersionManagement) are JSON bytes here too.
Every method raises `PluginError` when it fails. A plugin touches the host only through
`context.host` (the `--root` boundary: `host.path()` for files, `host.set_hostname()`,
`host.reboot()`, `host.power_off()`, `host.action()` for other host-changing commands) and
runs commands only through `context.runner`.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from elemental_agent.errors import AgentError, PluginError
from elemental_agent.hostroot import HostRoot
from elemental_agent.runner import CommandRunner

BOOTSTRAP_SENTINEL = "/run/cluster-api/bootstrap-success.complete"


@dataclass
class PluginContext:
    """What upstream's PluginContext carries (work dir, config path, debug), plus the host."""

    work_dir: str
    config_path: str
    debug: bool = False
    host: HostRoot = field(default_factory=HostRoot)
    runner: CommandRunner = field(default_factory=CommandRunner)
    bootstrap_sentinel: str = BOOTSTRAP_SENTINEL


class Plugin(abc.ABC):
    """Upstream's `osplugin.Plugin`; `init` is called once, right after loading."""

    @abc.abstractmethod
    def init(self, context: PluginContext) -> None:
        """Receives the context; prepares the directories the plugin writes to."""

    @abc.abstractmethod
    def get_hostname(self) -> str:
        """The machine's current hostname."""

    @abc.abstractmethod
    def install_cloud_init(self, data: bytes) -> None:
        """Installs the registration's cloud-config (JSON)."""

    @abc.abstractmethod
    def install_hostname(self, hostname: str) -> None:
        """Makes `hostname` the machine's hostname."""

    @abc.abstractmethod
    def install_file(self, content: bytes, path: str, permission: int, owner: int, group: int) -> None:
        """Installs a file at the host path `path`."""

    @abc.abstractmethod
    def install(self, data: bytes) -> None:
        """Installs the system with the registration's install config (JSON)."""

    @abc.abstractmethod
    def bootstrap(self, format: str, data: bytes) -> None:
        """Applies the CAPI bootstrap data (`cloud-config` or `ignition`)."""

    @abc.abstractmethod
    def reconcile_os_version(self, data: bytes) -> bool:
        """Reconciles the OS version (osVersionManagement JSON); True asks for a reboot."""

    @abc.abstractmethod
    def trigger_reset(self) -> None:
        """Prepares the machine for reset."""

    @abc.abstractmethod
    def reset(self, data: bytes) -> None:
        """Resets the machine to an installable state, with the registration's reset config (JSON)."""

    context: PluginContext

    @property
    def host(self) -> HostRoot:
        """The host's OS, through the --root boundary (set by `init`)."""
        return self.context.host

    def power_off(self) -> None:
        """Powers the machine off."""
        try:
            self.host.power_off()
        except AgentError as error:
            raise PluginError(f"powering off system: {error}") from error

    def reboot(self) -> None:
        """Reboots the machine."""
        try:
            self.host.reboot()
        except AgentError as error:
            raise PluginError(f"rebooting system: {error}") from error
