"""Registering and Finalizing Registration, against the fake API."""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from elemental_agent import phases
from elemental_agent.config import Config
from elemental_agent.errors import AgentError, PluginError, RequestRefused, RetryableError, Stopped
from elemental_agent.identity import key_path
from elemental_agent.runner import CommandRunner
from elemental_agent.smbios import LABEL_PREFIX
from elemental_core.tokens import SigningKey
from elemental_core.vocabulary import (
    INSTALLATION_READY,
    PHASE_FINALIZING_REGISTRATION,
    PHASE_REGISTERING,
    REGISTRATION_FAILED,
    REGISTRATION_READY,
    WAITING_FOR_INSTALLATION,
)
from elemental_models.api import ApiHostCreateRequest
from tests.unit.agent.conftest import (
    CONFIG_PATH,
    HOSTNAME,
    LOCAL_PERIOD,
    PERIOD,
    WORK,
    Agent,
    make_agent,
    registration_response,
)
from tests.unit.agent.fake_api import probe, refused, reports, unavailable, unreachable

RANDOM_NAME = re.compile(r"m-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DMIDECODE = Path(__file__).parents[2] / "agent" / "data" / "dmidecode-qemu.txt"


def test_register_creates_the_host_and_takes_the_registrations_config(new_agent: Agent) -> None:
    phases.register(new_agent.ctx)
    api, ctx = new_agent.api, new_agent.ctx
    assert RANDOM_NAME.fullmatch(ctx.hostname)
    assert api.operations() == ["get_registration", "patch_host", "create_host", "patch_host"]
    assert api.calls[1].hostname == ctx.hostname and probe(api.calls[1])
    created = api.calls[2].request
    assert isinstance(created, ApiHostCreateRequest)
    assert created.model_dump(mode="json", exclude_none=True) == {
        "name": ctx.hostname,
        "pubKey": ctx.identity.public_pem(),
        "labels": {"site": "lab"},
        "annotations": {"owner": "team-a"},
    }
    # the phase is reported once the host exists, under its new name
    assert api.calls[3].hostname == ctx.hostname
    assert api.phases() == [PHASE_REGISTERING]
    assert ctx.config == Config.from_api(api.registration)
    assert ctx.period == PERIOD
    assert new_agent.stopper.waits == []


def test_a_host_already_registered_under_the_name_is_not_created_again(tmp_path: Path) -> None:
    agent = make_agent(
        tmp_path / "host",
        registered=False,
        registration=registration_response(hostname={"useExisting": True, "prefix": "m-"}),
    )
    agent.write("/etc/hostname", "node-a\n")
    agent.api.hosts.add("m-node-a")
    phases.register(agent.ctx)
    assert agent.ctx.hostname == "m-node-a"
    assert agent.api.operations() == ["get_registration", "patch_host", "patch_host"]
    assert agent.api.phases() == [PHASE_REGISTERING]


@pytest.mark.parametrize(
    ("hostname", "current", "expected"),
    [
        ({"useExisting": True, "prefix": "m-"}, "node-a", "m-node-a"),
        ({"useExisting": True}, "node-a", "node-a"),
        ({"useExisting": False, "prefix": "edge-"}, "node-a", r"edge-[0-9a-f-]{36}"),
        ({}, "node-a", r"[0-9a-f-]{36}"),
    ],
)
def test_hostname_choice(tmp_path: Path, hostname: dict[str, object], current: str, expected: str) -> None:
    agent = make_agent(
        tmp_path / "host", registered=False, registration=registration_response(hostname=hostname)
    )
    agent.write("/etc/hostname", current + "\n")
    phases.register(agent.ctx)
    assert re.fullmatch(expected, agent.ctx.hostname), agent.ctx.hostname
    assert agent.api.hosts == {agent.ctx.hostname}


def test_a_taken_random_name_is_replaced_at_once(new_agent: Agent) -> None:
    new_agent.api.on("create_host", refused(409, "host exists"))
    phases.register(new_agent.ctx)
    first, second = [c.hostname for c in new_agent.api.calls if c.operation == "create_host"]
    assert first != second == new_agent.ctx.hostname
    assert new_agent.stopper.waits == []


def test_a_taken_existing_name_ends_registering_with_the_servers_reason(tmp_path: Path) -> None:
    agent = make_agent(
        tmp_path / "host",
        registered=False,
        registration=registration_response(hostname={"useExisting": True}),
    )
    agent.write("/etc/hostname", "node-a\n")
    agent.api.on("patch_host", refused(403, "not your key"), when=probe)
    agent.api.on("create_host", refused(409, "host node-a already exists"))
    with pytest.raises(AgentError, match=r"^registering: .*409: host node-a already exists$"):
        phases.register(agent.ctx)
    assert agent.api.phases() == []


@pytest.mark.parametrize("operation", ["get_registration", "create_host"])
@pytest.mark.parametrize("error", [unavailable(503), unavailable(500), unreachable()])
def test_server_and_network_errors_are_retried_each_period(
    new_agent: Agent, operation: str, error: RetryableError
) -> None:
    new_agent.api.on(operation, error, error)
    phases.register(new_agent.ctx)
    assert new_agent.api.operations().count(operation) == 3
    # before registering, the period is the host's own config's
    assert new_agent.stopper.waits == [LOCAL_PERIOD, LOCAL_PERIOD]
    assert new_agent.api.hosts == {new_agent.ctx.hostname}


@pytest.mark.parametrize("operation", ["get_registration", "create_host"])
@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_refused_requests_end_registering(new_agent: Agent, operation: str, status: int) -> None:
    new_agent.api.on(operation, refused(status, "token expired"))
    with pytest.raises(AgentError, match=rf"^registering: .*{status}: token expired$") as raised:
        phases.register(new_agent.ctx)
    assert isinstance(raised.value.__cause__, RequestRefused)
    assert new_agent.stopper.waits == []
    assert new_agent.api.hosts == set()


def test_registering_is_retried_until_stopped(new_agent: Agent) -> None:
    new_agent.stopper.limit = 3
    new_agent.api.on("get_registration", *[unreachable()] * 10)
    with pytest.raises(Stopped):
        phases.register(new_agent.ctx)
    assert new_agent.api.operations() == ["get_registration"] * 3


def test_a_failing_hostname_lookup_is_retried(tmp_path: Path) -> None:
    agent = make_agent(
        tmp_path / "host",
        registered=False,
        registration=registration_response(hostname={"useExisting": True}),
    )
    agent.write("/etc/hostname", "node-a\n")
    agent.plugin.fail("get_hostname", PluginError("no hostname yet"))
    phases.register(agent.ctx)
    assert agent.ctx.hostname == "node-a"
    assert agent.stopper.waits == [LOCAL_PERIOD]
    assert agent.api.operations().count("get_registration") == 2


def test_a_name_the_api_would_refuse_ends_registering_before_any_request(tmp_path: Path) -> None:
    agent = make_agent(
        tmp_path / "host",
        registered=False,
        registration=registration_response(hostname={"useExisting": True}),
    )
    agent.write("/etc/hostname", "Not_A_DNS_Name\n")
    refusal = r"host 'Not_A_DNS_Name' can't be created: name: String should match"
    with pytest.raises(AgentError, match=refusal):
        phases.register(agent.ctx)
    assert "create_host" not in agent.api.operations()


def test_smbios_labels_are_sent_and_the_registrations_labels_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Dmidecode(CommandRunner):
        """Answers `dmidecode` with a captured VM's tables, without running anything."""

        def __init__(self) -> None:
            self.argv: list[list[str]] = []

        def run(
            self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = False
        ) -> str:
            self.argv.append(list(argv))
            assert capture
            return DMIDECODE.read_text()

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "dmidecode").write_text("never run\n")
    (bin_dir / "dmidecode").chmod(stat.S_IRWXU)
    monkeypatch.setenv("PATH", str(bin_dir))
    runner = Dmidecode()
    label = f"{LABEL_PREFIX}system-manufacturer"
    agent = make_agent(
        tmp_path / "host",
        registered=False,
        registration=registration_response(),
        runner=runner,
    )
    agent.api.registration.hostLabels = {"site": "lab", label: "registration-wins"}
    agent.ctx.config.agent.no_smbios = False
    phases.register(agent.ctx)
    [call] = [c for c in agent.api.calls if c.operation == "create_host"]
    assert call.request is not None
    labels = call.request.model_dump(mode="json")["labels"]
    assert labels[label] == "registration-wins"
    assert labels[f"{LABEL_PREFIX}chassis-type"] == "Other"
    assert labels["site"] == "lab"
    assert runner.argv[0][0] == "dmidecode"


