"""The Elemental plugin (upstream's doc/PLUGIN_ELEMENTAL.md): a managed OS through elemental-toolkit.

What it installs takes effect at the next boot, as yip cloud-config files in `/oem`:
`set-hostname.yaml`, `set-<file>-<ext>.yaml` for each installed file (the agent config, the
private key), `set-cloud-config.yaml` (the registration's cloud-config),
`bootstrap-cloud-config.yaml` (the CAPI bootstrap, deleting itself once it succeeded) and
`reset-cloud-config.yaml` (the reset plan run from the recovery system). Installing,
resetting and upgrading run the `elemental` CLI, with its settings in environment variables.

Every command goes through the context's runner; commands that change how or whether the
host boots (`grub2-editenv`, `shutdown -r +1`, `mount /oem`) go through the host boundary,
so with `--root` they are recorded instead of run. Files go inside `--root`; the paths
*inside* the yip files and the agent's reset plan are the host's own.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath
import shutil
from typing import Any

import yaml

from elemental_agent.encoding import field, json_to_yaml, loads_object
from elemental_agent.errors import AgentError, CommandError, PluginError
from elemental_agent.plugins import yip
from elemental_agent.plugins.base import Plugin, PluginContext
from elemental_agent.runner import CommandRunner

log = logging.getLogger(__name__)

CLOUD_CONFIG_DIR = "/oem"
HOSTNAME_INIT_PATH = "/oem/set-hostname.yaml"
IDENTITY_INIT_PATH = "/oem/set-private-key.yaml"
CLOUD_CONFIG_INIT_PATH = "/oem/set-cloud-config.yaml"
AGENT_CONFIG_INIT_PATH = "/oem/set-config-yaml.yaml"
AGENT_CONFIG_TEMP_PATH = "/tmp/elemental-agent-config.yaml"  # noqa: S108 - upstream's fixed path
RESET_CLOUD_CONFIG_PATH = "/oem/reset-cloud-config.yaml"
BOOTSTRAP_PATH = "/oem/bootstrap-cloud-config.yaml"
LIVE_MODE_FILE = "/run/elemental/live_mode"
GRUB_ENV = "/oem/grubenv"
RESET_AGENT_CONFIG = "/oem/elemental/agent/config.yaml"
CORRELATION_ID_LABEL = "correlationID"
_FILE_MODE = 0o644


class ElementalPlugin(Plugin):
    def __init__(self) -> None:
        self.context = PluginContext(work_dir="", config_path="")

    @property
    def runner(self) -> CommandRunner:
        return self.context.runner

    def init(self, context: PluginContext) -> None:
        log.debug("Initializing Elemental Plugin")
        self.context = context
        try:
            for directory in (
                CLOUD_CONFIG_DIR,
                posixpath.dirname(context.config_path) or "/",
                context.work_dir,
            ):
                self.host.make_dirs(directory)
        except AgentError as error:
            raise PluginError(f"initializing elemental plugin: {error}") from error

    def get_hostname(self) -> str:
        return self.host.current_hostname()

    # -- registration and install ------------------------------------------------------------

    def install_cloud_init(self, data: bytes) -> None:
        log.debug("Installing cloud-init config")
        try:
            content = b"#cloud-config\n" + json_to_yaml(data)
        except ValueError as error:
            raise PluginError(f"unmarshalling cloud init config: {error}") from error
        self._write(CLOUD_CONFIG_INIT_PATH, content, "cloud init config")

    def install_hostname(self, hostname: str) -> None:
        log.debug("Installing hostname: %s", hostname)
        self._write(HOSTNAME_INIT_PATH, yip.dump(yip.hostname_config(hostname)), "hostname config")

    def install_file(self, content: bytes, path: str, permission: int, owner: int, group: int) -> None:
        log.debug("Installing file: %s", path)
        target = posixpath.join(CLOUD_CONFIG_DIR, yip.set_file_name(path))
        config = yip.write_file_config(path, content, permission, owner, group)
        self._write(target, yip.dump(config), f"file config for '{path}'")

    def install(self, data: bytes) -> None:
        log.debug("Installing Elemental")
        if not self.host.exists(LIVE_MODE_FILE):
            # The reset case: the machine is repurposed, not reinstalled.
            log.info("Not running from live media. Assuming system is already installed. Nothing to do.")
            return
        settings = self._object(data, "install config")
        config_urls = [str(url) for url in (field(settings, "configUrls") or [])]
        config_urls += [
            str(self.host.path(path))
            for path in (
                HOSTNAME_INIT_PATH,
                IDENTITY_INIT_PATH,
                AGENT_CONFIG_INIT_PATH,
                CLOUD_CONFIG_INIT_PATH,
            )
        ]
        argv = ["elemental"]
        if _bool(field(settings, "debug")):
            argv.append("--debug")
        config_dir = _text(field(settings, "configDir"))
        if config_dir:
            argv += ["--config-dir", config_dir]
        argv.append("install")
        snapshotter = field(settings, "snapshotter")
        env = {
            "ELEMENTAL_INSTALL_CLOUD_INIT": ",".join(config_urls),
            "ELEMENTAL_INSTALL_TARGET": _text(field(settings, "device")),
            "ELEMENTAL_INSTALL_SYSTEM": _text(field(settings, "systemUri")),
            "ELEMENTAL_INSTALL_FIRMWARE": _text(field(settings, "firmware")),
            "ELEMENTAL_INSTALL_ISO": _text(field(settings, "iso")),
            "ELEMENTAL_INSTALL_TTY": _text(field(settings, "tty")),
            "ELEMENTAL_INSTALL_DISABLE_BOOT_ENTRY": _go_bool(field(settings, "disableBootEntry")),
            "ELEMENTAL_INSTALL_NO_FORMAT": _go_bool(field(settings, "noFormat")),
            "ELEMENTAL_EJECT_CD": _go_bool(field(settings, "ejectCd")),
            "ELEMENTAL_SNAPSHOTTER_TYPE": _text(
                field(snapshotter, "type") if isinstance(snapshotter, dict) else ""
            ),
        }
        log.info("Running elemental install")
        self._run(argv, env, "invoking elemental install")

    # -- bootstrap ---------------------------------------------------------------------------

    def bootstrap(self, format: str, data: bytes) -> None:
        if format != "cloud-config":
            raise PluginError(f"using bootstrapping format '{format}': unsupported bootstrap format")
        if self.host.exists(BOOTSTRAP_PATH):
            raise PluginError(f"bootstrap already applied ({BOOTSTRAP_PATH} exists)")
        try:
            converted = yip.bootstrap_to_yip(
                data, sentinel=self.context.bootstrap_sentinel, self_path=BOOTSTRAP_PATH
            )
        except yip.UnsupportedCloudConfig as error:
            raise PluginError(f"converting bootstrap config to yip schema: {error}") from error
        self._write(BOOTSTRAP_PATH, converted, "bootstrap config")

    # -- OS version --------------------------------------------------------------------------

    def reconcile_os_version(self, data: bytes) -> bool:
        log.debug("Reconciling Elemental OS Version")
        management = self._object(data, "osVersionManagement config")
        os_version = field(management, "osVersion")
        os_version = os_version if isinstance(os_version, dict) else {}
        image = _text(field(os_version, "imageUri"))
        if not image:
            log.info("No imageURI to upgrade to was defined. Nothing to do.")
            return False
        correlation_id = hashlib.sha256(data).hexdigest()
        log.debug("Calculated osVersion hash: %s", correlation_id)
        if self._correlation_id_found(correlation_id):
            log.info("OSVersion is reconciled. Nothing to do")
            return False
        argv = ["elemental", *(["--debug"] if _bool(field(os_version, "debug")) else []), "upgrade"]
        env = {
            "ELEMENTAL_UPGRADE_RECOVERY": _go_bool(field(os_version, "upgradeRecovery")),
            "ELEMENTAL_UPGRADE_SYSTEM": image,
            "ELEMENTAL_UPGRADE_SNAPSHOT_LABELS": f"{CORRELATION_ID_LABEL}={correlation_id}",
        }
        self._run(argv, env, "invoking elemental upgrade")
        return True

    def _correlation_id_found(self, correlation_id: str) -> bool:
        """Whether a snapshot carries this correlation ID (on a passive snapshot too: an
        upgrade the boot assessment reverted is not applied again)."""
        try:
            output = self.runner.run(["elemental", "state"], capture=True)
            state = yaml.safe_load(output) or {}
        except CommandError as error:
            raise PluginError(f"verifying correlation_id: getting elemental state: {error}") from error
        except yaml.YAMLError as error:
            raise PluginError(f"verifying correlation_id: unmarshalling elemental state: {error}") from error
        partition = state.get("state") if isinstance(state, dict) else None
        snapshots = partition.get("snapshots") if isinstance(partition, dict) else None
        if not isinstance(snapshots, dict) or not snapshots:
            log.info("Could not find correlationID in empty snapshots list")
            return False
        for snapshot in snapshots.values():
            labels = snapshot.get("labels") if isinstance(snapshot, dict) else None
            if isinstance(labels, dict) and labels.get(CORRELATION_ID_LABEL) == correlation_id:
                if not snapshot.get("active"):
                    log.info(
                        "CorrelationID %s found on a passive snapshot. Not upgrading again.", correlation_id
                    )
                return True
        log.info("Could not find snapshot with correlationID %s", correlation_id)
        return False

    # -- reset -------------------------------------------------------------------------------

    def trigger_reset(self) -> None:
        log.debug("Triggering Elemental reset")
        try:
            self.host.make_dirs(CLOUD_CONFIG_DIR)
        except AgentError as error:
            raise PluginError(f"creating oem dir: {error}") from error
        plan = yip.yip_config(
            "Elemental Reset",
            {
                "network": [
                    {
                        "commands": [
                            f"elemental-agent reset --debug --config {RESET_AGENT_CONFIG}",
                            f"elemental-agent register --debug --install --config {RESET_AGENT_CONFIG}",
                            "reboot -f",
                        ],
                        "if": "[ -f /run/elemental/recovery_mode ]",
                        "name": "Runs elemental reset and re-register the system",
                    }
                ]
            },
        )
        self._write(RESET_CLOUD_CONFIG_PATH, yip.dump(plan), "reset cloud config")
        log.info("Setting next default grub entry to recovery")
        self._host_action(
            "grub-next-entry",
            ["grub2-editenv", GRUB_ENV, "set", "next_entry=recovery"],
            "setting next default grub entry to recovery",
        )
        log.info("Scheduling reboot in 1 minute")
        self._host_action("schedule-reboot", ["shutdown", "-r", "+1"], "scheduling reboot")

    def reset(self, data: bytes) -> None:
        log.debug("Resetting Elemental")
        settings = self._object(data, "reset config")
        config_path = self.context.config_path
        try:
            saved = self.host.path(AGENT_CONFIG_TEMP_PATH)
            saved.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.host.path(config_path), saved)
        except (OSError, AgentError) as error:
            raise PluginError(f"copying {config_path} to {AGENT_CONFIG_TEMP_PATH}: {error}") from error
        argv = ["elemental", *(["--debug"] if _bool(field(settings, "debug")) else []), "reset"]
        env = {
            "ELEMENTAL_RESET_CLOUD_INIT": ",".join(str(url) for url in (field(settings, "configUrls") or [])),
            "ELEMENTAL_RESET_SYSTEM": _text(field(settings, "systemUri")),
            "ELEMENTAL_RESET_PERSISTENT": _go_bool(field(settings, "resetPersistent")),
            "ELEMENTAL_RESET_OEM": _go_bool(field(settings, "resetOem")),
        }
        log.info("Running elemental reset")
        self._run(argv, env, "invoking elemental reset")
        self._host_action("mount", ["mount", CLOUD_CONFIG_DIR], f"mounting {CLOUD_CONFIG_DIR}")
        try:
            self.host.make_dirs(posixpath.dirname(config_path) or "/")
            shutil.move(saved, self.host.path(config_path))
        except (OSError, AgentError) as error:
            raise PluginError(f"restoring {config_path} from {AGENT_CONFIG_TEMP_PATH}: {error}") from error

    # -- plumbing ----------------------------------------------------------------------------

    def _write(self, path: str, content: bytes, what: str) -> None:
        try:
            self.host.write_file(path, content, mode=_FILE_MODE)
        except AgentError as error:
            raise PluginError(f"writing {what} in '{path}': {error}") from error

    def _run(self, argv: list[str], env: dict[str, str], what: str) -> None:
        try:
            self.runner.run(argv, env=env)
        except CommandError as error:
            raise PluginError(f"{what}: {error}") from error

    def _host_action(self, name: str, argv: list[str], what: str) -> None:
        try:
            self.host.action(name, argv)
        except AgentError as error:
            raise PluginError(f"{what}: {error}") from error

    @staticmethod
    def _object(data: bytes, what: str) -> dict[str, Any]:
        try:
            return loads_object(data, what)
        except ValueError as error:
            raise PluginError(str(error)) from error


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _bool(value: Any) -> bool:
    return value is True


def _go_bool(value: Any) -> str:
    """strconv.FormatBool of the field."""
    return "true" if value is True else "false"
