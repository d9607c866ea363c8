"""Runs the controllers: caches first, then (as leader) one work queue and worker threads
per controller, until SIGTERM/SIGINT or the loss of the leader lease.

With `ManagerOptions.namespaces` only objects in those namespaces are reconciled: the caches
still cover the cluster, and keys outside the scope are dropped where they are queued."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from elemental_core.vocabulary import (
    CLUSTERS,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    HOSTS,
    MACHINES,
    REGISTRATIONS,
    REMEDIATIONS,
)
from elemental_kube.client import api_client
from elemental_kube.errors import KubeError
from elemental_kube.leases import LeaderElector
from elemental_kube.objects import Kube
from elemental_kube.settings import ClientSettings
from elemental_operator import metrics
from elemental_operator.controllers.base import ChangeMapper, Controller, Mapper, Settings
from elemental_operator.controllers.elementalcluster import ElementalClusterController
from elemental_operator.controllers.elementalhost import ElementalHostController
from elemental_operator.controllers.elementalmachine import ElementalMachineController
from elemental_operator.controllers.elementalregistration import ElementalRegistrationController
from elemental_operator.controllers.elementalremediation import ElementalRemediationController
from elemental_operator.health import HealthServer
from elemental_operator.views import Key
from elemental_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)
FIELD_MANAGER = "elemental-operator"
WATCHED = (REGISTRATIONS, HOSTS, ELEMENTAL_MACHINES, ELEMENTAL_CLUSTERS, MACHINES, CLUSTERS, REMEDIATIONS)


def connect(kubeconfig: str | None, settings: ClientSettings | None = None) -> Kube:
    """The operator's view of the cluster: caches of every kind it reconciles or watches,
    and a count of the requests it sends (a metric). `settings`: its client's rate limit
    and connection pool."""
    return Kube(
        api_client(kubeconfig, field_manager=FIELD_MANAGER, settings=settings),
        watched=WATCHED,
        on_request=lambda verb: metrics.API_REQUESTS.labels(verb).inc(),
    )


@dataclass
class ManagerOptions:
    settings: Settings
    leader_elect: bool = False
    leader_namespace: str = "default"
    leader_name: str = "elemental-operator-leader"
    health_address: tuple[str, int] = ("127.0.0.1", 8081)
    workers: int = 2
    # Names of the controllers to run (kube-controller-manager's --controllers); None: all.
    controllers: frozenset[str] | None = None
    namespaces: frozenset[str] | None = None  # None: every namespace


def in_scope(namespaces: frozenset[str] | None) -> Callable[[Key], bool]:
    """Whether a key is one this operator reconciles."""
    if namespaces is None:
        return lambda key: True
    return lambda key: key[0] in namespaces


class Manager:
    def __init__(self, kube: Kube, options: ManagerOptions) -> None:
        self.kube = kube
        self.options = options
        self.stop_event = threading.Event()
        self.ready = threading.Event()  # set once this replica acts (as the leader, if electing)
        self.synced = threading.Event()
        every: list[Controller] = [
            ElementalRegistrationController(kube, options.settings),
            ElementalHostController(kube, options.settings),
            ElementalMachineController(kube, options.settings),
            ElementalClusterController(kube, options.settings),
            ElementalRemediationController(kube, options.settings),
        ]
        chosen = options.controllers
        self.controllers = [c for c in every if chosen is None or c.name in chosen]
        self.queues = {c.name: WorkQueue() for c in self.controllers}
        self.in_scope = in_scope(options.namespaces)
        identity = f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        self.elector = (
            LeaderElector(
                kube,
                namespace=options.leader_namespace,
                name=options.leader_name,
                identity=identity,
                on_leading=lambda leading: metrics.LEADER.set(1 if leading else 0),
            )
            if options.leader_elect
            else None
        )
        self._threads: list[threading.Thread] = []
        self._wire_watches()

    def run(self) -> int:
        """Blocks until stopped; 0 on a clean stop, 1 when the leader lease was lost."""
        health = HealthServer(self.options.health_address, healthy=lambda: True, ready=self._is_ready)
        health.start()
        try:
            if not self.kube.start():
                log.warning("caches not synced yet; continuing, they will catch up")
            self.synced.set()
            if self.elector is not None:
                if not self.elector.acquire(self.stop_event):
                    return 0
                self._spawn("leader-renewal", self.elector.keep_renewing, self.stop_event)
            self._start_workers()
            self.ready.set()
            log.info("operator running", extra={"controllers": [c.name for c in self.controllers]})
            while not self.stop_event.wait(0.5):
                if self.elector is not None and self.elector.lost.is_set():
                    return 1  # as controller-runtime: never act without the lease
                for name, queue in self.queues.items():
                    metrics.QUEUE_DEPTH.labels(name).set(queue.depth())
            return 0
        finally:
            self.stop()
            health.stop()

    def stop(self) -> None:
        self.stop_event.set()
        for queue in self.queues.values():
            queue.shutdown()
        for thread in self._threads:
            thread.join(timeout=15)
        if self.elector is not None and not self.elector.lost.is_set():
            self.elector.release()
        self.kube.stop()

    def _is_ready(self) -> bool:
        """/readyz: caches synced and connected. A standby replica waiting for the lease is
        ready too, so a rolling update of two replicas never stalls on it."""
        return self.synced.is_set() and self.kube.connected

    def _wire_watches(self) -> None:
        for controller in self.controllers:
            queue = self.queues[controller.name]
            self.kube.informers[controller.resource].add_handler(enqueue_self(queue, self.in_scope))
            for resource, mapper in controller.watches().items():
                self.kube.informers[resource].add_handler(enqueue_mapped(queue, mapper, self.in_scope))
            for resource, change_mapper in controller.change_watches().items():
                handler = enqueue_changed(queue, change_mapper, self.in_scope)
                self.kube.informers[resource].add_handler(handler)

    def _start_workers(self) -> None:
        for controller in self.controllers:
            # Several workers per controller; the queue never hands one key to two of them.
            workers = self.options.workers if controller.name == "elementalmachine" else 1
            for index in range(workers):
                self._spawn(f"{controller.name}-{index}", self._work, controller)
            enqueue_all(self.queues[controller.name], self.kube.scan(controller.resource), self.in_scope)

    def _spawn(self, name: str, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self, controller: Controller) -> None:
        queue = self.queues[controller.name]
        while not self.stop_event.is_set():
            key = queue.get(timeout=0.5)
            if key is not None:
                process(controller, queue, key)


def process(controller: Controller, queue: WorkQueue, key: Key) -> None:
    """One reconcile of one key: a requeue when it asks for one, a bounded number of
    retries with back-off when it fails."""
    started = time.perf_counter()
    try:
        result = controller.reconcile(*key)
    except KubeError as error:
        metrics.RECONCILES.labels(controller.name, "requeue").inc()
        _retry(controller.name, queue, key, error, unexpected=False)
    except Exception as error:
        metrics.RECONCILE_ERRORS.labels(controller.name).inc()
        metrics.RECONCILES.labels(controller.name, "error").inc()
        _retry(controller.name, queue, key, error, unexpected=True)
    else:
        queue.forget(key)
        metrics.RECONCILES.labels(controller.name, "success").inc()
        if result.requeue_after:
            queue.add_after(key, result.requeue_after)
    finally:
        metrics.RECONCILE_SECONDS.labels(controller.name).observe(time.perf_counter() - started)
        queue.done(key)


def _retry(controller: str, queue: WorkQueue, key: Key, error: Exception, *, unexpected: bool) -> None:
    """Conflicts and outages (KubeError) are expected: back off and read fresh state, logged
    in one line. Anything else is logged with its traceback. Both stop after the queue's
    retries."""
    delay = queue.add_rate_limited(key)
    extra: dict[str, Any] = {"controller": controller, "key": "/".join(key), "error": str(error)}
    if delay is None:
        log.error("reconcile given up until the object changes", extra=extra, exc_info=unexpected)
    elif unexpected:
        log.exception("reconcile failed", extra={**extra, "retry_in": round(delay, 2)})
    else:
        log.info("reconcile retry", extra={**extra, "retry_in": round(delay, 2)})


def _key(obj: dict[str, Any]) -> Key:
    return obj["metadata"]["namespace"], obj["metadata"]["name"]


def enqueue_all(queue: WorkQueue, objects: Iterable[dict[str, Any]], admits: Callable[[Key], bool]) -> None:
    for obj in objects:
        if admits(key := _key(obj)):
            queue.add(key)


def enqueue_self(queue: WorkQueue, admits: Callable[[Key], bool]) -> Any:
    """An informer handler queueing the changed object's own key."""

    def handler(event: str, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        enqueue_all(queue, [obj], admits)

    return handler


def enqueue_mapped(queue: WorkQueue, mapper: Mapper, admits: Callable[[Key], bool]) -> Any:
    """An informer handler queueing the keys a secondary object maps to, before and after
    the change (e.g. a host released by a machine)."""

    def handler(event: str, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        keys = set(mapper(obj))
        if previous is not None and previous is not obj:
            keys.update(mapper(previous))
        for key in keys:
            if admits(key):
                queue.add(key)

    return handler


def enqueue_changed(queue: WorkQueue, mapper: ChangeMapper, admits: Callable[[Key], bool]) -> Any:
    """An informer handler queueing the keys a change maps to (the mapper sees the event,
    the object and its previous version)."""

    def handler(event: str, obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        for key in set(mapper(event, obj, previous)):
            if admits(key):
                queue.add(key)

    return handler