def test_no_labels_nor_annotations_are_sent_as_none(new_agent: Agent) -> None:
    new_agent.api.registration.hostLabels = None
    new_agent.api.registration.hostAnnotations = {}
    phases.register(new_agent.ctx)
    [call] = [c for c in new_agent.api.calls if c.operation == "create_host"]
    assert call.request is not None
    assert call.request.labels is None and call.request.annotations is None


def test_a_failed_registering_phase_report_does_not_undo_the_registration(new_agent: Agent) -> None:
    new_agent.api.on("patch_host", unavailable(), when=lambda call: call.patch.phase == PHASE_REGISTERING)
    phases.register(new_agent.ctx)
    assert new_agent.api.hosts == {new_agent.ctx.hostname}


# -- Finalizing Registration --------------------------------------------------------------------


def test_finalize_installs_hostname_config_and_key_then_reports(agent: Agent) -> None:
    phases.finalize_registration(agent.ctx)
    assert agent.file("/etc/hostname").read_text() == f"{HOSTNAME}\n"
    assert Config.from_yaml(agent.file(CONFIG_PATH).read_bytes()) == agent.ctx.config
    key = agent.file(key_path(WORK))
    assert SigningKey.from_pem(key.read_bytes()).public_pem() == agent.ctx.identity.public_pem()
    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert agent.ctx.host.actions() == [("set-hostname", f"hostnamectl set-hostname {HOSTNAME}")]
    assert agent.api.phases() == [PHASE_FINALIZING_REGISTRATION]
    assert agent.api.conditions() == [
        (REGISTRATION_READY, "True", "Info", "", ""),
        (
            INSTALLATION_READY,
            "False",
            "Info",
            WAITING_FOR_INSTALLATION,
            "Host is registered successfully. Waiting for installation.",
        ),
    ]


