"""kube-apiserver stops and restarts under a running API on the Kubernetes store: requests in
between get 503 with Retry-After (never 500), no host is lost or duplicated, and service
resumes unaided."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client as k8s

from elemental_core.vocabulary import GROUP, VERSION
from tests.controlplane import ControlPlane
from tests.helpers import HostIdentity, wait_for
from tests.inprocess_operator import RunningOperator
from tests.live import LiveServer


@pytest.fixture
def kube_live_server(control_plane: ControlPlane, tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(tmp_path / "api", kubeconfig=control_plane.kubeconfig_path) as server:
        yield server


def test_api_answers_503_while_kube_apiserver_is_down_and_recovers(
    control_plane: ControlPlane,
    kube_live_server: LiveServer,
    kube_namespace: str,
    operator_beside_the_api: RunningOperator,
) -> None:
    registration = kube_live_server.make_registration(namespace=kube_namespace)
    hosts = [HostIdentity(registration, f"host-{i}") for i in range(4)]
    with kube_live_server.client() as client:
        for host in hosts:
            response = client.post(host.hosts_path, json=host.create_body(), headers=host.create_headers())
            assert response.status_code == 201, response.text

        statuses: Counter[int] = Counter()
        unavailable_without_retry_after = 0
        stop = threading.Event()

        def check_in() -> None:
            nonlocal unavailable_without_retry_after
            counter = 0
            with kube_live_server.client() as own:
                while not stop.is_set():
                    host = hosts[counter % len(hosts)]
                    counter += 1
                    try:
                        answer = own.patch(
                            host.path, json={"labels": {"beat": str(counter)}}, headers=host.auth()
                        )
                    except httpx.HTTPError:
                        statuses[-1] += 1
                        continue
                    statuses[answer.status_code] += 1
                    if answer.status_code == 503 and "retry-after" not in answer.headers:
                        unavailable_without_retry_after += 1
                    time.sleep(0.02)

        # A daemon, stopped in `finally`: a failed wait must not leave it looping forever.
        worker = threading.Thread(target=check_in, daemon=True)
        worker.start()
        try:
            wait_for(lambda: statuses[200] >= 5, 20)
            control_plane.stop()
            wait_for(lambda: statuses[503] >= 5, 30)
            # Readiness follows the informers' connection, which each notices on its own
            # thread: under load, a check-in's failed write can come first.
            wait_for(lambda: client.get("/readyz").status_code == 503, 30)
            late = HostIdentity(registration, "host-during-outage")
            refused = client.post(late.hosts_path, json=late.create_body(), headers=late.create_headers())
            assert refused.status_code == 503
            assert refused.headers["retry-after"].isdigit()
        finally:
            control_plane.start()
        try:
            ok_before = statuses[200]
            wait_for(lambda: statuses[200] >= ok_before + 10, 60)
        finally:
            stop.set()
            worker.join(10)
        wait_for(lambda: client.get("/readyz").status_code == 200, 30)
        assert statuses[500] == 0, statuses
        assert unavailable_without_retry_after == 0
        assert set(statuses) <= {200, 503, -1}, statuses
        # Registering works again, exactly once.
        assert (
            client.post(late.hosts_path, json=late.create_body(), headers=late.create_headers()).status_code
            == 201
        )

    with control_plane.api_client() as api:
        items = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
            GROUP, VERSION, kube_namespace, "elementalhosts"
        )["items"]
    names = sorted(i["metadata"]["name"] for i in items)
    assert names == sorted([h.name for h in hosts] + ["host-during-outage"])
