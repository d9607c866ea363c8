"""The Dummy plugin (upstream's doc/PLUGIN_DUMMY.md): it writes files, something else acts on them.

- finalizing registration: sets the hostname (`hostnamectl set-hostname`), writes the agent
  config and the private key where the agent asks (plain files);
- install: dumps `spec.config.elemental.install` to `<workDir>/install.yaml` (and the
  registration's cloud-config to `<workDir>/cloud-init.yaml`);
- bootstrap: dumps the bootstrap data to `/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg`
  (cloud-config) or `/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf` (ignition),
  refusing when it is there already; the agent then reboots, and the bootstrap is expected
  to create `/run/cluster-api/bootstrap-success.complete`;
- OS version: dumps `osVersionManagement` to `<workDir>/os-version.yaml`, no reboot;
- trigger reset: creates `<workDir>/needs.reset`; something must prepare the host and delete
  it before `elemental-agent reset`;
- reset: dumps `spec.config.elemental.reset` to `<workDir>/reset.yaml`, and fails while
  `needs.reset` still exists.

Upstream's code names the reset sentinel `reset.needed` while its documentation says
`needs.reset`: this plugin creates `needs.reset` (the documented name) and refuses to reset
while either exists.
"""

from __future__ import annotations

import logging
import posixpath

from elemental_agent.encoding import json_to_yaml
from elemental_agent.errors import AgentError, PluginError
from elemental_agent.plugins.base import Plugin, PluginContext

log = logging.getLogger(__name__)

CLOUD_INIT_FILE = "cloud-init.yaml"
INSTALL_FILE = "install.yaml"
OS_VERSION_FILE = "os-version.yaml"
RESET_FILE = "reset.yaml"
RESET_SENTINEL_FILE = "needs.reset"
UPSTREAM_RESET_SENTINEL_FILE = "reset.needed"
BOOTSTRAP_CLOUD_INIT_PATH = "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg"
BOOTSTRAP_IGNITION_PATH = "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf"
_BOOTSTRAP_PATHS = {"cloud-config": BOOTSTRAP_CLOUD_INIT_PATH, "ignition": BOOTSTRAP_IGNITION_PATH}
_FILE_MODE = 0o644


class DummyPlugin(Plugin):
    def __init__(self) -> None:
        self.context = PluginContext(work_dir="", config_path="")

    def _work_file(self, name: str) -> str:
        return posixpath.join(self.context.work_dir, name)

    def init(self, context: PluginContext) -> None:
        log.debug("Initializing Dummy Plugin")
        self.context = context
        try:
            self.host.make_dirs(posixpath.dirname(context.config_path) or "/")
            self.host.make_dirs(context.work_dir)
        except AgentError as error:
            raise PluginError(f"initializing dummy plugin: {error}") from error

    def get_hostname(self) -> str:
        return self.host.current_hostname()

    def install_cloud_init(self, data: bytes) -> None:
        content = b"#cloud-config\n" + _yaml("cloud init config", data)
        self._write(self._work_file(CLOUD_INIT_FILE), content, "cloud init config")

    def install_hostname(self, hostname: str) -> None:
        log.debug("Setting hostname %s", hostname)
        try:
            self.host.set_hostname(hostname)
        except AgentError as error:
            raise PluginError(f"setting hostname '{hostname}': {error}") from error

    def install_file(self, content: bytes, path: str, permission: int, owner: int, group: int) -> None:
        # Upstream ignores permission, owner and group here; the mode is applied (the agent
        # installs its private key through this), owner and group are left alone.
        log.debug("Writing file %s", path)
        self._write(path, content, f"file '{path}'", mode=permission or _FILE_MODE)

    def install(self, data: bytes) -> None:
        path = self._work_file(INSTALL_FILE)
        log.debug("Copying install config to file: %s", path)
        self._write(path, _yaml("install config", data), "install config")

    def bootstrap(self, format: str, data: bytes) -> None:
        path = _BOOTSTRAP_PATHS.get(format)
        if path is None:
            raise PluginError(f"using bootstrapping format '{format}': unsupported bootstrap format")
        if self.host.exists(path):
            raise PluginError(f"applying {format} bootstrap: bootstrap already applied ({path} exists)")
        self._write(path, data, f"bootstrap file '{path}'")

    def reconcile_os_version(self, data: bytes) -> bool:
        path = self._work_file(OS_VERSION_FILE)
        log.debug("Copying OS Version config to file: %s", path)
        self._write(path, _yaml("OS Version config", data), "OS Version config")
        return False

    def trigger_reset(self) -> None:
        path = self._work_file(RESET_SENTINEL_FILE)
        log.info("Creating reset sentinel file: %s", path)
        self._write(path, b"1\n", "reset sentinel file")

    def reset(self, data: bytes) -> None:
        path = self._work_file(RESET_FILE)
        log.debug("Copying reset config to file: %s", path)
        self._write(path, _yaml("reset config", data), "reset config")
        for name in (RESET_SENTINEL_FILE, UPSTREAM_RESET_SENTINEL_FILE):
            sentinel = self._work_file(name)
            log.info("Verifying reset sentinel file '%s' has been deleted", sentinel)
            if self.host.exists(sentinel):
                raise PluginError(f"unmanaged OS reset sentinel file still exists: {sentinel}")

    def _write(self, path: str, content: bytes, what: str, mode: int = _FILE_MODE) -> None:
        try:
            self.host.write_file(path, content, mode=mode)
        except AgentError as error:
            raise PluginError(f"writing {what}: {error}") from error


def _yaml(what: str, data: bytes) -> bytes:
    try:
        return json_to_yaml(data)
    except ValueError as error:
        raise PluginError(f"unmarshalling {what}: {error}") from error
