"""Where the API keeps its records: one interface, an SQLite and a Kubernetes implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from elemental_api.store.base import (
    AlreadyExists,
    Conflict,
    NotFound,
    Rejected,
    Store,
    StoreError,
    StoreUnavailable,
)

if TYPE_CHECKING:  # the Kubernetes layer is imported only by the Kubernetes store
    from elemental_kube.settings import ClientSettings

__all__ = [
    "AlreadyExists",
    "Conflict",
    "NotFound",
    "Rejected",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "open_store",
]

DEFAULT_STORE_URL = "sqlite:///elemental.db"


def open_store(
    url: str = DEFAULT_STORE_URL,
    *,
    kubeconfig: str | None = None,
    watch: bool = True,
    kube_settings: ClientSettings | None = None,
) -> Store:
    """Opens `sqlite:///PATH` (embedded) or `kubernetes` (custom resources in a cluster).

    watch: serve Kubernetes reads from watch-fed caches (a server); False reads directly
    (a one-shot CLI command, which would otherwise list everything first). kube_settings:
    the Kubernetes client's rate limit and connection pool."""
    if url.startswith("sqlite://"):
        from elemental_api.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite://").removeprefix("/") or "elemental.db")
    if url == "kubernetes":
        from elemental_api.store.kubernetes import KubernetesStore

        return KubernetesStore(kubeconfig=kubeconfig, watch=watch, kube_settings=kube_settings)
    raise ValueError(f"--store must be sqlite:///PATH or kubernetes, not {url!r}")
