"""Where the API keeps its records: one interface, an SQLite and a Kubernetes implementation."""

from __future__ import annotations

from elemental_api.store.base import (
    AlreadyExists,
    Conflict,
    NotFound,
    Store,
    StoreError,
    StoreUnavailable,
)

__all__ = ["AlreadyExists", "Conflict", "NotFound", "Store", "StoreError", "StoreUnavailable", "open_store"]

DEFAULT_STORE_URL = "sqlite:///elemental.db"


def open_store(url: str = DEFAULT_STORE_URL, *, kubeconfig: str | None = None) -> Store:
    """Opens `sqlite:///PATH` (embedded) or `kubernetes` (custom resources in a cluster)."""
    if url.startswith("sqlite://"):
        from elemental_api.store.sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite://").removeprefix("/") or "elemental.db")
    if url == "kubernetes":
        from elemental_api.store.kubernetes import KubernetesStore  # type: ignore[import-not-found,unused-ignore]

        return KubernetesStore(kubeconfig=kubeconfig)  # type: ignore[no-any-return,unused-ignore]
    raise ValueError(f"--store must be sqlite:///PATH or kubernetes, not {url!r}")
