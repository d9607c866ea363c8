"""What in-process operators are doing, for tests that assert that something does NOT happen.

Waiting a fixed time proves nothing on a slow machine. Instead such a test waits for proof
that the operator has looked at the state, then asserts it is unchanged:

* `wait_processed`: an object was taken from its controller's queue and handled N more times
  (for objects requeued periodically, e.g. a machine waiting for a host);
* `wait_idle`: the operator's caches hold every object of the namespace at the version the
  API server has (it has seen every change), and no key is queued, delayed or being handled
  (it has finished reacting to them);
* `wait_settled`: the same while some objects are requeued periodically.

`Activity` spies on `WorkQueue.get`/`done` (calling through, installed with pytest's
monkeypatch before an operator starts), so it counts the work of every queue of the test.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_core.vocabulary import Resource
from elemental_operator.manager import Manager
from elemental_operator.workqueue import Key, WorkQueue
from tests.helpers import wait_for

IDLE_TIMEOUT = 120.0  # a bound, not a speed: a loaded CI machine is slow
_pokes = itertools.count(1)


class Activity:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._lock = threading.Lock()
        self._taken: Counter[int] = Counter()  # per queue (id): keys handed to a worker
        self._done: Counter[int] = Counter()  # per queue: keys a worker finished with
        self._processed: Counter[tuple[int, Key]] = Counter()  # per queue and key
        get, done = WorkQueue.get, WorkQueue.done

        def counted_get(queue: WorkQueue, timeout: float = 1.0) -> Key | None:
            key = get(queue, timeout)
            if key is not None:
                with self._lock:
                    self._taken[id(queue)] += 1
            return key

        def counted_done(queue: WorkQueue, key: Key) -> None:
            done(queue, key)
            with self._lock:
                self._done[id(queue)] += 1
                self._processed[(id(queue), key)] += 1

        monkeypatch.setattr(WorkQueue, "get", counted_get)
        monkeypatch.setattr(WorkQueue, "done", counted_done)

    def processed(self, manager: Manager, controller: str, namespace: str, name: str) -> int:
        """How many times `controller` of `manager` has finished handling the object."""
        with self._lock:
            return self._processed[(id(manager.queues[controller]), (namespace, name))]

    def counts(self, manager: Manager, controller: str, namespace: str, names: list[str]) -> dict[str, int]:
        return {name: self.processed(manager, controller, namespace, name) for name in names}

    def wait_processed(
        self,
        manager: Manager,
        controller: str,
        namespace: str,
        names: list[str],
        times: int = 2,
        since: dict[str, int] | None = None,
    ) -> None:
        """Until each object has been handled `times` more times than `since` (default: now;
        2 from now means at least one reconcile that started after this call, whatever was
        under way at the time)."""
        start = since if since is not None else self.counts(manager, controller, namespace, names)
        wait_for(
            lambda: all(
                self.processed(manager, controller, namespace, name) >= start.get(name, 0) + times
                for name in names
            ),
            IDLE_TIMEOUT,
            f"{controller} handling {names} {times} more times",
            interval=0.1,
        )

    def wait_idle(self, custom: k8s.CustomObjectsApi, namespace: str, *managers: Manager) -> None:
        """Until every manager has seen the namespace as the API server has it and has no
        work left (queued, delayed or under way), with no work taken meanwhile."""

        def idle() -> bool:
            taken = self._total_taken(managers)
            if not all(self._no_work(m) for m in managers):
                return False
            if not all(caches_current(custom, namespace, m) for m in managers):
                return False
            return all(self._no_work(m) for m in managers) and self._total_taken(managers) == taken

        before = self._snapshot()
        try:
            wait_for(idle, IDLE_TIMEOUT, "the operator idle with its caches current", interval=0.1)
        except AssertionError as timeout:
            raise AssertionError(f"{timeout}; handled meanwhile: {self._handled_since(before)}") from None

    def _snapshot(self) -> Counter[tuple[int, Key]]:
        with self._lock:
            return Counter(self._processed)

    def _handled_since(self, before: Counter[tuple[int, Key]]) -> dict[str, int]:
        """What kept the operators busy: each key's handlings since `before`, most first."""
        with self._lock:
            handled = self._processed - before
        return {f"{ns}/{name}": count for (_, (ns, name)), count in handled.most_common(10)}

    def wait_settled(
        self,
        custom: k8s.CustomObjectsApi,
        namespace: str,
        manager: Manager,
        controller: str,
        requeued: list[str],
    ) -> None:
        """`wait_idle` for states in which `requeued` objects are retried periodically (idle
        never comes): once the caches are current, each of them handled twice more (so it was
        looked at with what the caches hold, and the queue, first in first out, has handed out
        what was queued before); then a moment with the caches current and no work under way."""
        wait_for(lambda: caches_current(custom, namespace, manager), IDLE_TIMEOUT, "the caches current")
        self.wait_processed(manager, controller, namespace, requeued)

        def settled() -> bool:
            taken = self._total_taken((manager,))
            if not self._nothing_under_way(manager) or not caches_current(custom, namespace, manager):
                return False
            return self._nothing_under_way(manager) and self._total_taken((manager,)) == taken

        wait_for(settled, IDLE_TIMEOUT, "the operator's caches current and no work under way", interval=0.1)

    def _nothing_under_way(self, manager: Manager) -> bool:
        with self._lock:
            return all(self._taken[id(q)] == self._done[id(q)] for q in manager.queues.values())

    def _no_work(self, manager: Manager) -> bool:
        with self._lock:
            return all(
                queue.depth() == 0 and self._taken[id(queue)] == self._done[id(queue)]
                for queue in manager.queues.values()
            )

    def _total_taken(self, managers: tuple[Manager, ...]) -> int:
        with self._lock:
            return sum(self._taken[id(q)] for m in managers for q in m.queues.values())


def caches_current(custom: k8s.CustomObjectsApi, namespace: str, manager: Manager) -> bool:
    """The manager's caches hold the namespace's objects at the API server's versions."""
    for resource, informer in manager.kube.informers.items():
        listing: Any = custom.list_namespaced_custom_object(
            resource.group, resource.version, namespace, resource.plural
        )
        server = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in listing["items"]}
        cached = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in informer.list(namespace)}
        if server != cached:
            return False
    return True


def poke(custom: k8s.CustomObjectsApi, resource: Resource, namespace: str, name: str) -> None:
    """Changes nothing the operator reads (an annotation of the test's), so that it looks at
    the object again."""
    body = {"metadata": {"annotations": {"test.elemental/poke": str(next(_pokes))}}}
    custom.patch_namespaced_custom_object(
        resource.group, resource.version, namespace, resource.plural, name, body
    )
