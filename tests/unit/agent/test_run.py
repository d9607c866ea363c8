"""Running: each check-in (`step`), the loop (`run`), post actions and best-effort reports."""

from __future__ import annotations

import pytest

from elemental_agent import phases
from elemental_agent.config import PostAction
from elemental_agent.errors import PluginError, Stopped
from elemental_agent.plugins.base import BOOTSTRAP_SENTINEL
from elemental_agent.plugins.dummy import BOOTSTRAP_CLOUD_INIT_PATH
from elemental_core.vocabulary import (
    BOOTSTRAP_FAILED,
    BOOTSTRAP_READY,
    IN_PLACE_UPDATE_DONE,
    IN_PLACE_UPDATE_PENDING,
    OS_VERSION_READY,
    OS_VERSION_RECONCILIATION_FAILED,
    PHASE_BOOTSTRAPPING,
    PHASE_OS_VERSION_RECONCILE,
    PHASE_RUNNING,
    PHASE_TRIGGERING_RESET,
    RESET_READY,
    WAITING_FOR_BOOTSTRAP,
    WAITING_FOR_RESET,
)
from elemental_models.api import ApiBootstrapResponse
from tests.unit.agent.conftest import PERIOD, WORK, Agent, host_response
from tests.unit.agent.fake_api import refused, sets, unavailable, unreachable

OS_VERSION = {"osVersion": {"imageUri": "oci://os:v2"}}
REBOOT = ("reboot", "reboot -f")


def test_a_check_in_reports_running(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapped=True)
    assert phases.step(agent.ctx) is False
    assert agent.api.operations() == ["patch_host"]
    assert agent.api.phases() == [PHASE_RUNNING]
    assert agent.plugin.methods() == []


@pytest.mark.parametrize("error", [unavailable(), unreachable(), refused(404, "host not found")])
def test_a_failed_check_in_is_only_logged(agent: Agent, error: Exception) -> None:
    agent.api.on("patch_host", error)
    assert phases.step(agent.ctx) is False
    assert agent.api.operations() == ["patch_host"]


def test_not_bootstrapped_the_os_version_is_reconciled_first(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, osVersionManagement=OS_VERSION)
    assert phases.step(agent.ctx) is False
    assert "imageUri: oci://os:v2" in agent.work_file("os-version.yaml").read_text()
    assert agent.api.condition_types() == [(OS_VERSION_READY, "True", "")]
    assert not any(p.inPlaceUpdate for p in agent.api.patches())


def test_in_place_update_pending_becomes_done(agent: Agent) -> None:
    agent.api.host = host_response(
        bootstrapped=True, inPlaceUpgrade=IN_PLACE_UPDATE_PENDING, osVersionManagement=OS_VERSION
    )
    assert phases.step(agent.ctx) is False
    assert agent.plugin.methods() == ["reconcile_os_version"]
    assert [p.inPlaceUpdate for p in agent.api.patches() if p.inPlaceUpdate] == [IN_PLACE_UPDATE_DONE]


@pytest.mark.parametrize("label", [IN_PLACE_UPDATE_DONE, None])
def test_bootstrapped_without_pending_update_nothing_is_reconciled(agent: Agent, label: str | None) -> None:
    agent.api.host = host_response(bootstrapped=True, inPlaceUpgrade=label, osVersionManagement=OS_VERSION)
    assert phases.step(agent.ctx) is False
    assert agent.plugin.methods() == []
    assert agent.api.conditions() == []


def test_an_os_version_reboot_ends_the_step_before_bootstrapping(agent: Agent) -> None:
    agent.plugin.os_version_reboot = True
    agent.api.host = host_response(bootstrapReady=True, osVersionManagement=OS_VERSION)
    agent.api.bootstrap = ApiBootstrapResponse(config="#cloud-config\n", format="cloud-config")
    assert phases.step(agent.ctx) is True
    assert agent.api.phases() == [PHASE_RUNNING, PHASE_OS_VERSION_RECONCILE]
    assert agent.ctx.host.actions() == [REBOOT]
    assert "get_bootstrap" not in agent.api.operations()


