"""A remediation's reboot request in a check-in answer: acknowledged, then the reboot through
the plugin, then the agent exits; the id remembered in the work dir so one request never
reboots the host twice; a failed acknowledgement reboots nothing (retried next check-in)."""

from __future__ import annotations

import pytest

from elemental_agent import phases, reboots
from elemental_agent.errors import PluginError
from elemental_core.vocabulary import PHASE_RUNNING, PHASE_TRIGGERING_RESET
from elemental_models.api import ApiHostResponse
from tests.unit.agent.conftest import WORK, Agent, host_response
from tests.unit.agent.fake_api import sets, unavailable, unreachable

REBOOT = ("reboot", "reboot -f")
REQUEST = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"
NEXT_REQUEST = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-2"
OS_VERSION = {"osVersion": {"imageUri": "oci://os:v2"}}


def acknowledgements(agent: Agent) -> list[str]:
    return [p.rebootAccepted for p in agent.api.patches() if p.rebootAccepted]


def test_a_reboot_request_is_acknowledged_then_the_host_reboots_and_the_agent_exits(agent: Agent) -> None:
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)

    assert phases.step(agent.ctx) is True

    assert agent.api.phases() == [PHASE_RUNNING]
    assert acknowledgements(agent) == [REQUEST]
    assert agent.plugin.methods() == ["reboot"]
    assert agent.ctx.host.actions() == [REBOOT]
    assert agent.work_file(reboots.ACCEPTED_FILE).read_text() == f"{REQUEST}\n"


def test_the_acknowledgement_is_sent_before_the_reboot(agent: Agent) -> None:
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)
    sent_before_reboot: list[list[str]] = []
    real_reboot = agent.plugin.reboot

    def reboot() -> None:
        sent_before_reboot.append(acknowledgements(agent))
        real_reboot()

    agent.plugin.reboot = reboot  # type: ignore[method-assign]

    assert phases.step(agent.ctx) is True
    assert sent_before_reboot == [[REQUEST]]


def test_a_request_taken_already_is_acknowledged_again_without_a_second_reboot(agent: Agent) -> None:
    """After the reboot, should the API ask again for the same id (its record of the
    acknowledgement lost), the remembered id says it was done."""
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)
    assert phases.step(agent.ctx) is True

    assert phases.step(agent.ctx) is False  # the agent after its restart

    assert acknowledgements(agent) == [REQUEST, REQUEST]
    assert agent.ctx.host.actions() == [REBOOT]


def test_a_new_request_after_one_taken_reboots_again(agent: Agent) -> None:
    agent.write(f"{WORK}/{reboots.ACCEPTED_FILE}", f"{REQUEST}\n")
    agent.api.host = host_response(bootstrapped=True, rebootRequest=NEXT_REQUEST)

    assert phases.step(agent.ctx) is True

    assert acknowledgements(agent) == [NEXT_REQUEST]
    assert agent.ctx.host.actions() == [REBOOT]
    assert agent.work_file(reboots.ACCEPTED_FILE).read_text() == f"{NEXT_REQUEST}\n"


def test_a_failed_acknowledgement_reboots_nothing_and_the_next_check_in_retries(agent: Agent) -> None:
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)
    agent.api.on("patch_host", unavailable(), unreachable(), when=sets(rebootAccepted=REQUEST))

    assert phases.step(agent.ctx) is False
    assert phases.step(agent.ctx) is False
    assert agent.ctx.host.actions() == []
    assert not agent.work_file(reboots.ACCEPTED_FILE).exists()

    assert phases.step(agent.ctx) is True
    assert acknowledgements(agent) == [REQUEST] * 3
    assert agent.ctx.host.actions() == [REBOOT]


@pytest.mark.parametrize(
    "answer",
    [
        host_response(bootstrapped=True, rebootRequest=NEXT_REQUEST),
        host_response(bootstrapped=True, needsReset=True),
    ],
    ids=["a-new-attempt-began", "the-machine-went-away"],
)
def test_no_reboot_when_the_acknowledgement_finds_the_remediation_moved_on(
    agent: Agent, answer: ApiHostResponse
) -> None:
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)
    agent.api.on("patch_host", answer, when=sets(rebootAccepted=REQUEST))

    assert phases.step(agent.ctx) is False  # the next check-in acts on what is pending then

    assert acknowledgements(agent) == [REQUEST]
    assert agent.ctx.host.actions() == []
    assert not agent.work_file(reboots.ACCEPTED_FILE).exists()


def test_a_reset_wins_over_a_reboot_request(agent: Agent) -> None:
    agent.api.host = host_response(bootstrapped=True, needsReset=True, rebootRequest=REQUEST)

    assert phases.step(agent.ctx) is True

    assert agent.api.phases() == [PHASE_RUNNING, PHASE_TRIGGERING_RESET]
    assert acknowledgements(agent) == []
    assert agent.ctx.host.actions() == []


def test_a_reboot_request_comes_before_os_version_and_bootstrap(agent: Agent) -> None:
    agent.api.host = host_response(
        installed=True, bootstrapReady=True, rebootRequest=REQUEST, osVersionManagement=OS_VERSION
    )

    assert phases.step(agent.ctx) is True

    assert agent.plugin.methods() == ["reboot"]
    assert "get_bootstrap" not in agent.api.operations()


def test_a_failed_reboot_still_ends_the_agent(agent: Agent) -> None:
    agent.plugin.fail("reboot", PluginError("permission denied"))
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)

    assert phases.step(agent.ctx) is True
    assert agent.ctx.host.actions() == []


def test_an_unwritable_work_dir_still_reboots(agent: Agent) -> None:
    agent.work_file(reboots.ACCEPTED_FILE).mkdir(parents=True)  # a directory where the file goes
    agent.api.host = host_response(bootstrapped=True, rebootRequest=REQUEST)

    assert phases.step(agent.ctx) is True
    assert agent.ctx.host.actions() == [REBOOT]


def test_run_exits_after_a_requested_reboot(agent: Agent) -> None:
    agent.api.on(
        "patch_host",
        host_response(bootstrapped=True),
        host_response(bootstrapped=True, rebootRequest=REQUEST),
        when=sets(phase=PHASE_RUNNING),
    )

    phases.run(agent.ctx)

    assert agent.api.phases() == [PHASE_RUNNING] * 2
    assert agent.ctx.host.actions() == [REBOOT]
