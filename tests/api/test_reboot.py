"""Reboot requests (issue 12, remediation) on both stores: the host's pending request
(ElementalHost spec.rebootRequest, the operator's) is in its check-in answer until the agent
acknowledges it with patchHost `rebootAccepted`, recorded as status.rebootAccepted; a stale
acknowledgement is answered 200 and ignored; a repeated one writes nothing (on Kubernetes:
no request reaches kube-apiserver); a reset wins over a reboot; the Go agent's check-in,
which never sends `rebootAccepted`, gets the request and leaves the record alone."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_api.store import Store, open_store
from elemental_api.store.kubernetes import KubernetesStore
from elemental_core.records import Host
from elemental_core.vocabulary import GROUP, HOSTS, VERSION
from tests.controlplane import ControlPlane
from tests.helpers import HostIdentity, assert_problem, register, wait_for

REBOOT = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"
NEXT_REBOOT = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-2"
GO_AGENT_CHECK_IN = b'{"phase":"Running","installed":true}'


class Operator:
    """Writes spec.rebootRequest as the remediation controller does: on Kubernetes a patch
    of the ElementalHost (the API never writes it), on SQLite straight into the record."""

    def __init__(self, store: Store, request: pytest.FixtureRequest) -> None:
        self.store = store
        self.kube: ControlPlane | None = (
            request.getfixturevalue("control_plane") if isinstance(store, KubernetesStore) else None
        )

    def request_reboot(self, host: HostIdentity, reboot: str | None) -> None:
        if self.kube is None:
            current = stored(self.store, host)
            self.store.update_host(dataclasses.replace(current, reboot_request=reboot))
            return
        with self.kube.api_client() as api:
            k8s.CustomObjectsApi(api).patch_namespaced_custom_object(
                GROUP, VERSION, "default", HOSTS.plural, host.name, {"spec": {"rebootRequest": reboot}}
            )
        # The API reads hosts from its watch-fed cache.
        wait_for(lambda: stored(self.store, host).reboot_request == reboot, what="the request in the cache")

    def host_requests(self) -> float:
        """kube-apiserver's own count of requests on ElementalHosts (watch streams aside)."""
        assert self.kube is not None
        return sum(
            count
            for labels, count in self.kube.request_counts()
            if labels.get("resource") == "elementalhosts" and labels.get("verb") != "WATCH"
        )


@pytest.fixture
def operator(store: Store, request: pytest.FixtureRequest) -> Operator:
    return Operator(store, request)


def stored(store: Store, host: HostIdentity) -> Host:
    found = store.get_host("default", host.name)
    assert found is not None
    return found


