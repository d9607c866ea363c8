"""The dummy plugin's file effects (upstream's doc/PLUGIN_DUMMY.md), all inside a --root."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml

from elemental_agent import plugins
from elemental_agent.encoding import go_json
from elemental_agent.errors import PluginError
from elemental_agent.hostroot import HostRoot
from elemental_agent.plugins.base import PluginContext
from elemental_agent.plugins.dummy import DummyPlugin

WORK = "/var/lib/elemental/agent"
CONFIG = "/etc/elemental/agent/config.yaml"
NESTED = {"foo": {"bar": {"foobar": "barfoo"}}}


@pytest.fixture
def plugin(tmp_path: Path) -> DummyPlugin:
    loaded = plugins.load("/usr/lib/elemental/plugins/dummy.so")
    assert isinstance(loaded, DummyPlugin)
    loaded.init(PluginContext(work_dir=WORK, config_path=CONFIG, host=HostRoot(tmp_path)))
    return loaded


def files_under(root: Path) -> set[str]:
    return {"/" + str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_init_creates_config_and_work_dirs(plugin: DummyPlugin, tmp_path: Path) -> None:
    assert (tmp_path / "etc/elemental/agent").is_dir()
    assert (tmp_path / WORK.lstrip("/")).is_dir()


def test_finalizing_registration(plugin: DummyPlugin, tmp_path: Path) -> None:
    real = socket.gethostname()
    plugin.install_hostname("m-1")
    plugin.install_file(b"registration: {}\n", CONFIG, 0o640, 0, 0)
    plugin.install_file(b"KEY", f"{WORK}/private.key", 0o640, 0, 0)
    assert socket.gethostname() == real
    assert plugin.get_hostname() == "m-1"
    assert (tmp_path / CONFIG.lstrip("/")).read_bytes() == b"registration: {}\n"
    key = tmp_path / WORK.lstrip("/") / "private.key"
    assert key.read_bytes() == b"KEY"
    assert key.stat().st_mode & 0o777 == 0o640
    assert HostRoot(tmp_path).actions() == [("set-hostname", "hostnamectl set-hostname m-1")]


def test_install_dumps_install_config_and_cloud_config(plugin: DummyPlugin, tmp_path: Path) -> None:
    plugin.install(go_json(NESTED))
    plugin.install_cloud_init(go_json({"users": [{"name": "root", "passwd": "root"}]}))
    work = tmp_path / WORK.lstrip("/")
    assert yaml.safe_load((work / "install.yaml").read_text()) == NESTED
    cloud_init = (work / "cloud-init.yaml").read_text()
    assert cloud_init.startswith("#cloud-config\n")
    assert yaml.safe_load(cloud_init) == {"users": [{"name": "root", "passwd": "root"}]}
    # no install config at all: upstream writes YAML null
    plugin.install(go_json(None))
    assert (work / "install.yaml").read_text() == "null\n"


@pytest.mark.parametrize(
    ("fmt", "path"),
    [
        ("cloud-config", "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg"),
        ("ignition", "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf"),
    ],
)
def test_bootstrap_dumps_the_data_once(plugin: DummyPlugin, tmp_path: Path, fmt: str, path: str) -> None:
    plugin.bootstrap(fmt, b"foo")
    assert (tmp_path / path.lstrip("/")).read_bytes() == b"foo"
    with pytest.raises(PluginError, match="already applied"):
        plugin.bootstrap(fmt, b"bar")
    assert (tmp_path / path.lstrip("/")).read_bytes() == b"foo"


def test_bootstrap_refuses_other_formats(plugin: DummyPlugin) -> None:
    with pytest.raises(PluginError, match="unsupported bootstrap format"):
        plugin.bootstrap("shell", b"foo")


def test_os_version_is_dumped_and_needs_no_reboot(plugin: DummyPlugin, tmp_path: Path) -> None:
    assert plugin.reconcile_os_version(go_json(NESTED)) is False
    assert yaml.safe_load((tmp_path / WORK.lstrip("/") / "os-version.yaml").read_text()) == NESTED


def test_reset_needs_the_sentinel_gone(plugin: DummyPlugin, tmp_path: Path) -> None:
    work = tmp_path / WORK.lstrip("/")
    plugin.trigger_reset()
    assert (work / "needs.reset").read_text() == "1\n"
    with pytest.raises(PluginError, match="sentinel file still exists"):
        plugin.reset(go_json(NESTED))
    (work / "needs.reset").unlink()
    plugin.reset(go_json(NESTED))
    assert yaml.safe_load((work / "reset.yaml").read_text()) == NESTED
    # upstream's code names the sentinel reset.needed: honoured too
    (work / "reset.needed").write_text("1\n")
    with pytest.raises(PluginError, match=r"reset\.needed"):
        plugin.reset(go_json(NESTED))


def test_reboot_and_power_off_are_recorded(plugin: DummyPlugin, tmp_path: Path) -> None:
    plugin.reboot()
    plugin.power_off()
    assert [name for name, _ in HostRoot(tmp_path).actions()] == ["reboot", "poweroff"]


def test_invalid_json_input_is_a_plugin_error(plugin: DummyPlugin) -> None:
    with pytest.raises(PluginError, match="unmarshalling install config"):
        plugin.install(b"{not json")


def test_everything_stays_inside_the_root(plugin: DummyPlugin, tmp_path: Path) -> None:
    plugin.install_hostname("m-2")
    plugin.install_file(b"c", CONFIG, 0o640, 0, 0)
    plugin.install(b"{}")
    plugin.install_cloud_init(b"{}")
    plugin.bootstrap("cloud-config", b"x")
    plugin.bootstrap("ignition", b"y")
    plugin.reconcile_os_version(b"null")
    plugin.trigger_reset()
    plugin.reboot()
    assert files_under(tmp_path) == {
        "/etc/hostname",
        CONFIG,
        f"{WORK}/install.yaml",
        f"{WORK}/cloud-init.yaml",
        f"{WORK}/os-version.yaml",
        f"{WORK}/needs.reset",
        "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg",
        "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf",
        "/var/log/elemental-agent-actions.log",
    }


def test_plugin_names() -> None:
    assert plugins.plugin_name("/usr/lib/elemental/plugins/elemental.so") == "elemental"
    assert plugins.plugin_name("dummy") == "dummy"
    assert plugins.available() == ["dummy", "elemental"]
    with pytest.raises(Exception, match="no OS plugin named 'nope'"):
        plugins.load("/usr/lib/elemental/plugins/nope.so")
