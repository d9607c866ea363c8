"""Leader election through a coordination.k8s.io Lease, so two replicas never both act.

on_leading(True/False) tells the program when it gains or gives up the lease (the operator
turns it into a metric)."""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

from kubernetes import client

from elemental_kube.errors import KubeError
from elemental_kube.objects import Kube

log = logging.getLogger(__name__)
LEASE_SECONDS = 15
RENEW_DEADLINE_SECONDS = 10
RETRY_SECONDS = 2


class LeaderElector:
    def __init__(
        self,
        kube: Kube,
        *,
        namespace: str,
        name: str,
        identity: str,
        on_leading: Callable[[bool], None] = lambda leading: None,
    ) -> None:
        self.kube = kube
        self._on_leading = on_leading
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lost = threading.Event()

    def acquire(self, stop: threading.Event) -> bool:
        """Blocks until this replica holds the lease (True) or `stop` is set (False)."""
        while not stop.is_set():
            if self._try_acquire_or_renew():
                log.info("leader lease acquired", extra={"lease": self.name, "identity": self.identity})
                self._on_leading(True)
                return True
            stop.wait(RETRY_SECONDS)
        return False

    def keep_renewing(self, stop: threading.Event) -> None:
        """Renews until stopped; if renewals fail past the deadline, sets `lost`."""
        last_renewal = time.monotonic()
        while not stop.wait(RETRY_SECONDS):
            if self._try_acquire_or_renew():
                last_renewal = time.monotonic()
            elif time.monotonic() - last_renewal > RENEW_DEADLINE_SECONDS:
                log.error("leader lease lost", extra={"lease": self.name})
                self._on_leading(False)
                self.lost.set()
                return

    def release(self) -> None:
        """Gives the lease up on a clean shutdown so another replica takes over at once."""
        try:
            lease = self.kube.read_lease(self.namespace, self.name)
            if lease is not None and lease.spec.holder_identity == self.identity:
                lease.spec.holder_identity = ""
                lease.spec.lease_duration_seconds = 1
                self.kube.replace_lease(self.namespace, self.name, lease)
        except KubeError:
            pass
        self._on_leading(False)

    def _try_acquire_or_renew(self) -> bool:
        now = datetime.datetime.now(datetime.UTC)
        try:
            lease = self.kube.read_lease(self.namespace, self.name)
            if lease is None:
                self.kube.create_lease(
                    self.namespace,
                    client.V1Lease(
                        metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                        spec=self._spec(now, now, transitions=0),
                    ),
                )
                return True
            spec = lease.spec or client.V1LeaseSpec()
            holder = spec.holder_identity or ""
            if holder and holder != self.identity and not _expired(spec, now):
                return False
            acquired = spec.acquire_time if holder == self.identity else now
            transitions = (spec.lease_transitions or 0) + (0 if holder == self.identity else 1)
            lease.spec = self._spec(acquired or now, now, transitions)
            self.kube.replace_lease(self.namespace, self.name, lease)  # resourceVersion-checked
            return True
        except KubeError as error:
            log.warning("leader lease update failed", extra={"error": str(error)})
            return False

    def _spec(
        self, acquired: datetime.datetime, renewed: datetime.datetime, transitions: int
    ) -> client.V1LeaseSpec:
        return client.V1LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=LEASE_SECONDS,
            acquire_time=acquired,
            renew_time=renewed,
            lease_transitions=transitions,
        )


def _expired(spec: client.V1LeaseSpec, now: datetime.datetime) -> bool:
    renewed = spec.renew_time or spec.acquire_time
    if renewed is None:
        return True
    if renewed.tzinfo is None:
        renewed = renewed.replace(tzinfo=datetime.UTC)
    return (now - renewed).total_seconds() > (spec.lease_duration_seconds or LEASE_SECONDS)
