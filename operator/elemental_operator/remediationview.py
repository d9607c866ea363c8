"""The view over an ElementalRemediation (elemental_operator.views explains views): the
strategy Cluster API's MachineHealthCheck cloned from the template, and the status the
remediation controller keeps (phase, retryCount, lastRemediated, rebootRequest)."""

from __future__ import annotations

from typing import Any

from elemental_core.hosts import parse_seen, seen_timestamp
from elemental_core.vocabulary import (
    DEFAULT_REBOOT_TIMEOUT_SECONDS,
    DEFAULT_RECOVERY_TIMEOUT_SECONDS,
    DEFAULT_REMEDIATION_RETRY_LIMIT,
    LABEL_CLUSTER_NAME,
    MACHINES,
    REMEDIATION_FINALIZER,
    REMEDIATION_REBOOTING,
    REMEDIATIONS,
)
from elemental_operator.views import ObjectView


class RemediationView(ObjectView):
    resource = REMEDIATIONS
    v1beta2_conditions = True
    finalizer = REMEDIATION_FINALIZER

    # -- what it remediates -------------------------------------------------------------------

    @property
    def machine_name(self) -> str:
        """The Machine it remediates: its owner, which Cluster API names it after."""
        return self.owner_name(MACHINES) or self.name

    @property
    def cluster_name(self) -> str | None:
        return self.label(LABEL_CLUSTER_NAME)

    # -- spec.strategy (the CRD defaults them; the same defaults if it did not) ---------------

    @property
    def _strategy(self) -> dict[str, Any]:
        strategy: dict[str, Any] = self._spec.get("strategy") or {}
        return strategy

    @property
    def retry_limit(self) -> int:
        """Reboots to try before the Machine is replaced (0: replace at once)."""
        return int(self._strategy.get("retryLimit", DEFAULT_REMEDIATION_RETRY_LIMIT))

    @property
    def reboot_timeout(self) -> float:
        """Seconds to wait for the agent to take a reboot request (a Go agent never does)."""
        return float(self._strategy.get("rebootTimeoutSeconds", DEFAULT_REBOOT_TIMEOUT_SECONDS))

    @property
    def recovery_timeout(self) -> float:
        """Seconds to wait, once the agent took it, for the host and its Node to be back."""
        return float(self._strategy.get("recoveryTimeoutSeconds", DEFAULT_RECOVERY_TIMEOUT_SECONDS))

    # -- status --------------------------------------------------------------------------------

    @property
    def _read_status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.raw.get("status") or {}
        return status

    @property
    def phase(self) -> str | None:
        return self._read_status.get("phase") or None

    @property
    def retry_count(self) -> int:
        return int(self._read_status.get("retryCount") or 0)

    @property
    def reboot_request(self) -> str | None:
        """The id of the reboot currently asked of the host."""
        return self._read_status.get("rebootRequest") or None

    @property
    def last_remediated(self) -> float | None:
        """When the current step started (seconds since the epoch): every timeout is
        measured from it, so a restarted operator keeps the schedule."""
        return parse_seen(self._read_status.get("lastRemediated"))

    def request_id(self, attempt: int) -> str:
        """The reboot request of an attempt: opaque to the agent, unique per remediation."""
        return f"{self.uid}-{attempt}"

    def owns_request(self, request: str | None) -> bool:
        """Whether a host's reboot request is one of this remediation's."""
        return bool(request) and str(request).startswith(f"{self.uid}-")

    def enter(self, phase: str, now: float) -> None:
        """Starts a step: its phase, and the time its timeout counts from."""
        self._status["phase"] = phase
        self._status["lastRemediated"] = seen_timestamp(now)

    def start_attempt(self, attempt: int, now: float) -> str:
        """Rebooting, for the attempt-th time; returns the id of its reboot request."""
        request = self.request_id(attempt)
        self.enter(REMEDIATION_REBOOTING, now)
        self._status["retryCount"] = attempt
        self._status["rebootRequest"] = request
        return request

    def forget_request(self) -> None:
        """No reboot is asked any more (the remediation ended, or goes on without one)."""
        self._status.pop("rebootRequest", None)
