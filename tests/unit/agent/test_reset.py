"""Triggering Reset and Resetting, against the fake API."""

from __future__ import annotations

import json

import pytest

from elemental_agent import phases
from elemental_agent.errors import AgentError, PluginError, Stopped
from elemental_core.vocabulary import (
    PHASE_RESETTING,
    PHASE_TRIGGERING_RESET,
    RESET_FAILED,
    RESET_READY,
    WAITING_FOR_RESET,
)
from tests.unit.agent.conftest import PERIOD, WORK, Agent
from tests.unit.agent.fake_api import refused, sets, unavailable, unreachable

NEEDS_RESET = f"{WORK}/needs.reset"


def test_trigger_reset_leaves_the_sentinel_and_reports_waiting(agent: Agent) -> None:
    phases.trigger_reset(agent.ctx)
    assert agent.file(NEEDS_RESET).exists()
    assert agent.api.phases() == [PHASE_TRIGGERING_RESET]
    assert agent.api.conditions() == [
        (
            RESET_READY,
            "False",
            "Info",
            WAITING_FOR_RESET,
            "Reset was triggered successfully. Waiting for host to reset.",
        )
    ]


def test_a_failed_trigger_is_reported(agent: Agent) -> None:
    agent.plugin.fail("trigger_reset", PluginError("read-only file system"))
    with pytest.raises(AgentError, match=r"^triggering reset: read-only file system$"):
        phases.trigger_reset(agent.ctx)
    assert agent.api.conditions() == [
        (RESET_READY, "False", "Error", RESET_FAILED, "triggering reset: read-only file system")
    ]


def test_reset_deletes_the_host_resets_then_reports_reset(agent: Agent) -> None:
    phases.reset(agent.ctx)
    assert agent.api.operations() == ["patch_host", "delete_host", "get_registration", "patch_host"]
    assert agent.api.phases() == [PHASE_RESETTING]
    done = agent.api.patches()[-1]
    assert done.reset is True
    assert done.condition is not None
    assert (done.condition.type, done.condition.status) == (RESET_READY, "True")
    [(data,)] = agent.plugin.called("reset")
    assert json.loads(data) == {"resetPersistent": True}
    assert agent.work_file("reset.yaml").read_text() == "resetPersistent: true\n"
    assert agent.stopper.waits == []


def test_a_host_already_gone_still_resets(agent: Agent) -> None:
    agent.api.hosts.clear()  # deleting and patching answer 404
    phases.reset(agent.ctx)
    assert agent.plugin.methods() == ["reset"]
    assert agent.stopper.waits == []


def test_reset_waits_for_the_host_to_prepare(agent: Agent) -> None:
    """The dummy plugin resets only once something removed the sentinel trigger_reset left."""
    phases.trigger_reset(agent.ctx)
    agent.stopper.meanwhile.append(agent.file(NEEDS_RESET).unlink)
    phases.reset(agent.ctx)
    failures = [c for c in agent.api.conditions() if c[3] == RESET_FAILED]
    assert failures == [
        (
            RESET_READY,
            "False",
            "Error",
            RESET_FAILED,
            f"resetting host: unmanaged OS reset sentinel file still exists: {NEEDS_RESET}",
        )
    ]
    assert agent.stopper.waits == [PERIOD]
    assert agent.plugin.methods() == ["trigger_reset", "reset", "reset"]
    assert agent.api.patches()[-1].reset is True


@pytest.mark.parametrize(
    ("fail", "message"),
    [
        (
            lambda agent: agent.api.on("delete_host", unavailable()),
            "marking host for deletion: the server answered 503",
        ),
        (
            lambda agent: agent.api.on("delete_host", refused(403, "wrong key")),
            "marking host for deletion: the server answered 403: wrong key",
        ),
        (
            lambda agent: agent.api.on("get_registration", unreachable()),
            "getting remote Registration: cannot connect: [Errno 111] Connection refused",
        ),
        (
            lambda agent: agent.plugin.fail("reset", PluginError("disk busy")),
            "resetting host: disk busy",
        ),
        (
            lambda agent: agent.api.on("patch_host", unavailable(), when=sets(reset=True)),
            "patching host with reset successful: the server answered 503",
        ),
        (
            lambda agent: agent.api.on("patch_host", refused(400, "bad patch"), when=sets(reset=True)),
            "patching host with reset successful: the server answered 400: bad patch",
        ),
    ],
)
def test_each_failure_is_reported_then_retried_after_a_period(
    agent: Agent, fail: object, message: str
) -> None:
    fail(agent)  # type: ignore[operator]
    phases.reset(agent.ctx)
    failures = [c for c in agent.api.conditions() if c[1] == "False"]
    assert failures == [(RESET_READY, "False", "Error", RESET_FAILED, message)]
    assert agent.stopper.waits == [PERIOD]
    assert agent.api.patches()[-1].reset is True


def test_once_reset_a_retry_does_not_reset_again(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), unavailable(), when=sets(reset=True))
    phases.reset(agent.ctx)
    assert agent.plugin.methods() == ["reset"]
    assert agent.api.operations().count("get_registration") == 1
    # each attempt asks for the deletion again (the API accepts it again)
    assert agent.api.operations().count("delete_host") == 3


def test_resetting_is_retried_until_stopped(agent: Agent) -> None:
    agent.stopper.limit = 3
    agent.api.on("delete_host", *[unreachable()] * 10)
    with pytest.raises(Stopped):
        phases.reset(agent.ctx)
    assert agent.api.operations().count("delete_host") == 3
    assert agent.plugin.methods() == []
