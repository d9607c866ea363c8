"""The records the API keeps, shaped like the ElementalRegistration and ElementalHost resources.

Both stores (SQLite and Kubernetes) read and write these; nothing here does I/O.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from elemental_core.vocabulary import DEFAULT_BOOTSTRAP_FORMAT


@dataclass
class Registration:
    """An ElementalRegistration: which hosts may register, and the agent configuration."""

    namespace: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    host_labels: dict[str, str] = field(default_factory=dict)
    host_annotations: dict[str, str] = field(default_factory=dict)
    private_key_ref: dict[str, str] | None = None
    uid: str = ""
    version: str = ""

    @property
    def uri(self) -> str:
        return str(self.config.get("elemental", {}).get("registration", {}).get("uri", ""))

    @property
    def token(self) -> str:
        return str(self.config.get("elemental", {}).get("registration", {}).get("token", ""))

    @property
    def signing_key_secret(self) -> str:
        """The Secret holding the signing key: the reference, else the registration's name."""
        if self.private_key_ref and self.private_key_ref.get("name"):
            return self.private_key_ref["name"]
        return self.name


@dataclass
class ObjectRef:
    namespace: str
    name: str


@dataclass
class Host:
    """An ElementalHost: one machine that registered through a registration."""

    namespace: str
    name: str
    registration: str
    pub_key: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    phase: str | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)
    # What the host reports ({type, address}, as Cluster API's MachineAddress): status.addresses.
    addresses: list[dict[str, str]] = field(default_factory=list)
    # When the API last recorded a check-in (RFC 3339, microseconds, UTC): status.lastSeen.
    last_seen: str | None = None
    # A remediation's reboot request (spec.rebootRequest, the operator's) and the last one the
    # agent acknowledged (status.rebootAccepted, recorded by the API): opaque ids.
    reboot_request: str | None = None
    reboot_accepted: str | None = None
    bootstrap_secret: ObjectRef | None = None
    machine_ref: dict[str, Any] | None = None
    os_version_management: dict[str, Any] = field(default_factory=dict)
    deleting: bool = False
    version: str = ""
    created: str = ""

    def copy(self) -> Host:
        """A copy whose containers can be changed freely (cheaper than deepcopy on the hot path)."""
        return dataclasses.replace(
            self,
            labels=dict(self.labels),
            annotations=dict(self.annotations),
            conditions=[dict(c) for c in self.conditions],
            addresses=[dict(a) for a in self.addresses],
            os_version_management=copy.deepcopy(self.os_version_management),
            machine_ref=dict(self.machine_ref) if self.machine_ref else None,
        )

    def label_is_true(self, key: str) -> bool:
        return self.labels.get(key) == "true"


@dataclass
class Bootstrap:
    config: str
    format: str = DEFAULT_BOOTSTRAP_FORMAT