def test_a_failed_os_version_reconcile_skips_bootstrapping(agent: Agent) -> None:
    agent.plugin.fail("reconcile_os_version", PluginError("image not found"))
    agent.api.host = host_response(bootstrapReady=True, osVersionManagement=OS_VERSION)
    assert phases.step(agent.ctx) is False
    assert [c[3] for c in agent.api.conditions()] == [OS_VERSION_RECONCILIATION_FAILED]
    assert "get_bootstrap" not in agent.api.operations()


def test_bootstrap_ready_applies_it_and_reboots(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapReady=True)
    agent.api.bootstrap = ApiBootstrapResponse(
        config="#cloud-config\nruncmd: [echo hi]\n", format="cloud-config"
    )
    assert phases.step(agent.ctx) is True
    assert agent.api.phases() == [PHASE_RUNNING, PHASE_BOOTSTRAPPING]
    assert agent.file(BOOTSTRAP_CLOUD_INIT_PATH).exists()
    assert agent.api.condition_types()[-1] == (BOOTSTRAP_READY, "False", WAITING_FOR_BOOTSTRAP)
    assert agent.ctx.host.actions() == [REBOOT]


def test_after_the_reboot_the_sentinel_reports_bootstrapped_and_the_loop_goes_on(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapReady=True)
    agent.write(BOOTSTRAP_SENTINEL, "success\n")
    assert phases.step(agent.ctx) is False
    assert agent.api.patches()[-1].bootstrapped is True
    assert agent.ctx.host.actions() == []


def test_a_failed_bootstrap_is_reported_and_the_loop_goes_on(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapReady=True)
    agent.api.on("get_bootstrap", unavailable())
    assert phases.step(agent.ctx) is False
    assert agent.api.condition_types()[-1] == (BOOTSTRAP_READY, "False", BOOTSTRAP_FAILED)
    assert agent.ctx.host.actions() == []


def test_needs_reset_triggers_the_reset_first(agent: Agent) -> None:
    """Reset wins over everything else: it is how a host stuck in a failed bootstrap recovers."""
    agent.api.host = host_response(needsReset=True, bootstrapReady=True, osVersionManagement=OS_VERSION)
    assert phases.step(agent.ctx) is True
    assert agent.plugin.methods() == ["trigger_reset"]
    assert agent.api.phases() == [PHASE_RUNNING, PHASE_TRIGGERING_RESET]
    assert agent.api.condition_types() == [(RESET_READY, "False", WAITING_FOR_RESET)]
    assert agent.file(f"{WORK}/needs.reset").exists()


def test_a_failed_reset_trigger_keeps_the_loop_going(agent: Agent) -> None:
    agent.plugin.fail("trigger_reset", PluginError("read-only file system"))
    agent.api.host = host_response(needsReset=True, bootstrapped=True)
    assert phases.step(agent.ctx) is False


def test_run_checks_in_every_period_until_the_reset(agent: Agent) -> None:
    agent.api.on(
        "patch_host",
        host_response(bootstrapped=True),
        unavailable(),
        host_response(bootstrapped=True),
        host_response(bootstrapped=True, needsReset=True),
        when=sets(phase=PHASE_RUNNING),
    )
    phases.run(agent.ctx)
    assert agent.api.phases() == [PHASE_RUNNING] * 4 + [PHASE_TRIGGERING_RESET]
    assert agent.stopper.waits == [PERIOD] * 3


def test_run_ends_when_stopped(agent: Agent) -> None:
    agent.stopper.limit = 2
    agent.api.host = host_response(bootstrapped=True)
    with pytest.raises(Stopped):
        phases.run(agent.ctx)
    assert agent.api.phases() == [PHASE_RUNNING] * 2


