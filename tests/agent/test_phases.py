"""The phases in-process, with the dummy plugin in a --root, against the real API app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elemental_agent import phases
from elemental_agent.client import ElementalClient
from elemental_agent.config import Config
from elemental_agent.context import AgentContext
from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot
from elemental_agent.identity import load_or_create
from elemental_agent.plugins.base import PluginContext
from elemental_agent.plugins.dummy import DummyPlugin
from elemental_api.store import Store
from elemental_core.records import Bootstrap, Host, Registration
from elemental_core.vocabulary import LABEL_BOOTSTRAPPED, LABEL_IN_PLACE_UPDATE, LABEL_INSTALLED
from tests.agent.conftest import ThreadedServer, agent_config, dummy_registration_config
from tests.helpers import make_registration, wait_for

CONFIG_PATH = "/etc/elemental/agent/config.yaml"
WORK = "/var/lib/elemental/agent"


def conditions(host: Host | None) -> dict[str, dict[str, Any]]:
    assert host is not None
    return {c["type"]: c for c in host.conditions}


def make_context(
    registration: Registration, root: Path, plugin: DummyPlugin | None = None, **agent: Any
) -> AgentContext:
    data = agent_config(registration)
    data["agent"].update(agent)
    config = Config.from_dict(data)
    root.mkdir(parents=True, exist_ok=True)
    host = HostRoot(root)
    plugin = plugin or DummyPlugin()
    plugin.init(PluginContext(work_dir=config.agent.work_dir, config_path=CONFIG_PATH, host=host))
    identity = load_or_create(host, config.agent.work_dir)
    return AgentContext(
        config=config,
        config_path=CONFIG_PATH,
        host=host,
        plugin=plugin,
        client=ElementalClient(config, identity, host),
        identity=identity,
        hostname=plugin.get_hostname(),
    )


@pytest.fixture
def ctx(dummy_registration: Registration, tmp_path: Path) -> Iterator[AgentContext]:
    context = make_context(dummy_registration, tmp_path / "host", noSmbios=True)
    yield context
    context.client.close()


def registered(ctx: AgentContext, store: Store) -> Host:
    phases.register(ctx)
    phases.finalize_registration(ctx)
    phases.install(ctx)
    host = store.get_host("default", ctx.hostname)
    assert host is not None
    return host


def test_register_finalize_install(ctx: AgentContext, store: Store) -> None:
    host = registered(ctx, store)
    assert ctx.hostname.startswith("m-")
    assert host.pub_key == ctx.identity.public_pem()
    assert host.labels[LABEL_INSTALLED] == "true"
    assert host.phase == "Installing"
    found = conditions(host)
    assert found["RegistrationReady"]["status"] == "True"
    assert found["InstallationReady"]["status"] == "True"
    # finalize: hostname, the registration's config at the config path, the key in its workDir
    assert (ctx.host.root / "etc/hostname").read_text() == f"{ctx.hostname}\n"
    written = Config.from_yaml((ctx.host.root / CONFIG_PATH.lstrip("/")).read_bytes())
    assert written == ctx.config
    assert written.agent.os_plugin == "/usr/lib/elemental/plugins/dummy.so"
    assert (ctx.host.root / WORK.lstrip("/") / "private.key").read_bytes() == ctx.identity.to_pem()
    # install: cloud-config and install config dumped
    assert (
        (ctx.host.root / WORK.lstrip("/") / "cloud-init.yaml").read_text().startswith("#cloud-config\nusers:")
    )
    assert "device: /dev/vda" in (ctx.host.root / WORK.lstrip("/") / "install.yaml").read_text()


def test_register_again_finds_the_existing_host(
    store: Store, api_server: ThreadedServer, tmp_path: Path
) -> None:
    config = dummy_registration_config()
    config["elemental"]["agent"]["hostname"] = {"useExisting": True}
    registration = make_registration(store, name="existing", endpoint=api_server.base_url, config=config)[0]
    first = make_context(registration, tmp_path / "a", noSmbios=True)
    first.host.set_hostname("node-a")
    phases.register(first)
    assert first.hostname == "node-a"
    second = make_context(registration, tmp_path / "a", noSmbios=True)  # same root: same key
    phases.register(second)
    assert second.hostname == "node-a"
    assert [h.name for h in store.list_hosts("default")] == ["node-a"]
    # another machine (another key) claiming the name is refused with the server's reason
    other = make_context(registration, tmp_path / "b", noSmbios=True)
    other.host.set_hostname("node-a")
    with pytest.raises(AgentError, match=r"409.*already exists"):
        phases.register(other)
    for context in (first, second, other):
        context.client.close()


def test_a_taken_random_name_is_replaced(
    dummy_registration: Registration, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = make_context(dummy_registration, tmp_path / "a", noSmbios=True)
    phases.register(taken)
    names = iter([taken.hostname, "m-fresh"])
    monkeypatch.setattr(phases, "choose_hostname", lambda conf, current: next(names))
    fresh = make_context(dummy_registration, tmp_path / "b", noSmbios=True)
    phases.register(fresh)
    assert fresh.hostname == "m-fresh"
    assert {h.name for h in store.list_hosts("default")} == {taken.hostname, "m-fresh"}
    taken.client.close()
    fresh.client.close()


def test_install_failures_are_reported_then_retried(
    dummy_registration: Registration, store: Store, tmp_path: Path
) -> None:
    seen: list[dict[str, Any]] = []

    class FlakyPlugin(DummyPlugin):
        calls = 0

        def install(self, data: bytes) -> None:
            FlakyPlugin.calls += 1
            if FlakyPlugin.calls == 1:
                raise AgentError("disk on fire")
            seen.append(conditions(store.get_host("default", context.hostname))["InstallationReady"])
            super().install(data)

    context = make_context(dummy_registration, tmp_path / "flaky", FlakyPlugin(), noSmbios=True)
    phases.register(context)
    phases.install(context)
    [failed] = seen
    assert (failed["status"], failed["severity"], failed["reason"]) == (
        "False",
        "Error",
        "InstallationFailed",
    )
    assert failed["message"] == "installing host: disk on fire"
    assert conditions(store.get_host("default", context.hostname))["InstallationReady"]["status"] == "True"
    context.client.close()


def test_bootstrap_reboot_then_sentinel(ctx: AgentContext, store: Store) -> None:
    host = registered(ctx, store)
    assert phases.step(ctx) is False  # nothing to do yet: Running, OS version reconciled
    assert store.get_host("default", ctx.hostname).phase == "Running"  # type: ignore[union-attr]
    store.attach_bootstrap(host, Bootstrap(config="#cloud-config\nruncmd: [echo hi]\n"))
    assert phases.step(ctx) is True  # applied, rebooting
    assert (
        (ctx.host.root / "etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg")
        .read_text()
        .startswith("#cloud")
    )
    assert ctx.host.actions()[-1] == ("reboot", "reboot -f")
    waiting = conditions(store.get_host("default", ctx.hostname))["BootstrapReady"]
    assert (waiting["status"], waiting["reason"]) == ("False", "WaitingForBootstrap")
    # after the "reboot", without the sentinel the plugin refuses to apply it twice
    assert phases.step(ctx) is False
    failed = conditions(store.get_host("default", ctx.hostname))["BootstrapReady"]
    assert (failed["severity"], failed["reason"]) == ("Error", "BootstrapFailed")
    assert "already applied" in failed["message"]
    sentinel = ctx.host.root / "run/cluster-api/bootstrap-success.complete"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("success\n")
    assert phases.step(ctx) is False
    stored = store.get_host("default", ctx.hostname)
    assert stored is not None and stored.labels[LABEL_BOOTSTRAPPED] == "true"
    assert conditions(stored)["BootstrapReady"]["status"] == "True"


def test_in_place_update_reconciles_the_os_version(ctx: AgentContext, store: Store) -> None:
    host = registered(ctx, store)
    host = store.attach_bootstrap(host, Bootstrap(config="x"))
    host = host.copy()
    host.labels[LABEL_BOOTSTRAPPED] = "true"
    host.labels[LABEL_IN_PLACE_UPDATE] = "pending"
    host.os_version_management = {"osVersion": {"imageUri": "oci://os:v2"}}
    store.update_host(host)
    assert phases.step(ctx) is False
    assert "imageUri: oci://os:v2" in (ctx.host.root / WORK.lstrip("/") / "os-version.yaml").read_text()
    stored = store.get_host("default", ctx.hostname)
    assert stored is not None and stored.labels[LABEL_IN_PLACE_UPDATE] == "done"
    assert conditions(stored)["OSVersionReady"]["status"] == "True"


def test_needs_reset_triggers_reset_then_reset_removes_the_host(
    ctx: AgentContext, store: Store, host_controller: None
) -> None:
    host = registered(ctx, store)
    store.request_host_deletion(host)
    assert phases.step(ctx) is True
    stored = store.get_host("default", ctx.hostname)
    assert stored is not None and stored.phase == "Triggering Reset"
    assert conditions(stored)["ResetReady"]["reason"] == "WaitingForReset"
    sentinel = ctx.host.root / WORK.lstrip("/") / "needs.reset"
    assert sentinel.exists()
    sentinel.unlink()  # what the host's own reset preparation does
    phases.reset(ctx)
    wait_for(lambda: store.get_host("default", ctx.hostname) is None, what="the reset host gone")
    assert "resetPersistent: true" in (ctx.host.root / WORK.lstrip("/") / "reset.yaml").read_text()
    # a reset repeated once the host is gone completes too
    phases.reset(ctx)


def test_post_actions() -> None:
    from elemental_agent.config import PostAction

    class Recorder(DummyPlugin):
        def __init__(self) -> None:
            super().__init__()
            self.done: list[str] = []

        def power_off(self) -> None:
            self.done.append("poweroff")

        def reboot(self) -> None:
            self.done.append("reboot")

    plugin = Recorder()
    assert phases.handle_post(plugin, PostAction()) is False
    assert phases.handle_post(plugin, PostAction(reboot=True)) is True
    assert phases.handle_post(plugin, PostAction(reboot=True, power_off=True)) is True
    assert plugin.done == ["reboot", "poweroff"]
