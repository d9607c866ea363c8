"""What every controller shares: the result type, the watch mapping, condition helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from elemental_core import conditions
from elemental_core.vocabulary import Resource

Key = tuple[str, str]
Mapper = Callable[[dict[str, Any]], list[Key]]


@dataclass(frozen=True)
class Result:
    """requeue_after: look again after this many seconds even if nothing changes."""

    requeue_after: float | None = None


@dataclass
class Settings:
    api_endpoint: str = ""
    default_ca: str = ""
    requeue_period: float = 10.0
    extra: dict[str, Any] = field(default_factory=dict)


class KubeAccess(Protocol):
    """What controllers read and write: the slice of elemental_kube.objects.Kube they use
    (tests of decisions give them a fake of exactly this)."""

    def get(self, resource: Resource, namespace: str, name: str) -> dict[str, Any] | None: ...

    def scan(self, resource: Resource, namespace: str | None = None) -> list[dict[str, Any]]: ...

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


class Controller(Protocol):
    name: str
    resource: Resource

    def reconcile(self, namespace: str, name: str) -> Result: ...

    def watches(self) -> dict[Resource, Mapper]:
        """Secondary resources whose changes enqueue primary keys (besides the primary)."""


def set_condition(obj: dict[str, Any], condition: dict[str, Any]) -> None:
    status = obj.setdefault("status", {})
    status["conditions"] = conditions.set_condition(status.get("conditions") or [], condition)


def with_summary(obj: dict[str, Any]) -> None:
    status = obj.setdefault("status", {})
    status["conditions"] = conditions.with_ready_summary(status.get("conditions") or [])


def true(kind: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "severity": "Info"}


def false(kind: str, severity: str, reason: str, message: str) -> dict[str, Any]:
    return {"type": kind, "status": "False", "severity": severity, "reason": reason, "message": message}


def key_of(obj: dict[str, Any]) -> Key:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = obj.setdefault("metadata", {}).setdefault("labels", {}) or {}
    obj["metadata"]["labels"] = labels
    return labels


def add_finalizer(obj: dict[str, Any], finalizer: str) -> None:
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def remove_finalizer(obj: dict[str, Any], finalizer: str) -> None:
    obj["metadata"]["finalizers"] = [f for f in obj["metadata"].get("finalizers") or [] if f != finalizer]


def deleting(obj: dict[str, Any]) -> bool:
    return bool(obj["metadata"].get("deletionTimestamp"))


def owner(obj: dict[str, Any], kind: str) -> str | None:
    for reference in obj["metadata"].get("ownerReferences") or []:
        if reference.get("kind") == kind and reference.get("apiVersion", "").startswith("cluster.x-k8s.io/"):
            return str(reference["name"])
    return None


class KubeHolder:
    """Gives a controller its Kube and Settings."""

    def __init__(self, kube: KubeAccess, settings: Settings) -> None:
        self.kube = kube
        self.settings = settings
