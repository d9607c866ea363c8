"""What every controller shares: the result type, the settings, the watch mapping, and
`KubeAccess`, the one door to the cluster (the objects themselves are read and changed
through elemental_operator.views)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from elemental_core.hosts import DEFAULT_HEARTBEAT_GRACE
from elemental_core.vocabulary import Resource
from elemental_kube.indexes import Index
from elemental_operator.views import Key

Mapper = Callable[[dict[str, Any]], list[Key]]
# A watch that looks at the change itself: (event type, object, its previous version or None;
# for DELETED the last version known, twice) to the keys it wakes. For watches whose every
# event would otherwise wake work (e.g. every host check-in).
ChangeMapper = Callable[[str, dict[str, Any], dict[str, Any] | None], list[Key]]


@dataclass(frozen=True)
class Result:
    """requeue_after: look again after this many seconds even if nothing changes."""

    requeue_after: float | None = None


@dataclass
class Settings:
    api_endpoint: str = ""
    default_ca: str = ""
    requeue_period: float = 10.0
    # Hosts' liveness (the HostReachable condition): a host is unreachable once its last
    # check-in is older than two heartbeat intervals plus the grace. `elemental-operator run`
    # always sets the interval (default: the API's, elemental_core.hosts); None leaves the
    # condition out (an operator embedded without it, as in tests of other behaviour).
    heartbeat_interval: float | None = None
    heartbeat_grace: float = DEFAULT_HEARTBEAT_GRACE
    extra: dict[str, Any] = field(default_factory=dict)


class KubeAccess(Protocol):
    """What controllers read and write: the slice of elemental_kube.objects.Kube they use
    (tests of decisions give them a fake of exactly this)."""

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None: ...

    def scan(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def indexed(self, resource: Resource, index: Index, namespace: str, value: str) -> list[dict[str, Any]]:
        """Like scan, but only the objects with `value` under `index`."""

    def select(
        self, resource: Resource, namespace: str, predicate: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]: ...

    def list(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]: ...

    def apply_changes(
        self, resource: Resource, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]: ...

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None: ...

    def write_secret(
        self,
        *,
        namespace: str,
        name: str,
        data: dict[str, bytes],
        owner: dict[str, Any] | None = None,
        secret_type: str | None = None,
        replace: bool,
    ) -> str: ...

    def set_node_provider_id(self, kubeconfig: bytes, node: str, provider_id: str) -> None: ...

    def node_ready(self, kubeconfig: bytes, node: str) -> bool | None: ...

    def record_event(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None: ...


class Controller(Protocol):
    name: str
    resource: Resource

    def reconcile(self, namespace: str, name: str) -> Result: ...

    def watches(self) -> dict[Resource, Mapper]:
        """Secondary resources whose changes enqueue primary keys (besides the primary)."""

    def change_watches(self) -> dict[Resource, ChangeMapper]:
        """Secondary resources whose changes, compared with their previous version, enqueue
        primary keys."""


class KubeHolder:
    """Gives a controller its Kube and Settings."""

    def __init__(self, kube: KubeAccess, settings: Settings) -> None:
        self.kube = kube
        self.settings = settings

    def change_watches(self) -> dict[Resource, ChangeMapper]:
        return {}
