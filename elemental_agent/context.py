"""What every phase works with: config, host boundary, plugin, API client, identity, hostname;
and the stop signal every wait honours."""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from types import FrameType

from elemental_agent.client import ApiClient
from elemental_agent.config import Config, format_duration
from elemental_agent.errors import Stopped
from elemental_agent.hostroot import HostRoot
from elemental_agent.plugins.base import BOOTSTRAP_SENTINEL, Plugin
from elemental_core.tokens import SigningKey
from elemental_core.vocabulary import DEFAULT_RECONCILIATION

log = logging.getLogger(__name__)


class Stopper:
    """Set by SIGTERM/SIGINT; waits end early when it is set."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signal_name = ""

    def install(self) -> None:
        """Handles SIGTERM/SIGINT (only possible from the main thread; elsewhere a no-op)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(signum).name
        log.info("Received %s: stopping", self.signal_name)
        self.event.set()

    @property
    def stopped(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        if self.event.is_set():
            raise Stopped(f"stopped by {self.signal_name or 'request'}")

    def wait(self, nanoseconds: int) -> None:
        """Sleeps one period; raises Stopped when asked to stop meanwhile."""
        log.debug("Waiting %s...", format_duration(nanoseconds))
        if self.event.wait(max(nanoseconds, 0) / 1_000_000_000):
            self.check()


@dataclass
class AgentContext:
    config: Config
    config_path: str  # a host path
    host: HostRoot
    plugin: Plugin
    client: ApiClient
    identity: SigningKey
    hostname: str
    stopper: Stopper = field(default_factory=Stopper)
    bootstrap_sentinel: str = BOOTSTRAP_SENTINEL
    # The addresses the last successful check-in reported (None: none yet since the start).
    reported_addresses: list[dict[str, str]] | None = None

    @property
    def period(self) -> int:
        """The reconciliation period, nanoseconds (the default when not positive: a zero
        period would spin)."""
        period = self.config.agent.reconciliation
        return period if period > 0 else DEFAULT_RECONCILIATION
