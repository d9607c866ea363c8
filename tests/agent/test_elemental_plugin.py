"""The Elemental plugin: yip files in /oem and the `elemental` CLI, run here as a stand-in
executable first on PATH that records its arguments and ELEMENTAL_* environment."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from elemental_agent import plugins
from elemental_agent.encoding import go_json
from elemental_agent.errors import PluginError
from elemental_agent.hostroot import HostRoot
from elemental_agent.plugins import yip
from elemental_agent.plugins.base import PluginContext
from elemental_agent.plugins.elemental import ElementalPlugin
from tests.agent.conftest import STAND_IN, StandIn

DATA = Path(__file__).parent / "data"
WORK = "/var/lib/elemental/agent"
CONFIG = "/oem/elemental/agent/config.yaml"
SENTINEL = "/run/cluster-api/bootstrap-success.complete"


@pytest.fixture
def elemental(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "elemental"
    script.write_text(STAND_IN)
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    stand_in = StandIn(log=tmp_path / "elemental-calls.log", state=tmp_path / "elemental-state.yaml")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    # The stand-in records every ELEMENTAL_* variable it sees: only the plugin's may be there,
    # not the runner's own (ELEMENTAL_ENVTEST_CACHE, say).
    for inherited in [key for key in os.environ if key.startswith("ELEMENTAL_")]:
        monkeypatch.delenv(inherited)
    monkeypatch.setenv("ELEMENTAL_STANDIN_LOG", str(stand_in.log))
    monkeypatch.setenv("ELEMENTAL_STANDIN_STATE", str(stand_in.state))
    return stand_in


@pytest.fixture
def root(tmp_path: Path) -> Path:
    directory = tmp_path / "host"
    directory.mkdir()
    return directory


@pytest.fixture
def plugin(root: Path, elemental: StandIn) -> ElementalPlugin:
    loaded = plugins.load("/usr/lib/elemental/plugins/elemental.so")
    assert isinstance(loaded, ElementalPlugin)
    loaded.init(PluginContext(work_dir=WORK, config_path=CONFIG, host=HostRoot(root)))
    return loaded


def read_yaml(root: Path, host_path: str) -> object:
    return yaml.safe_load((root / host_path.lstrip("/")).read_text())


def test_init_creates_oem_config_and_work_dirs(plugin: ElementalPlugin, root: Path) -> None:
    for directory in ("oem", "oem/elemental/agent", WORK.lstrip("/")):
        assert (root / directory).is_dir()


def test_install_hostname_writes_a_yip_boot_command(plugin: ElementalPlugin, root: Path) -> None:
    plugin.install_hostname("just a test hostname to set")
    assert read_yaml(root, "/oem/set-hostname.yaml") == {
        "name": "Configure host",
        "stages": {"boot": [{"commands": ["echo just a test hostname to set > /etc/hostname"]}]},
    }
    assert HostRoot(root).actions() == []  # takes effect at the next boot, through yip


def test_install_file_writes_a_yip_write_file_config(plugin: ElementalPlugin, root: Path) -> None:
    plugin.install_file(b"Just a test file", "/any/location/should/be.fine", 0o640, 0, 0)
    assert read_yaml(root, "/oem/set-be-fine.yaml") == {
        "name": "Write File",
        "stages": {
            "boot": [
                {
                    "files": [
                        {
                            "path": "/any/location/should/be.fine",
                            "permissions": 416,
                            "owner": 0,
                            "group": 0,
                            "content": "Just a test file",
                            "encoding": "",
                            "ownerstring": "",
                        }
                    ]
                }
            ]
        },
    }
    plugin.install_file(b"registration: {}\n", CONFIG, 0o640, 0, 0)
    plugin.install_file(b"KEY\n", f"{WORK}/private.key", 0o640, 0, 0)
    assert (root / "oem/set-config-yaml.yaml").exists()
    assert (root / "oem/set-private-key.yaml").exists()
    assert not (root / CONFIG.lstrip("/")).exists()  # only at the next boot


def test_set_file_names() -> None:
    assert yip.set_file_name("/etc/elemental/agent/config.yaml") == "set-config-yaml.yaml"
    assert yip.set_file_name("/var/lib/elemental/agent/private.key") == "set-private-key.yaml"
    assert yip.set_file_name("/x/noext") == "set-noext-.yaml"


def test_install_cloud_init(plugin: ElementalPlugin, root: Path) -> None:
    plugin.install_cloud_init(go_json({"users": [{"name": "root", "passwd": "root"}]}))
    text = (root / "oem/set-cloud-config.yaml").read_text()
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text) == {"users": [{"name": "root", "passwd": "root"}]}


def test_install_only_from_live_media(plugin: ElementalPlugin, elemental: StandIn) -> None:
    plugin.install(b"{}")
    assert elemental.calls() == []


def test_install_runs_elemental_install(plugin: ElementalPlugin, elemental: StandIn, root: Path) -> None:
    (root / "run/elemental").mkdir(parents=True)
    (root / "run/elemental/live_mode").touch()
    install = {
        "firmware": "efi",
        "device": "/dev/vda",
        "noFormat": True,
        "configUrls": ["https://example.com/extra.yaml"],
        "iso": "https://example.com/os.iso",
        "systemUri": "oci://registry/os:v1",
        "debug": True,
        "tty": "ttyS0",
        "ejectCd": True,
        "disableBootEntry": False,
        "configDir": "/run/cos",
        "snapshotter": {"type": "btrfs"},
    }
    plugin.install(go_json(install))
    [call] = elemental.calls()
    assert call.args == ["--debug", "--config-dir", "/run/cos", "install"]
    oem = [
        str(root / "oem" / name)
        for name in (
            "set-hostname.yaml",
            "set-private-key.yaml",
            "set-config-yaml.yaml",
            "set-cloud-config.yaml",
        )
    ]
    assert call.env == {
        "ELEMENTAL_INSTALL_CLOUD_INIT": ",".join(["https://example.com/extra.yaml", *oem]),
        "ELEMENTAL_INSTALL_TARGET": "/dev/vda",
        "ELEMENTAL_INSTALL_SYSTEM": "oci://registry/os:v1",
        "ELEMENTAL_INSTALL_FIRMWARE": "efi",
        "ELEMENTAL_INSTALL_ISO": "https://example.com/os.iso",
        "ELEMENTAL_INSTALL_TTY": "ttyS0",
        "ELEMENTAL_INSTALL_DISABLE_BOOT_ENTRY": "false",
        "ELEMENTAL_INSTALL_NO_FORMAT": "true",
        "ELEMENTAL_EJECT_CD": "true",
        "ELEMENTAL_SNAPSHOTTER_TYPE": "btrfs",
    }


def test_install_failure_is_a_plugin_error(
    plugin: ElementalPlugin, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "run/elemental").mkdir(parents=True)
    (root / "run/elemental/live_mode").touch()
    monkeypatch.setenv("ELEMENTAL_STANDIN_EXIT", "1")
    with pytest.raises(PluginError, match=r"invoking elemental install: .*exit status 1"):
        plugin.install(b"null")


def test_bootstrap_becomes_a_self_deleting_network_stage(plugin: ElementalPlugin, root: Path) -> None:
    plugin.bootstrap("cloud-config", (DATA / "capi-bootstrap.yaml").read_bytes())
    config = read_yaml(root, "/oem/bootstrap-cloud-config.yaml")
    assert isinstance(config, dict)
    stages = config["stages"]
    assert list(stages) == ["initramfs", "network", "network.after"]
    assert stages["initramfs"] == [{}]
    [network] = stages["network"]
    assert network["commands"] == [
        "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v1.28.2+k3s1 sh -s - server",
        "mkdir -p /run/cluster-api && echo success > /run/cluster-api/bootstrap-success.complete",
    ]
    files = network["files"]
    assert [f["path"] for f in files] == [
        "/var/lib/rancher/k3s/server/tls/server-ca.crt",
        "/var/lib/rancher/k3s/server/tls/server-ca.key",
        "/etc/rancher/k3s/config.yaml",
    ]
    assert [f["permissions"] for f in files] == [0o640, 0o600, 0o640]
    assert {f["ownerstring"] for f in files} == {"root:root"}
    assert files[2]["content"] == "cluster-init: true\ntoken: 80f780f9b01af1d2c1b7c08efe86830c\n"
    assert stages["network.after"] == [
        {"commands": ["rm /oem/bootstrap-cloud-config.yaml"], "if": f'[ -f "{SENTINEL}" ]'}
    ]
    with pytest.raises(PluginError, match="already applied"):
        plugin.bootstrap("cloud-config", b"#cloud-config\nruncmd: [true]\n")


def test_bootstrap_writing_its_sentinel_is_left_alone(plugin: ElementalPlugin, root: Path) -> None:
    data = (
        b"#cloud-config\nhostname: node-1\nruncmd:\n- echo ok > /run/cluster-api/bootstrap-success.complete\n"
    )
    plugin.bootstrap("cloud-config", data)
    config = read_yaml(root, "/oem/bootstrap-cloud-config.yaml")
    assert isinstance(config, dict)
    assert config["stages"]["network"][0]["commands"] == [
        "echo ok > /run/cluster-api/bootstrap-success.complete"
    ]
    assert config["stages"]["initramfs"] == [{"hostname": "node-1"}]


def test_bootstrap_users_keys_and_yip_stages() -> None:
    data = b"""#cloud-config
