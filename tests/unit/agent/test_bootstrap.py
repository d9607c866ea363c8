"""Bootstrapping, against the fake API: apply and reboot, then the sentinel reports it done."""

from __future__ import annotations

import pytest

from elemental_agent import phases
from elemental_agent.config import PostAction
from elemental_agent.errors import AgentError, RequestRefused, RetryableError
from elemental_agent.plugins.base import BOOTSTRAP_SENTINEL
from elemental_agent.plugins.dummy import BOOTSTRAP_CLOUD_INIT_PATH, BOOTSTRAP_IGNITION_PATH
from elemental_core.vocabulary import (
    BOOTSTRAP_FAILED,
    BOOTSTRAP_READY,
    PHASE_BOOTSTRAPPING,
    WAITING_FOR_BOOTSTRAP,
)
from elemental_models.api import ApiBootstrapResponse
from tests.unit.agent.conftest import HOSTNAME, Agent
from tests.unit.agent.fake_api import refused, sets, unavailable, unreachable

CLOUD_CONFIG = "#cloud-config\nruncmd:\n- echo hello\n"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (ApiBootstrapResponse(config=CLOUD_CONFIG, format="cloud-config"), BOOTSTRAP_CLOUD_INIT_PATH),
        (
            ApiBootstrapResponse(config=CLOUD_CONFIG, format=""),
            BOOTSTRAP_CLOUD_INIT_PATH,
        ),  # the default format
        (ApiBootstrapResponse(config='{"ignition": {}}', format="ignition"), BOOTSTRAP_IGNITION_PATH),
    ],
)
def test_bootstrap_applies_the_data_and_asks_for_a_reboot(
    agent: Agent, data: ApiBootstrapResponse, path: str
) -> None:
    agent.api.bootstrap = data
    assert phases.bootstrap(agent.ctx) == PostAction(reboot=True)
    assert agent.file(path).read_text() == data.config
    assert agent.api.operations() == ["patch_host", "get_bootstrap", "patch_host"]
    assert agent.api.calls[1].hostname == HOSTNAME
    assert agent.api.phases() == [PHASE_BOOTSTRAPPING]
    assert agent.api.conditions() == [
        (BOOTSTRAP_READY, "False", "Info", WAITING_FOR_BOOTSTRAP, "Waiting for bootstrap to be executed")
    ]
    assert not any(p.bootstrapped for p in agent.api.patches())
    assert agent.ctx.host.actions() == []  # the caller reboots


def test_the_sentinel_marks_the_host_bootstrapped(agent: Agent) -> None:
    agent.write(BOOTSTRAP_SENTINEL, "success\n")
    assert phases.bootstrap(agent.ctx) == PostAction()
    assert "get_bootstrap" not in agent.api.operations()
    done = agent.api.patches()[-1]
    assert done.bootstrapped is True
    assert agent.api.condition_types() == [(BOOTSTRAP_READY, "True", "")]
    assert agent.plugin.called("bootstrap") == []


def test_the_sentinel_path_is_the_contexts(agent: Agent) -> None:
    agent.ctx.bootstrap_sentinel = "/tmp/bootstrapped"
    agent.write(BOOTSTRAP_SENTINEL)  # not the one this agent looks at
    agent.api.bootstrap = ApiBootstrapResponse(config=CLOUD_CONFIG, format="cloud-config")
    assert phases.bootstrap(agent.ctx) == PostAction(reboot=True)
    agent.write("/tmp/bootstrapped")
    assert phases.bootstrap(agent.ctx) == PostAction()
    assert agent.api.patches()[-1].bootstrapped is True


@pytest.mark.parametrize("error", [unavailable(), refused(400, "no bootstrap attached")])
def test_a_refused_bootstrapped_report_fails_the_step(agent: Agent, error: Exception) -> None:
    agent.write(BOOTSTRAP_SENTINEL)
    agent.api.on("patch_host", error, when=sets(bootstrapped=True))
    with pytest.raises(type(error), match=r"^updating bootstrapped status: the server answered"):
        phases.bootstrap(agent.ctx)
    [(type_, _status, severity, reason, message)] = [c for c in agent.api.conditions() if c[1] == "False"]
    assert (type_, severity, reason) == (BOOTSTRAP_READY, "Error", BOOTSTRAP_FAILED)
    assert message.startswith("updating bootstrapped status: ")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (refused(404, "no bootstrap data yet"), RequestRefused),
        (unavailable(), RetryableError),
        (unreachable(), RetryableError),
    ],
)
def test_fetching_the_bootstrap_failing_is_reported_with_its_kind(
    agent: Agent, error: Exception, kind: type[Exception]
) -> None:
    agent.api.on("get_bootstrap", error)
    with pytest.raises(kind, match=r"^fetching bootstrap config: ") as raised:
        phases.bootstrap(agent.ctx)
    assert agent.api.conditions() == [
        (BOOTSTRAP_READY, "False", "Error", BOOTSTRAP_FAILED, str(raised.value)),
    ]
    assert agent.plugin.called("bootstrap") == []


@pytest.mark.parametrize(
    ("prepare", "problem"),
    [
        (lambda agent: agent.write(BOOTSTRAP_CLOUD_INIT_PATH), "bootstrap already applied"),
        (
            lambda agent: setattr(agent.api, "bootstrap", ApiBootstrapResponse(config="x", format="tar")),
            "unsupported bootstrap format",
        ),
    ],
)
def test_the_plugin_refusing_the_bootstrap_is_reported(agent: Agent, prepare: object, problem: str) -> None:
    agent.api.bootstrap = ApiBootstrapResponse(config=CLOUD_CONFIG, format="cloud-config")
    prepare(agent)  # type: ignore[operator]
    with pytest.raises(AgentError, match=rf"^applying bootstrap config: .*{problem}"):
        phases.bootstrap(agent.ctx)
    [(type_, status, severity, reason, message)] = agent.api.conditions()
    assert (type_, status, severity, reason) == (BOOTSTRAP_READY, "False", "Error", BOOTSTRAP_FAILED)
    assert problem in message
