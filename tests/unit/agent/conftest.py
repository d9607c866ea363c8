"""The agent's phases in-process, without a network or a process: the API is `FakeApi` (a fake
of the agent's `ApiClient`), the OS plugin is the real dummy plugin working in a tmp_path host
root, waits return at once (`FakeStopper`), and starting a host command fails the test."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from elemental_agent.config import SECOND, Config
from elemental_agent.context import AgentContext, Stopper
from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot
from elemental_agent.plugins.base import BOOTSTRAP_SENTINEL, PluginContext
from elemental_agent.plugins.dummy import DummyPlugin
from elemental_agent.runner import CommandRunner
from elemental_core.tokens import SigningKey
from elemental_models.api import ApiHostResponse, ApiRegistrationResponse
from tests.unit.agent.fake_api import FakeApi

URI = "https://elemental.example/elemental/v1/namespaces/default/registrations/agents"
CONFIG_PATH = "/etc/elemental/agent/config.yaml"
WORK = "/var/lib/elemental/agent"
LOCAL_PERIOD = 7 * SECOND  # the host's own config file
PERIOD = 3 * SECOND  # the config the registration hands out
HOSTNAME = "m-registered"


def registration_response(**agent: Any) -> ApiRegistrationResponse:
    """What the API answers for the registration (dummy plugin, random `m-` names)."""
    return ApiRegistrationResponse.model_validate(
        {
            "config": {
                "elemental": {
                    "registration": {"uri": URI, "token": "registration-token"},
                    "agent": {
                        "osPlugin": "/usr/lib/elemental/plugins/dummy.so",
                        "workDir": WORK,
                        "reconciliation": PERIOD,
                        "hostname": {"useExisting": False, "prefix": "m-"},
                        **agent,
                    },
                    "install": {"device": "/dev/vda", "debug": True},
                    "reset": {"resetPersistent": True},
                },
                "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
            },
            "hostLabels": {"site": "lab"},
            "hostAnnotations": {"owner": "team-a"},
        }
    )


def local_config() -> Config:
    """The host's config file before registering: where the API is, and little else."""
    return Config.from_dict(
        {
            "registration": {"uri": URI, "token": "registration-token"},
            "agent": {
                "osPlugin": "/usr/lib/elemental/plugins/dummy.so",
                "workDir": WORK,
                "reconciliation": LOCAL_PERIOD,
                "noSmbios": True,
            },
        }
    )


class FakeStopper(Stopper):
    """Waits without sleeping: records each period, runs the next `meanwhile` hook (what changes
    while the agent waits), and stops the agent at the `limit`-th wait, so that a loop that
    would retry forever ends the test with `Stopped` instead of hanging it."""

    def __init__(self, limit: int = 10) -> None:
        super().__init__()
        self.waits: list[int] = []
        self.meanwhile: deque[Callable[[], None]] = deque()
        self.limit = limit

    def wait(self, nanoseconds: int) -> None:
        self.waits.append(nanoseconds)
        if self.meanwhile:
            self.meanwhile.popleft()()
        if len(self.waits) >= self.limit:
            self.signal_name = "the test's wait limit"
            self.event.set()
        self.check()


class NoCommands(CommandRunner):
    """Unit tests start no process: a command the agent would run fails the test."""

    def run(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = False) -> str:
        raise AssertionError(f"a unit test ran a host command: {list(argv)}")


PLUGIN_METHODS = (
    "get_hostname",
    "install_cloud_init",
    "install_hostname",
    "install_file",
    "install",
    "bootstrap",
    "reconcile_os_version",
    "trigger_reset",
    "reset",
    "power_off",
    "reboot",
)


class RecordingDummy(DummyPlugin):
    """The real dummy plugin, recording each call (method, args); `fail(method, error...)`
    makes its next calls of `method` raise those errors instead; `os_version_reboot` makes
    `reconcile_os_version` ask for a reboot (after doing its work)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.failures: dict[str, deque[AgentError]] = {}
        self.os_version_reboot = False
        for name in PLUGIN_METHODS:
            setattr(self, name, self._recorded(name, getattr(self, name)))

    def fail(self, method: str, *errors: AgentError) -> None:
        assert method in PLUGIN_METHODS, method
        self.failures.setdefault(method, deque()).extend(errors)

    def called(self, method: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.calls if name == method]

    def methods(self) -> list[str]:
        return [name for name, _args in self.calls]

    def reconcile_os_version(self, data: bytes) -> bool:
        return super().reconcile_os_version(data) or self.os_version_reboot

    def _recorded(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            self.calls.append((name, args))
            pending = self.failures.get(name)
            if pending:
                raise pending.popleft()
            return method(*args)

        return call


@dataclass
class Agent:
    """One agent under test: its context, the fake API, the plugin, the stopper, the host root."""

    ctx: AgentContext
    api: FakeApi
    plugin: RecordingDummy
    stopper: FakeStopper

    @property
    def root(self) -> Path:
        return self.ctx.host.root

    def file(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def work_file(self, name: str) -> Path:
        return self.file(f"{WORK}/{name}")

    def write(self, host_path: str, text: str = "1\n") -> None:
        self.file(host_path).parent.mkdir(parents=True, exist_ok=True)
        self.file(host_path).write_text(text)


def make_agent(
    root: Path,
    *,
    registered: bool,
    registration: ApiRegistrationResponse | None = None,
    runner: CommandRunner | None = None,
) -> Agent:
    """A host before `register` (its own config, not known to the API), or a registered one
    (the registration's config, known to the API as HOSTNAME)."""
    registration = registration or registration_response()
    config = Config.from_api(registration) if registered else local_config()
    root.mkdir(parents=True, exist_ok=True)
    host = HostRoot(root, runner=runner or NoCommands())
    plugin = RecordingDummy()
    plugin.init(PluginContext(work_dir=WORK, config_path=CONFIG_PATH, host=host, runner=host.runner))
    api = FakeApi(registration, hosts={HOSTNAME} if registered else set())
    stopper = FakeStopper()
    ctx = AgentContext(
        config=config,
        config_path=CONFIG_PATH,
        host=host,
        plugin=plugin,
        client=api,
        identity=SigningKey.generate(),
        hostname=HOSTNAME if registered else "localhost",
        stopper=stopper,
        bootstrap_sentinel=BOOTSTRAP_SENTINEL,
    )
    return Agent(ctx=ctx, api=api, plugin=plugin, stopper=stopper)


@pytest.fixture
def new_agent(tmp_path: Path) -> Agent:
    return make_agent(tmp_path / "host", registered=False)


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    return make_agent(tmp_path / "host", registered=True)


# What the API always answers about a host (the spec's required fields).
ANSWERED_ALWAYS: dict[str, Any] = {
    "name": HOSTNAME,
    "installed": False,
    "bootstrapReady": False,
    "bootstrapped": False,
    "needsReset": False,
}


def host_response(**fields: Any) -> ApiHostResponse:
    return ApiHostResponse.model_validate({**ANSWERED_ALWAYS, **fields})