ssh_authorized_keys: [ssh-ed25519 AAAA global]
users:
- name: ops
  passwd: x
  groups: wheel, docker
  lock_passwd: true
  ssh_authorized_keys: [ssh-ed25519 AAAA ops]
stages:
  fs:
  - commands: [echo fs]
"""
    config = yaml.safe_load(yip.bootstrap_to_yip(data, sentinel=SENTINEL, self_path="/oem/b.yaml"))
    first = config["stages"]["network"][0]
    assert first["users"] == {
        "ops": {"name": "ops", "passwd": "x", "groups": ["wheel", "docker"], "lock_passwd": True}
    }
    assert first["authorized_keys"] == {"ops": ["ssh-ed25519 AAAA ops", "ssh-ed25519 AAAA global"]}
    assert config["stages"]["fs"] == [{"commands": ["echo fs"]}]


def test_bootstrap_refuses_ignition(plugin: ElementalPlugin) -> None:
    with pytest.raises(PluginError, match="unsupported bootstrap format"):
        plugin.bootstrap("ignition", b"{}")


def _management(image: str = "oci://registry/os:v1.2.3") -> bytes:
    return go_json({"osVersion": {"imageUri": image, "upgradeRecovery": True, "debug": True}})


def test_os_version_without_image_does_nothing(plugin: ElementalPlugin, elemental: StandIn) -> None:
    assert plugin.reconcile_os_version(b"null") is False
    assert plugin.reconcile_os_version(go_json({"osVersion": {}})) is False
    assert elemental.calls() == []


def test_os_version_upgrades_and_asks_for_a_reboot(plugin: ElementalPlugin, elemental: StandIn) -> None:
    data = _management()
    elemental.state.write_text("state:\n  snapshots:\n    1:\n      active: true\n")
    assert plugin.reconcile_os_version(data) is True
    state_call, upgrade = elemental.calls()
    assert state_call.args == ["state"]
    assert upgrade.args == ["--debug", "upgrade"]
    assert upgrade.env == {
        "ELEMENTAL_UPGRADE_RECOVERY": "true",
        "ELEMENTAL_UPGRADE_SYSTEM": "oci://registry/os:v1.2.3",
        "ELEMENTAL_UPGRADE_SNAPSHOT_LABELS": f"correlationID={hashlib.sha256(data).hexdigest()}",
    }


@pytest.mark.parametrize("active", [True, False])
def test_os_version_already_applied_is_not_applied_again(
    plugin: ElementalPlugin, elemental: StandIn, active: bool
) -> None:
    data = _management()
    correlation = hashlib.sha256(data).hexdigest()
    elemental.state.write_text(
        "state:\n  snapshots:\n    1:\n      active: false\n"
        f"    2:\n      active: {str(active).lower()}\n      labels:\n        correlationID: {correlation}\n"
    )
    assert plugin.reconcile_os_version(data) is False
    assert [call.args for call in elemental.calls()] == [["state"]]


def test_correlation_id_matches_the_go_agent_bytes() -> None:
    # Go: json.Marshal(map[string]RawExtension) sorts keys, compacts, escapes <>&.
    assert go_json({"z": 1, "a": {"y": "<&>", "b": [1, 2]}}) == (
        b'{"a":{"y":"\\u003c\\u0026\\u003e","b":[1,2]},"z":1}'
    )
    assert go_json(None) == b"null"


def test_trigger_reset_writes_the_plan_and_records_boot_changes(plugin: ElementalPlugin, root: Path) -> None:
    plugin.trigger_reset()
    assert read_yaml(root, "/oem/reset-cloud-config.yaml") == {
        "name": "Elemental Reset",
        "stages": {
            "network": [
                {
                    "commands": [
                        "elemental-agent reset --debug --config /oem/elemental/agent/config.yaml",
                        "elemental-agent register --debug --install --config "
                        "/oem/elemental/agent/config.yaml",
                        "reboot -f",
                    ],
                    "if": "[ -f /run/elemental/recovery_mode ]",
                    "name": "Runs elemental reset and re-register the system",
                }
            ]
        },
    }
    assert HostRoot(root).actions() == [
        ("grub-next-entry", "grub2-editenv /oem/grubenv set next_entry=recovery"),
        ("schedule-reboot", "shutdown -r +1"),
    ]


def test_reset_runs_elemental_reset_keeping_the_agent_config(
    plugin: ElementalPlugin, elemental: StandIn, root: Path
) -> None:
    config = root / CONFIG.lstrip("/")
    config.write_text("registration: {uri: x}\n")
    reset = {
        "enabled": True,
        "resetPersistent": True,
        "resetOem": False,
        "configUrls": ["/a.yaml", "/b.yaml"],
        "systemUri": "oci://os:v1",
        "debug": False,
    }
    plugin.reset(go_json(reset))
    [call] = elemental.calls()
    assert call.args == ["reset"]
    assert call.env == {
        "ELEMENTAL_RESET_CLOUD_INIT": "/a.yaml,/b.yaml",
        "ELEMENTAL_RESET_SYSTEM": "oci://os:v1",
        "ELEMENTAL_RESET_PERSISTENT": "true",
        "ELEMENTAL_RESET_OEM": "false",
    }
    assert config.read_text() == "registration: {uri: x}\n"
    assert not (root / "tmp/elemental-agent-config.yaml").exists()
    assert HostRoot(root).actions() == [("mount", "mount /oem")]


def test_reset_failure_is_a_plugin_error(
    plugin: ElementalPlugin, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / CONFIG.lstrip("/")).write_text("x: 1\n")
    monkeypatch.setenv("ELEMENTAL_STANDIN_EXIT", "3")
    with pytest.raises(PluginError, match=r"invoking elemental reset: .*exit status 3"):
        plugin.reset(b"{}")


def test_missing_elemental_cli_is_a_plugin_error(
    plugin: ElementalPlugin, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / "run/elemental").mkdir(parents=True)
    (root / "run/elemental/live_mode").touch()
    monkeypatch.setenv("PATH", str(root))
    with pytest.raises(PluginError, match="elemental: command not found"):
        plugin.install(json.dumps({}).encode())


def test_reboot_and_power_off_are_recorded(plugin: ElementalPlugin, root: Path) -> None:
    plugin.reboot()
    plugin.power_off()
    assert [name for name, _ in HostRoot(root).actions()] == ["reboot", "poweroff"]
