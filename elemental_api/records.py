"""The records the API keeps, shaped like the ElementalRegistration and ElementalHost resources.

Both stores (SQLite and Kubernetes) read and write these; nothing here does I/O.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any

GROUP = "infrastructure.cluster.x-k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
API_PREFIX = "/elemental/v1"

_HOST = "elementalhost.infrastructure.cluster.x-k8s.io"
LABEL_MACHINE_NAME = f"{_HOST}/machine-name"
LABEL_ELEMENTAL_MACHINE_NAME = f"{_HOST}/elemental-machine-name"
LABEL_INSTALLED = f"{_HOST}/installed"
LABEL_BOOTSTRAPPED = f"{_HOST}/bootstrapped"
LABEL_NEEDS_RESET = f"{_HOST}/needs-reset"
LABEL_RESET = f"{_HOST}/reset"
LABEL_IN_PLACE_UPDATE = f"{_HOST}/in-place-update"
LABEL_CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"

# Upstream's one finalizer name, on ElementalHosts (held until the host has reset) and on
# ElementalMachines (held until the machine's host is asked to reset).
FINALIZER = "elementalmachine.infrastructure.cluster.x-k8s.io"

# Label and annotation key prefixes that only the provider may set.
PROVIDER_OWNED_PREFIXES = (f"{_HOST}/", "cluster.x-k8s.io/")

SIGNING_KEY_FIELD = "privKey"
BOOTSTRAP_VALUE_FIELD = "value"
BOOTSTRAP_FORMAT_FIELD = "format"
DEFAULT_BOOTSTRAP_FORMAT = "cloud-config"


def registration_uri(endpoint: str, namespace: str, name: str) -> str:
    """The URI an agent uses for a registration, as upstream's operator writes it."""
    return f"{endpoint.rstrip('/')}{API_PREFIX}/namespaces/{namespace}/registrations/{name}"


def host_path(namespace: str, registration: str, host: str) -> str:
    return f"{API_PREFIX}/namespaces/{namespace}/registrations/{registration}/hosts/{host}"


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
            os_version_management=copy.deepcopy(self.os_version_management),
            machine_ref=dict(self.machine_ref) if self.machine_ref else None,
        )

    def label_is_true(self, key: str) -> bool:
        return self.labels.get(key) == "true"


@dataclass
class Bootstrap:
    config: str
    format: str = DEFAULT_BOOTSTRAP_FORMAT