def check_in(client: Any, host: HostIdentity, **body: Any) -> dict[str, Any]:
    response = client.patch(host.path, headers=host.auth(), json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def acknowledged(store: Store, host: HostIdentity, reboot: str) -> None:
    wait_for(lambda: stored(store, host).reboot_accepted == reboot, what="the acknowledgement in the cache")


def test_a_pending_request_is_answered_until_acknowledged(
    client: Any, store: Store, host: HostIdentity, operator: Operator
) -> None:
    assert register(client, host).status_code == 201
    assert "rebootRequest" not in check_in(client, host)
    operator.request_reboot(host, REBOOT)

    assert check_in(client, host)["rebootRequest"] == REBOOT
    assert check_in(client, host, phase="Running")["rebootRequest"] == REBOOT  # still pending
    answer = check_in(client, host, rebootAccepted=REBOOT)

    assert "rebootRequest" not in answer
    acknowledged(store, host, REBOOT)
    assert stored(store, host).reboot_request == REBOOT  # the operator's to remove
    assert "rebootRequest" not in check_in(client, host)
    # The next attempt is pending again, until acknowledged in turn.
    operator.request_reboot(host, NEXT_REBOOT)
    assert check_in(client, host)["rebootRequest"] == NEXT_REBOOT
    assert "rebootRequest" not in check_in(client, host, rebootAccepted=NEXT_REBOOT)
    acknowledged(store, host, NEXT_REBOOT)


def test_a_stale_acknowledgement_is_accepted_and_ignored(
    client: Any, store: Store, host: HostIdentity, operator: Operator
) -> None:
    assert register(client, host).status_code == 201
    check_in(client, host, phase="Running")
    version = stored(store, host).version

    # No request pending (the remediation ended before the agent's acknowledgement came).
    assert "rebootRequest" not in check_in(client, host, rebootAccepted=REBOOT)
    assert stored(store, host).version == version
    # Another attempt pending: that one is still answered, the old id recorded nowhere.
    operator.request_reboot(host, NEXT_REBOOT)
    version = stored(store, host).version
    assert check_in(client, host, rebootAccepted=REBOOT)["rebootRequest"] == NEXT_REBOOT

    after = stored(store, host)
    assert (after.reboot_accepted, after.version) == (None, version)


def test_a_repeated_acknowledgement_writes_nothing(
    client: Any, store: Store, host: HostIdentity, operator: Operator
) -> None:
    assert register(client, host).status_code == 201
    check_in(client, host, phase="Running")
    operator.request_reboot(host, REBOOT)
    check_in(client, host, phase="Running", rebootAccepted=REBOOT)
    acknowledged(store, host, REBOOT)
    version = stored(store, host).version
    before = operator.host_requests() if operator.kube else 0.0

    for _ in range(3):
        assert "rebootRequest" not in check_in(client, host, phase="Running", rebootAccepted=REBOOT)

    assert stored(store, host).version == version
    if operator.kube:
        assert operator.host_requests() == before


def test_a_reset_wins_over_a_reboot(
    client: Any, store: Store, host: HostIdentity, operator: Operator
) -> None:
    assert register(client, host).status_code == 201
    operator.request_reboot(host, REBOOT)
    assert client.delete(host.path, headers=host.auth()).status_code == 202

    answer = check_in(client, host)

    assert answer["needsReset"] is True
    assert "rebootRequest" not in answer


@pytest.mark.parametrize("bad", ["", "-dash-first", "with space", "a/b", "x" * 101, 7])
def test_an_acknowledgement_that_is_no_request_id_is_400_naming_the_field(
    client: Any, store: Store, host: HostIdentity, operator: Operator, bad: Any
) -> None:
    assert register(client, host).status_code == 201
    operator.request_reboot(host, REBOOT)
    version = stored(store, host).version

    response = client.patch(host.path, headers=host.auth(), json={"installed": True, "rebootAccepted": bad})

    assert_problem(response, 400, "rebootAccepted")
    assert stored(store, host).version == version


def test_the_go_agents_check_in_gets_the_request_and_changes_nothing_of_it(
    client: Any, store: Store, host: HostIdentity, operator: Operator
) -> None:
    assert register(client, host).status_code == 201
    operator.request_reboot(host, REBOOT)

    response = client.patch(
        host.path, content=GO_AGENT_CHECK_IN, headers={**host.auth(), "Content-Type": "application/json"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["rebootRequest"] == REBOOT  # a field the Go agent ignores
    after = stored(store, host)
    assert (after.reboot_request, after.reboot_accepted, after.phase) == (REBOOT, None, "Running")


def test_an_sqlite_record_from_before_reboot_requests_reads_without_one(tmp_path: Path) -> None:
    """A database written before these fields existed: its host records lack both keys."""
    path = tmp_path / "elemental.db"
    opened = open_store(f"sqlite:///{path}")
    host = Host(namespace="default", name="old-host", registration="reg")
    opened.create_host(host)
    with sqlite3.connect(path) as db:
        (data,) = db.execute("SELECT data FROM hosts WHERE name='old-host'").fetchone()
        record = json.loads(data)
        assert record.pop("reboot_request", "missing") is None
        assert record.pop("reboot_accepted", "missing") is None
        db.execute("UPDATE hosts SET data=? WHERE name='old-host'", (json.dumps(record),))

    found = opened.get_host("default", "old-host")
    opened.close()

    assert found is not None and (found.reboot_request, found.reboot_accepted) == (None, None)
