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
    "handler_threads_for",
    "open_store",
]

DEFAULT_STORE_URL = "sqlite:///elemental.db"
HANDLER_THREADS_ENV = "ELEMENTAL_API_HANDLER_THREADS"
# The API's request handler threads per worker process, by store. An SQLite handler never
# waits on the network and its writes queue on one lock: 4 threads keep the cores busy,
# where 16 took turns at the GIL and at the lock (a registration burst: a fifth to a third
# fewer requests/s, p99 1.2-2.3x; docs/BENCHMARKS.md, "Handler threads and full collections").
# A Kubernetes handler's write waits on kube-apiserver, so more of them are in flight.
SQLITE_HANDLER_THREADS = 4
KUBERNETES_HANDLER_THREADS = 16


def handler_threads_for(url: str) -> int:
    return KUBERNETES_HANDLER_THREADS if url == "kubernetes" else SQLITE_HANDLER_THREADS


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
