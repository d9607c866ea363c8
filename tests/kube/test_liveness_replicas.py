"""Liveness through two API replicas on the Kubernetes store (two `elemental-api serve`
processes, each with its own watch cache): a host whose check-ins land on both, many at
once, has its last-seen time written at most once per heartbeat interval, every write of it
a liveness write, and every check-in answered 200 (the replica that loses the race on the
resourceVersion drops its write)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from elemental_core import hosts
from elemental_core.vocabulary import HOSTS
from tests.controlplane import ControlPlane
from tests.helpers import HostIdentity, register, wait_for
from tests.inprocess_operator import RunningOperator
from tests.live import LiveServer

INTERVAL = 1.5
THREADS = 6
WRITES_TO_SEE = 4  # rewrites of the time after the registration's


@pytest.fixture
def replicas(control_plane: ControlPlane, tmp_path: Path) -> Iterator[list[LiveServer]]:
    servers = [
        LiveServer(
            tmp_path / f"replica-{i}",
            workers=1,
            kubeconfig=control_plane.kubeconfig_path,
            extra_args=("--heartbeat-interval", str(INTERVAL)),
        )
        for i in range(2)
    ]
    try:
        for server in servers:
            server.start()
        yield servers
        for server in servers:
            assert server.stop() == 0, server.log()
    finally:
        for server in servers:
            server.kill()
            server.close()


class HostWrites:
    """Every write of one ElementalHost, from a watch: (resourceVersion, status.lastSeen)."""

    def __init__(self, control_plane: ControlPlane, namespace: str, name: str, since: str) -> None:
        self.writes: list[tuple[str, str | None]] = []
        self._stop = threading.Event()
        self._api = control_plane.api_client()
        self._args = (namespace, name, since)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        namespace, name, since = self._args
        custom = k8s.CustomObjectsApi(self._api)
        stream = watch.Watch()
        try:
            for event in stream.stream(
                custom.list_namespaced_custom_object,
                HOSTS.group,
                HOSTS.version,
                namespace,
                HOSTS.plural,
                field_selector=f"metadata.name={name}",
                resource_version=since,
                timeout_seconds=120,
            ):
                obj: Any = event["object"]
                if event["type"] == "MODIFIED":
                    status = obj.get("status") or {}
                    self.writes.append((obj["metadata"]["resourceVersion"], status.get("lastSeen")))
                if self._stop.is_set():
                    break
        except Exception:
            if not self._stop.is_set():  # closing the client ends the stream: expected
                raise

    def stop(self) -> None:
        self._stop.set()
        self._api.close()
        self._thread.join(timeout=10)


def test_two_replicas_write_the_last_seen_time_once_per_interval(
    replicas: list[LiveServer],
    control_plane: ControlPlane,
    kube_namespace: str,
    operator_beside_the_api: RunningOperator,
) -> None:
    registration = replicas[0].make_registration(name="shared", namespace=kube_namespace)
    host = HostIdentity(registration, "heartbeat-host")
    with replicas[0].client() as client:
        assert register(client, host).status_code == 201

    def answer(replica: LiveServer) -> int:
        with replica.client() as client:
            return int(client.patch(host.path, headers=host.auth(), json={}).status_code)

    wait_for(lambda: answer(replicas[1]) == 200, 20, "the second replica knowing the host")
    with control_plane.api_client() as api:
        registered: Any = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            HOSTS.group, HOSTS.version, kube_namespace, HOSTS.plural, host.name
        )
    assert registered["status"]["lastSeen"]  # written at registration
    writes = HostWrites(control_plane, kube_namespace, host.name, registered["metadata"]["resourceVersion"])
    done = threading.Event()

    def check_in_until_done(thread: int) -> list[int]:
        """No-op check-ins, alternating replicas, as fast as they are answered."""
        statuses = []
        clients = [replica.client() for replica in replicas]
        try:
            index = thread
            while not done.is_set():
                statuses.append(clients[index % 2].patch(host.path, headers=host.auth(), json={}).status_code)
                index += 1
        finally:
            for client in clients:
                client.close()
        return statuses

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            futures = [pool.submit(check_in_until_done, t) for t in range(THREADS)]
            try:
                wait_for(lambda: len(writes.writes) >= WRITES_TO_SEE, 60, "the time rewritten a few times")
            finally:
                done.set()
            statuses = [status for future in futures for status in future.result()]
    finally:
        writes.stop()

    assert statuses and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    seen = [hosts.parse_seen(last_seen) for _, last_seen in writes.writes]
    assert None not in seen, writes.writes
    times = [hosts.parse_seen(registered["status"]["lastSeen"]), *seen]
    gaps = [b - a for a, b in itertools.pairwise(times) if a is not None and b is not None]
    # Every write moved the time on (no write of anything else), never within an interval
    # of the previous one: the loser of each race wrote nothing.
    assert all(gap >= INTERVAL for gap in gaps), (gaps, writes.writes)
    assert len(statuses) > 4 * len(gaps), "the check-ins were not many more than the writes"
