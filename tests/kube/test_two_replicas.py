"""Two API replicas on the Kubernetes store (two `elemental-api serve` processes, each with
its own watch cache) serving one host: concurrent PATCHes through both lose no update, and
both replicas end up showing the same host as kube-apiserver has it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from kubernetes import client as k8s

from elemental_core.vocabulary import HOSTS
from tests.controlplane import ControlPlane
from tests.helpers import HostIdentity, register, wait_for
from tests.inprocess_operator import RunningOperator
from tests.live import LiveServer

THREADS = 8
PATCHES_PER_THREAD = 21  # seven of each kind
KINDS = ("label", "annotation", "condition")
# A replica answers 503 (Retry-After) when the host kept changing under its retries; the
# PATCH is then sent again, as the agent would.
MAX_ATTEMPTS = 5
TOO_OFTEN = "the host is being changed by others too often"


@pytest.fixture
def replicas(control_plane: ControlPlane, tmp_path: Path) -> Iterator[list[LiveServer]]:
    """Two servers of one worker each: two processes, two caches, one cluster."""
    servers = [
        LiveServer(tmp_path / f"replica-{i}", workers=1, kubeconfig=control_plane.kubeconfig_path)
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


def condition_type(thread: int) -> str:
    return f"Thread{thread}Checked"


def kind(index: int) -> str:
    return KINDS[index % len(KINDS)]


def patch_body(thread: int, index: int) -> dict[str, Any]:
    """One kind of change per PATCH: a label of its own, or the thread's annotation, or its
    condition (status only: a write on the status subresource alone) at this step."""
    if kind(index) == "label":
        return {"labels": {f"t{thread}-{index}": "v"}}
    if kind(index) == "annotation":
        return {"annotations": {f"thread-{thread}": str(index)}}
    return {"condition": {"type": condition_type(thread), "status": "True", "reason": f"Step{index}"}}


def last_step(of_kind: str) -> int:
    return max(i for i in range(PATCHES_PER_THREAD) if kind(i) == of_kind)


def test_concurrent_patches_through_two_replicas_lose_no_update(
    replicas: list[LiveServer],
    control_plane: ControlPlane,
    kube_namespace: str,
    operator_beside_the_api: RunningOperator,
) -> None:
    registration = replicas[0].make_registration(name="shared", namespace=kube_namespace)
    host = HostIdentity(registration, "busy-host")
    with replicas[0].client() as client:
        assert register(client, host).status_code == 201

    def seen_by(replica: LiveServer) -> dict[str, Any] | None:
        """The host as this replica's cache has it (a check-in that changes nothing)."""
        with replica.client() as client:
            answer = client.patch(host.path, headers=host.auth(), json={})
        return answer.json() if answer.status_code == 200 else None

    wait_for(lambda: seen_by(replicas[1]), 20, "the second replica knowing the host")

    refused_without_retry_after = 0

    def patch_many(thread: int) -> list[tuple[int, int, str]]:
        nonlocal refused_without_retry_after
        answers = []
        clients = [replica.client() for replica in replicas]
        try:
            for index in range(PATCHES_PER_THREAD):
                # Alternate replicas, so each write may start from the other's stale cache.
                client = clients[(thread + index) % 2]
                for _attempt in range(MAX_ATTEMPTS):
                    response = client.patch(host.path, headers=host.auth(), json=patch_body(thread, index))
                    if response.status_code != 503:
                        break
                    # Refused, not lost: the agent sends it again (here at once).
                    if not response.headers.get("retry-after", "").isdigit():
                        refused_without_retry_after += 1
                answers.append((index, response.status_code, response.text))
        finally:
            for client in clients:
                client.close()
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(patch_many, range(THREADS)))

    failed = [(t, a) for t, answers in enumerate(results) for a in answers if a[1] != 200]
    assert not failed, f"{len(failed)} PATCHes failed, e.g. {failed[:3]}"
    assert refused_without_retry_after == 0

    # kube-apiserver has every label written, and each thread's last annotation and condition.
    with control_plane.api_client() as api:
        stored: Any = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            HOSTS.group, HOSTS.version, kube_namespace, HOSTS.plural, host.name
        )
    labels = stored["metadata"].get("labels") or {}
    expected = {f"t{t}-{i}" for t in range(THREADS) for i in range(PATCHES_PER_THREAD) if kind(i) == "label"}
    assert expected <= set(labels), f"lost labels: {sorted(expected - set(labels))[:10]}"
    annotations = stored["metadata"].get("annotations") or {}
    last_annotation = str(last_step("annotation"))
    assert {t: annotations.get(f"thread-{t}") for t in range(THREADS)} == dict.fromkeys(
        range(THREADS), last_annotation
    ), annotations
    reasons = {c["type"]: c.get("reason") for c in (stored.get("status") or {}).get("conditions") or []}
    assert {t: reasons.get(condition_type(t)) for t in range(THREADS)} == dict.fromkeys(
        range(THREADS), f"Step{last_step('condition')}"
    ), reasons

    # Both replicas converge on what kube-apiserver has.
    def converged() -> bool:
        views = [seen_by(replica) for replica in replicas]
        return all(
            view is not None and view["labels"] == labels and view["annotations"] == annotations
            for view in views
        )

    wait_for(converged, 20, "both replicas showing the stored host")

    # And each replica's next write starts from that state and keeps it.
    for index, replica in enumerate(replicas):
        with replica.client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            answer = client.patch(host.path, headers=host.auth(), json={"labels": {f"after-{index}": "v"}})
        assert answer.status_code == 200, answer.text
        assert expected | {f"after-{i}" for i in range(index + 1)} <= set(answer.json()["labels"])
    for replica in replicas:
        # No error but the refusals answered 503 above (connexion logs 5xx answers as errors).
        errors = [
            line
            for line in replica.log().splitlines()
            if ('"level": "error"' in line or "Traceback" in line) and TOO_OFTEN not in line
        ]
        assert not errors, "a replica logged errors:\n" + "\n".join(errors)
