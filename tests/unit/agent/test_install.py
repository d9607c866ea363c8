"""Installing, against the fake API: cloud-config, the plugin's install, `installed: true`."""

from __future__ import annotations

import json

import pytest

from elemental_agent import phases
from elemental_agent.errors import PluginError, Stopped
from elemental_core.vocabulary import (
    CLOUD_CONFIG_INSTALLATION_FAILED,
    INSTALLATION_FAILED,
    INSTALLATION_READY,
    PHASE_INSTALLING,
)
from tests.unit.agent.conftest import PERIOD, Agent
from tests.unit.agent.fake_api import refused, sets, unavailable, unreachable


def test_install_applies_cloud_config_and_install_then_reports_installed(agent: Agent) -> None:
    phases.install(agent.ctx)
    assert agent.api.phases() == [PHASE_INSTALLING]
    assert agent.api.operations() == ["patch_host", "get_registration", "patch_host"]
    done = agent.api.patches()[-1]
    assert done.installed is True
    assert done.condition is not None
    assert (done.condition.type, done.condition.status, done.condition.severity) == (
        INSTALLATION_READY,
        "True",
        "Info",
    )
    # the plugin gets the registration's free-form parts as JSON
    [(cloud_config,)] = agent.plugin.called("install_cloud_init")
    assert json.loads(cloud_config) == {"users": [{"name": "root", "passwd": "root"}]}
    [(install,)] = agent.plugin.called("install")
    assert json.loads(install) == {"debug": True, "device": "/dev/vda"}
    assert agent.work_file("cloud-init.yaml").read_text() == (
        "#cloud-config\nusers:\n- name: root\n  passwd: root\n"
    )
    assert agent.work_file("install.yaml").read_text() == "debug: true\ndevice: /dev/vda\n"
    assert agent.stopper.waits == []


def test_install_without_cloud_config_nor_install_config(agent: Agent) -> None:
    agent.api.registration.config.cloudConfig = None  # type: ignore[union-attr]
    agent.api.registration.config.elemental.install = None  # type: ignore[union-attr]
    phases.install(agent.ctx)
    assert agent.plugin.called("install_cloud_init") == [(b"null",)]
    assert agent.plugin.called("install") == [(b"null",)]
    assert agent.api.patches()[-1].installed is True


@pytest.mark.parametrize(
    ("fail", "reason", "message"),
    [
        (
            lambda agent: agent.api.on("get_registration", unavailable()),
            INSTALLATION_FAILED,
            "getting remote Registration: the server answered 503",
        ),
        (
            lambda agent: agent.api.on("get_registration", refused(403, "token expired")),
            INSTALLATION_FAILED,
            "getting remote Registration: the server answered 403: token expired",
        ),
        (
            lambda agent: agent.plugin.fail("install_cloud_init", PluginError("bad user")),
            CLOUD_CONFIG_INSTALLATION_FAILED,
            "installing cloud config: bad user",
        ),
        (
            lambda agent: agent.plugin.fail("install", PluginError("disk on fire")),
            INSTALLATION_FAILED,
            "installing host: disk on fire",
        ),
        (
            lambda agent: agent.api.on("patch_host", unreachable(), when=sets(installed=True)),
            INSTALLATION_FAILED,
            "patching host with installation successful: cannot connect: [Errno 111] Connection refused",
        ),
    ],
)
def test_each_failure_is_reported_then_retried_after_a_period(
    agent: Agent, fail: object, reason: str, message: str
) -> None:
    fail(agent)  # type: ignore[operator]
    phases.install(agent.ctx)
    failures = [c for c in agent.api.conditions() if c[1] == "False"]
    assert failures == [(INSTALLATION_READY, "False", "Error", reason, message)]
    assert agent.stopper.waits == [PERIOD]
    assert agent.api.patches()[-1].installed is True


def test_a_step_done_is_not_done_again_on_retry(agent: Agent) -> None:
    agent.plugin.fail("install", PluginError("disk on fire"))
    phases.install(agent.ctx)
    assert agent.plugin.methods() == ["install_cloud_init", "install", "install"]


def test_once_installed_only_the_report_is_retried(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), unavailable(), when=sets(installed=True))
    phases.install(agent.ctx)
    assert agent.api.operations().count("get_registration") == 1
    assert agent.plugin.methods() == ["install_cloud_init", "install"]
    assert len([p for p in agent.api.patches() if p.installed]) == 3


def test_a_failed_failure_report_does_not_stop_the_retries(agent: Agent) -> None:
    agent.plugin.fail("install", PluginError("disk on fire"))
    agent.api.on(
        "patch_host",
        unavailable(),
        when=lambda call: call.patch.condition is not None and call.patch.condition.status == "False",
    )
    phases.install(agent.ctx)
    assert agent.api.patches()[-1].installed is True


def test_installing_is_retried_until_stopped(agent: Agent) -> None:
    agent.stopper.limit = 4
    agent.plugin.fail("install", *[PluginError("disk on fire")] * 10)
    with pytest.raises(Stopped):
        phases.install(agent.ctx)
    assert agent.plugin.methods() == ["install_cloud_init"] + ["install"] * 4
    assert not any(p.installed for p in agent.api.patches())


def test_a_failed_installing_phase_report_does_not_stop_installing(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), when=sets(phase=PHASE_INSTALLING))
    phases.install(agent.ctx)
    assert agent.api.patches()[-1].installed is True
