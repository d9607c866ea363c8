"""A watch-fed cache of one custom resource across all namespaces (an informer).

Lists, then watches from the list's resourceVersion; on 410 Gone (the watch expired) it
lists again. While the API server cannot be reached, `connected` is False and readers treat
the cache as unusable; it recovers by itself when the server is back.

Indexes (client-go's Indexer, controller-runtime's field index) answer "the objects whose key
under this index is V" without scanning them all: a reconcile of one machine among 10,000
hosts looked at every host to find a free one or its own claims.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from elemental_core.vocabulary import Resource
from elemental_kube.client import LIST_TIMEOUT
from elemental_kube.indexes import Bucket, Buckets, Index, build_index

log = logging.getLogger(__name__)
Key = tuple[str, str]
# Called with (event type, object, previous object or None) after the cache changed.
Handler = Callable[[str, dict[str, Any], dict[str, Any] | None], None]
WATCH_SECONDS = 50
RETRY_SECONDS = 0.5
MAX_TOMBSTONES = 10_000


def _gone(obj: dict[str, Any]) -> bool:
    metadata = obj.get("metadata") or {}
    return bool(metadata.get("deletionTimestamp")) and not metadata.get("finalizers")


def _slim(obj: dict[str, Any]) -> dict[str, Any]:
    """Drops what no reader of a cache uses: managedFields (a field-by-field tree of who
    wrote what, often as large as the object itself). At 10,000 hosts it was a large part of
    each API worker's memory. A write made from a cached object leaves it as it is on the
    server (kube-apiserver keeps managedFields when a request omits them)."""
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return obj


def _version(obj: dict[str, Any]) -> int:
    try:
        return int(obj["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return 0


class Informer:
    def __init__(self, api: client.CustomObjectsApi, resource: Resource) -> None:
        self._api = api
        self._resource: dict[str, Any] = {
            "group": resource.group,
            "version": resource.version,
            "plural": resource.plural,
        }
        # namespace -> name -> object: a namespace's listing never scans the others.
        self._items: dict[str, dict[str, dict[str, Any]]] = {}
        self._deleted: dict[Key, int] = {}  # resourceVersions of deletions seen (tombstones)
        self._indexes: dict[str, tuple[Index, Buckets]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._synced = threading.Event()
        self._watch: watch.Watch | None = None
        self._handlers: list[Handler] = []
        self._thread = threading.Thread(target=self._run, name=f"informer-{resource.plural}", daemon=True)

    def add_handler(self, handler: Handler) -> None:
        """Handlers run on the informer's thread: keep them short (enqueue a key)."""
        self._handlers.append(handler)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_synced(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._items.get(namespace, {}).get(name)

    def indexed(self, index: Index, namespace: str, value: str) -> list[dict[str, Any]]:
        """The cached objects of `namespace` with `value` under `index`, in name order. An
        index is built on its first use and kept up to date from then on."""
        with self._lock:
            known = self._indexes.get(index.name)
            if known is None:
                known = (index, build_index(index, self._items))
                self._indexes[index.name] = known
            elif known[0] != index:
                raise ValueError(f"two indexes named {index.name!r}")
            bucket = known[1].get((namespace, value))
            return bucket.ordered() if bucket is not None else []

    def list(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """The cached objects of one namespace (or all), in name order."""
        with self._lock:
            if namespace is not None:
                names = self._items.get(namespace, {})
                return [names[n] for n in sorted(names)]
            return [self._items[ns][n] for ns in sorted(self._items) for n in sorted(self._items[ns])]

    def upsert(self, obj: dict[str, Any]) -> None:
        """Records an object unless the cache already has a newer version of it (our own
        writes land here before their watch events do). The answer to a write that took the
        last finalizer away describes an object that no longer exists: it counts as its
        deletion. An answer older than a deletion already seen is dropped, so that a deleted
        object never comes back into the cache."""
        obj = _slim(obj)
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        version = _version(obj)
        gone = _gone(obj)
        with self._lock:
            current = self._items.get(key[0], {}).get(key[1])
            if current is not None and version < _version(current):
                return
            if current is None and version <= self._deleted.get(key, -1):
                return
            if gone:
                self._pop(key)
                self._tombstone(key, version)
            else:
                self._items.setdefault(key[0], {})[key[1]] = obj
                self._deleted.pop(key, None)
                if current is not None:
                    self._unindex(key, current)
                self._index(key, obj)
        if gone:
            if current is not None:
                self._notify("DELETED", current, current)
        elif current is None or version != _version(current):
            self._notify("ADDED" if current is None else "MODIFIED", obj, current)

    def forget(self, namespace: str, name: str, resource_version: int = 0) -> None:
        with self._lock:
            current = self._pop((namespace, name))
            seen = max(resource_version, _version(current) if current is not None else 0)
            if seen:
                self._tombstone((namespace, name), seen)
        if current is not None:
            self._notify("DELETED", current, current)

    def _pop(self, key: Key) -> dict[str, Any] | None:
        """Removes one object (the lock is held); an emptied namespace goes too."""
        names = self._items.get(key[0])
        if names is None:
            return None
        obj = names.pop(key[1], None)
        if not names:
            del self._items[key[0]]
        if obj is not None:
            self._unindex(key, obj)
        return obj

    # -- indexes (the lock is held) -------------------------------------------------------------

    def _index(self, key: Key, obj: dict[str, Any]) -> None:
        for index, buckets in self._indexes.values():
            for value in index.values(obj):
                buckets.setdefault((key[0], value), Bucket()).put(key[1], obj)

    def _unindex(self, key: Key, obj: dict[str, Any]) -> None:
        for index, buckets in self._indexes.values():
            for value in index.values(obj):
                bucket = buckets.get((key[0], value))
                if bucket is not None:
                    bucket.drop(key[1])
                    if not bucket.objects:
                        del buckets[(key[0], value)]

    def _tombstone(self, key: Key, version: int) -> None:
        """Remembers a deletion's resourceVersion (bounded; the lock is held)."""
        self._deleted[key] = max(version, self._deleted.get(key, 0))
        if len(self._deleted) > MAX_TOMBSTONES:
            del self._deleted[next(iter(self._deleted))]

    def _notify(self, event: str, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        for handler in self._handlers:
            try:
                handler(event, obj, previous)
            except Exception:
                log.exception("informer handler failed", extra={"resource": self._resource["plural"]})

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                resource_version = self._relist()
                self._connected.set()
                self._synced.set()
                self._watch_from(resource_version)
            except ApiException as error:
                if error.status != 410:
                    self._disconnected(error)
            except Exception as error:
                self._disconnected(error)

    def _disconnected(self, error: Exception) -> None:
        if self._stop.is_set():
            return  # stopped: its watch ends when the connection does, which is no loss
        if self._connected.is_set():
            log.warning(
                "watch lost", extra={"resource": self._resource["plural"], "error": type(error).__name__}
            )
        self._connected.clear()
        self._stop.wait(RETRY_SECONDS)

    def _relist(self) -> str:
        listing: Any = self._api.list_cluster_custom_object(**self._resource, _request_timeout=LIST_TIMEOUT)
        listed = [_slim(o) for o in listing.get("items", [])]
        items = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in listed}
        index: dict[str, dict[str, dict[str, Any]]] = {}
        for (namespace, name), obj in items.items():
            index.setdefault(namespace, {})[name] = obj
        with self._lock:
            old, self._items = self._items, index
            self._deleted = {}  # the listing is the truth now
            self._indexes = {name: (i, build_index(i, index)) for name, (i, _) in self._indexes.items()}
        previous = {(ns, n): o for ns, names in old.items() for n, o in names.items()}
        # A relist is level-triggered: tell handlers about everything, and what vanished.
        for key, obj in items.items():
            self._notify("ADDED" if key not in previous else "MODIFIED", obj, previous.get(key))
        for key in previous.keys() - items.keys():
            self._notify("DELETED", previous[key], previous[key])
        return str(listing["metadata"]["resourceVersion"])

    def _watch_from(self, resource_version: str) -> None:
        """Follows events until the watch expires (410) or the connection breaks."""
        while not self._stop.is_set():
            self._watch = watch.Watch()
            for event in self._watch.stream(
                self._api.list_cluster_custom_object,
                **self._resource,
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=WATCH_SECONDS,
                _request_timeout=(3, WATCH_SECONDS + 10),
            ):
                obj = event["object"]
                if event["type"] == "DELETED":
                    self.forget(obj["metadata"]["namespace"], obj["metadata"]["name"], _version(obj))
                elif event["type"] in ("ADDED", "MODIFIED"):
                    self.upsert(obj)  # never older than what this process itself wrote
            resource_version = self._watch.resource_version or resource_version