def test_run_stopped_before_it_starts_checks_in_no_more(agent: Agent) -> None:
    agent.stopper.event.set()
    with pytest.raises(Stopped):
        phases.run(agent.ctx)
    assert agent.api.calls == []


# -- post actions, best-effort reports -------------------------------------------------------------


@pytest.mark.parametrize(
    ("post", "exits", "actions"),
    [
        (PostAction(), False, []),
        (PostAction(reboot=True), True, [REBOOT]),
        (PostAction(power_off=True), True, [("poweroff", "poweroff -f")]),
        (PostAction(power_off=True, reboot=True), True, [("poweroff", "poweroff -f")]),
    ],
)
def test_post_actions(agent: Agent, post: PostAction, exits: bool, actions: list[tuple[str, str]]) -> None:
    assert phases.handle_post(agent.plugin, post) is exits
    assert agent.ctx.host.actions() == actions


@pytest.mark.parametrize("method", ["reboot", "power_off"])
def test_a_failed_post_action_still_ends_the_agent(agent: Agent, method: str) -> None:
    agent.plugin.fail(method, PluginError("permission denied"))
    post = PostAction(reboot=True) if method == "reboot" else PostAction(power_off=True)
    assert phases.handle_post(agent.plugin, post) is True
    assert agent.ctx.host.actions() == []


def test_condition_messages_are_cut_to_what_the_api_takes(agent: Agent) -> None:
    agent.plugin.fail("trigger_reset", PluginError("x" * 20_000))
    agent.api.host = host_response(needsReset=True)
    phases.step(agent.ctx)
    [(_type, _status, _severity, _reason, message)] = agent.api.conditions()
    assert len(message) == phases.MAX_MESSAGE
    assert message.startswith("triggering reset: xxx")


def test_failed_phase_and_condition_reports_are_only_logged(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), unavailable())
    phases.set_phase(agent.ctx, PHASE_RUNNING)
    phases.update_condition(agent.ctx, phases.condition(RESET_READY, "False", "Error", "X", "y"))
    assert len(agent.api.patches()) == 2


# -- the host's addresses ------------------------------------------------------------------------

FIB_TRIE = """Main:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.7
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.7
              /32 host LOCAL
           |-- 169.254.3.3
              /32 host LOCAL
"""
IF_INET6 = (
    "fd000000000000000000000000000007 04 40 00 82     eth0\n"
    "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
    "00000000000000000000000000000001 01 80 10 80       lo\n"
)


def _addresses_sent(agent: Agent) -> list[object]:
    return [p.addresses.model_dump(mode="json") if p.addresses else None for p in agent.api.patches()]


def test_a_check_in_reports_the_addresses_only_when_they_change(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapped=True)
    agent.write("/proc/net/fib_trie", FIB_TRIE)
    agent.write("/proc/net/if_inet6", IF_INET6)
    first = [
        {"type": "Hostname", "address": agent.ctx.hostname},
        {"type": "InternalIP", "address": "192.0.2.7"},
        {"type": "InternalIP", "address": "fd00::7"},
    ]
    for _ in range(3):
        phases.step(agent.ctx)
    # the first check-in after the start reports them; the next ones leave them out
    assert _addresses_sent(agent) == [first, None, None]
    agent.write("/proc/net/if_inet6", "")  # the IPv6 address went away
    phases.step(agent.ctx)
    phases.step(agent.ctx)
    assert _addresses_sent(agent)[3:] == [first[:2], None]
    assert agent.api.phases() == [PHASE_RUNNING] * 5


def test_addresses_a_failed_check_in_did_not_deliver_are_sent_again(agent: Agent) -> None:
    agent.api.host = host_response(installed=True, bootstrapped=True)
    agent.api.on("patch_host", unavailable())
    phases.step(agent.ctx)
    phases.step(agent.ctx)
    phases.step(agent.ctx)
    only_the_name = [{"type": "Hostname", "address": agent.ctx.hostname}]  # no /proc/net in this root
    assert _addresses_sent(agent) == [only_the_name, only_the_name, None]
