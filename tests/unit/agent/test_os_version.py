"""Reconciling OS Version, against the fake API: the plugin's answer, the in-place update label."""

from __future__ import annotations

import pytest

from elemental_agent import phases
from elemental_agent.config import PostAction
from elemental_agent.errors import AgentError, PluginError, RequestRefused, RetryableError
from elemental_core.vocabulary import (
    IN_PLACE_UPDATE_DONE,
    OS_VERSION_READY,
    OS_VERSION_RECONCILIATION_FAILED,
    PHASE_OS_VERSION_RECONCILE,
    WAITING_FOR_POST_RECONCILE_REBOOT,
)
from tests.unit.agent.conftest import Agent
from tests.unit.agent.fake_api import refused, reports, sets, unavailable

OS_VERSION = {"osVersion": {"imageUri": "oci://os:v2", "b<&>": "x"}, "debug": True}


@pytest.mark.parametrize("in_place_update", [False, True])
def test_reconciled_without_reboot(agent: Agent, in_place_update: bool) -> None:
    assert phases.reconcile_os_version(agent.ctx, OS_VERSION, in_place_update) == PostAction()
    # Go's json.Marshal bytes: top-level keys sorted, <, > and & escaped
    [(data,)] = agent.plugin.called("reconcile_os_version")
    assert data == b'{"debug":true,"osVersion":{"imageUri":"oci://os:v2","b\\u003c\\u0026\\u003e":"x"}}'
    assert "imageUri: oci://os:v2" in agent.work_file("os-version.yaml").read_text()
    assert agent.api.phases() == []  # no phase flicker at every check-in
    assert agent.api.condition_types() == [(OS_VERSION_READY, "True", "")]
    done = [p.inPlaceUpdate for p in agent.api.patches() if p.inPlaceUpdate]
    assert done == ([IN_PLACE_UPDATE_DONE] if in_place_update else [])


def test_no_os_version_management_is_null(agent: Agent) -> None:
    phases.reconcile_os_version(agent.ctx, None, False)
    assert agent.plugin.called("reconcile_os_version") == [(b"null",)]


@pytest.mark.parametrize("in_place_update", [False, True])
def test_a_reboot_the_plugin_asks_for_is_the_post_action(agent: Agent, in_place_update: bool) -> None:
    agent.plugin.os_version_reboot = True
    assert phases.reconcile_os_version(agent.ctx, OS_VERSION, in_place_update) == PostAction(reboot=True)
    assert agent.api.phases() == [PHASE_OS_VERSION_RECONCILE]
    assert agent.api.conditions() == [
        (
            OS_VERSION_READY,
            "False",
            "Info",
            WAITING_FOR_POST_RECONCILE_REBOOT,
            "Waiting for Host to reboot after OS Version has been reconciled.",
        )
    ]
    # the update is done only once the new OS runs
    assert not any(p.inPlaceUpdate for p in agent.api.patches())


def test_a_plugin_failure_is_reported(agent: Agent) -> None:
    agent.plugin.fail("reconcile_os_version", PluginError("image not found"))
    with pytest.raises(AgentError, match=r"^reconciling osVersion: image not found$"):
        phases.reconcile_os_version(agent.ctx, OS_VERSION, True)
    assert agent.api.conditions() == [
        (
            OS_VERSION_READY,
            "False",
            "Error",
            OS_VERSION_RECONCILIATION_FAILED,
            "reconciling osVersion: image not found",
        )
    ]
    assert not any(p.inPlaceUpdate for p in agent.api.patches())


@pytest.mark.parametrize(("error", "kind"), [(unavailable(), RetryableError), (refused(), RequestRefused)])
def test_a_failed_os_version_ready_report_fails_the_step(
    agent: Agent, error: Exception, kind: type[Exception]
) -> None:
    agent.api.on("patch_host", error, when=reports(OS_VERSION_READY, "True"))
    with pytest.raises(kind, match=r"^reporting condition OSVersionReady: "):
        phases.reconcile_os_version(agent.ctx, OS_VERSION, True)
    assert not any(p.inPlaceUpdate for p in agent.api.patches())


@pytest.mark.parametrize(("error", "kind"), [(unavailable(), RetryableError), (refused(), RequestRefused)])
def test_a_failed_done_label_fails_the_step(agent: Agent, error: Exception, kind: type[Exception]) -> None:
    agent.api.on("patch_host", error, when=sets(inPlaceUpdate=IN_PLACE_UPDATE_DONE))
    with pytest.raises(kind, match=r"^updating InPlaceUpgrade done label: "):
        phases.reconcile_os_version(agent.ctx, OS_VERSION, True)