def test_finalize_failing_in_the_plugin_is_reported(agent: Agent) -> None:
    agent.file(CONFIG_PATH).mkdir(parents=True)  # the config can't be written
    with pytest.raises(AgentError, match=r"^finalizing registration: writing file '/etc/elemental") as raised:
        phases.finalize_registration(agent.ctx)
    [(type_, status, severity, reason, message)] = agent.api.conditions()
    assert (type_, status, severity, reason) == (REGISTRATION_READY, "False", "Error", REGISTRATION_FAILED)
    assert message == str(raised.value).removeprefix("finalizing registration: ")


def test_finalize_retries_registration_ready_on_server_errors(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), unreachable(), when=reports(REGISTRATION_READY, "True"))
    phases.finalize_registration(agent.ctx)
    assert agent.stopper.waits == [PERIOD, PERIOD]
    assert agent.api.condition_types() == [
        (REGISTRATION_READY, "True", ""),
        (REGISTRATION_READY, "True", ""),
        (REGISTRATION_READY, "True", ""),
        (INSTALLATION_READY, "False", WAITING_FOR_INSTALLATION),
    ]


def test_finalize_ends_when_registration_ready_is_refused(agent: Agent) -> None:
    agent.api.on("patch_host", refused(403, "wrong key"), when=reports(REGISTRATION_READY))
    with pytest.raises(AgentError, match=r"^finalizing registration: reporting condition RegistrationReady"):
        phases.finalize_registration(agent.ctx)
    assert agent.stopper.waits == []
    assert agent.api.condition_types() == [(REGISTRATION_READY, "True", "")]


def test_a_failed_waiting_for_installation_report_is_only_logged(agent: Agent) -> None:
    agent.api.on("patch_host", unavailable(), when=reports(INSTALLATION_READY))
    phases.finalize_registration(agent.ctx)
    assert agent.stopper.waits == []
