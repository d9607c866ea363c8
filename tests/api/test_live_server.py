"""The real server (`elemental-api serve`: gunicorn, 2 uvicorn workers, SQLite) over real HTTP."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from elemental_core.records import Bootstrap
from elemental_core.vocabulary import LABEL_BOOTSTRAPPED, LABEL_INSTALLED, LABEL_NEEDS_RESET
from tests.helpers import HostIdentity, register, registration_path, wait_for
from tests.live import LiveServer, live_server  # noqa: F401  (fixture)

THREADS = 8
PATCHES_PER_THREAD = 25


def test_full_host_lifecycle_over_http(live_server: LiveServer) -> None:  # noqa: F811
    registration = live_server.make_registration(name="lifecycle", host_labels={"site": "edge"})
    host = HostIdentity(registration, "machine-1")
    store = live_server.store()
    with live_server.client() as client:
        got = client.get(
            registration_path(registration),
            headers={"Registration-Authorization": f"Bearer {registration.token}"},
        )
        assert got.status_code == 200, got.text
        assert got.json()["config"]["elemental"]["registration"]["uri"] == (
            f"{live_server.base_url}/elemental/v1/namespaces/default/registrations/lifecycle"
        )

        created = register(client, host, labels={"rack": "r1"})
        assert created.status_code == 201, created.text
        assert created.headers["location"] == host.path
        assert register(client, host).status_code == 409

        installed = client.patch(host.path, headers=host.auth(), json={"installed": True})
        assert installed.status_code == 200, installed.text
        assert installed.json()["installed"] is True
        assert installed.json()["bootstrapReady"] is False
        assert installed.json()["labels"] == {"site": "edge", "rack": "r1", LABEL_INSTALLED: "true"}
        assert client.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 404

        stored = store.get_host("default", host.name)
        assert stored is not None
        store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\nruncmd: []\n", format="cloud-config"))
        assert client.patch(host.path, headers=host.auth(), json={}).json()["bootstrapReady"] is True
        bootstrap = client.get(f"{host.path}/bootstrap", headers=host.auth())
        assert bootstrap.status_code == 200, bootstrap.text
        assert bootstrap.json() == {"config": "#cloud-config\nruncmd: []\n", "format": "cloud-config"}

        bootstrapped = client.patch(host.path, headers=host.auth(), json={"bootstrapped": True})
        assert bootstrapped.status_code == 200, bootstrapped.text
        assert bootstrapped.json()["bootstrapped"] is True
        assert store.get_host("default", host.name).labels[LABEL_BOOTSTRAPPED] == "true"  # type: ignore[union-attr]

        assert client.delete(host.path, headers=host.auth()).status_code == 202
        assert client.delete(host.path, headers=host.auth()).status_code == 202
        after_delete = client.patch(host.path, headers=host.auth(), json={})
        assert after_delete.status_code == 200
        assert after_delete.json()["needsReset"] is True
        assert store.get_host("default", host.name).labels[LABEL_NEEDS_RESET] == "true"  # type: ignore[union-attr]

        reset = client.patch(host.path, headers=host.auth(), json={"reset": True})
        assert reset.status_code == 200, reset.text
        assert store.get_host("default", host.name) is None
        gone = client.patch(host.path, headers=host.auth(), json={})
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert client.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 404
        # The machine may come back as a fresh host.
        assert register(client, host).status_code == 201
    live_server.assert_no_server_errors()


def test_concurrent_patches_of_one_host_lose_no_update(live_server: LiveServer) -> None:  # noqa: F811
    registration = live_server.make_registration(name="concurrent")
    host = HostIdentity(registration, "busy-host")
    with live_server.client() as client:
        assert register(client, host).status_code == 201
    before = live_server.requests_served("PATCH", "host")

    def patch_many(thread: int) -> list[tuple[str, int, str]]:
        answers = []
        # No keep-alive: every PATCH is a new connection, so both workers accept some.
        with live_server.client(limits=httpx.Limits(max_keepalive_connections=0)) as client:
            for i in range(PATCHES_PER_THREAD):
                # Half labels, half annotations: each stays within a host's 128 (record limits).
                field = "labels" if i % 2 else "annotations"
                key = f"t{thread}-{i}"
                response = client.patch(host.path, headers=host.auth(), json={field: {key: "v"}})
                answers.append((field, key, response.status_code, response.text))
        return answers

    with ThreadPoolExecutor(THREADS) as pool:
        answers = [a for result in pool.map(patch_many, range(THREADS)) for a in result]

    failed = [a for a in answers if a[2] != 200]
    assert not failed, f"{len(failed)} of {len(answers)} PATCHes failed, e.g. {failed[:3]}"
    # Each answer is the host after that PATCH: it carries the label the PATCH wrote.
    unseen = [key for field, key, _, text in answers if json.loads(text)[field].get(key) != "v"]
    assert not unseen, f"answers without their own label: {unseen[:10]}"
    stored = live_server.store().get_host("default", host.name)
    assert stored is not None
    expected = {f"t{t}-{i}" for t in range(THREADS) for i in range(PATCHES_PER_THREAD)}
    written = set(stored.labels) | set(stored.annotations)
    assert written == expected, (
        f"lost: {sorted(expected - written)[:10]}, unexpected: {sorted(written - expected)[:10]}"
    )

    def served_per_worker() -> dict[int, float] | None:
        after = live_server.requests_served("PATCH", "host")
        served = {pid: after[pid] - before.get(pid, 0) for pid in after if after[pid] > before.get(pid, 0)}
        return served if sum(served.values()) >= THREADS * PATCHES_PER_THREAD else None

    # A worker counts a request just after answering it: wait for the last counts to land.
    served = wait_for(served_per_worker, 10, "every PATCH counted")
    assert sum(served.values()) == THREADS * PATCHES_PER_THREAD, served
    assert len(served) == 2, f"PATCHes per worker pid: {served} (both workers should have served some)"
    live_server.assert_no_server_errors()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "server")
    try:
        yield server.start()
    finally:
        server.kill()
        server.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_lets_in_flight_requests_finish_and_exits_zero(
    own_server: LiveServer, stop_signal: signal.Signals
) -> None:
    """SIGTERM is the graceful stop; gunicorn's master turns SIGINT into SIGQUIT to the workers."""
    registration = own_server.make_registration(name="shutdown")
    host = HostIdentity(registration, "draining")
    with own_server.client() as client:
        assert register(client, host).status_code == 201
    in_flight = 6
    sent_half = [threading.Event() for _ in range(in_flight)]
    finish = threading.Event()

    def slow_patch(index: int) -> tuple[int, str] | BaseException:
        # Headers and half the body go out now; the rest once the server is shutting down.
        first, rest = b'{"labels": {"slow-' + str(index).encode() + b'": ', b'"v"}}'

        def body() -> Iterator[bytes]:
            yield first
            sent_half[index].set()
            assert finish.wait(30)
            yield rest

        headers = {**host.auth(), "Content-Type": "application/json"}
        headers["Content-Length"] = str(len(first) + len(rest))
        try:
            with own_server.client() as client:
                response = client.patch(host.path, headers=headers, content=body())
            return response.status_code, response.text
        except BaseException as error:  # reported below, with the request it broke
            return error

    with ThreadPoolExecutor(in_flight) as pool:
        futures = [pool.submit(slow_patch, i) for i in range(in_flight)]
        for event in sent_half:
            assert event.wait(10), "a request did not start"
        try:
            # The workers have accepted every request and read what was sent of it.
            wait_for(lambda: _requests_read_by_workers(own_server) >= in_flight, 10, "requests read")
            assert own_server.worker_pids(), "no workers"
            own_server.terminate(stop_signal)
            _wait_until_refusing(own_server)  # the shutdown is under way: no new connections
        finally:
            finish.set()
        outcomes = [future.result(timeout=30) for future in futures]

    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert not errors, f"in-flight requests broke during the graceful shutdown: {errors!r}"
    assert [outcome[0] for outcome in outcomes if isinstance(outcome, tuple)] == [200] * in_flight, outcomes
    status = own_server.wait()
    assert status == 0, f"exit status {status}; log:\n{own_server.log()}"
    stored = own_server.store().get_host("default", host.name)
    assert stored is not None
    assert {f"slow-{i}" for i in range(in_flight)} <= set(stored.labels)
    own_server.assert_no_server_errors()


def _requests_read_by_workers(server: LiveServer) -> int:
    """Connections to the server that a worker accepted and read all that was sent on; 0
    while any connection waits to be accepted or has unread bytes (from /proc/net/tcp)."""
    held: set[str] = set()
    for pid in server.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = fd.readlink().name
            except OSError:
                continue
            if target.startswith("socket:["):
                held.add(target[len("socket:[") : -1])
    read = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port, state = int(fields[1].rsplit(":", 1)[1], 16), fields[3]
        unread, inode = int(fields[4].split(":")[1], 16), fields[9]
        if local_port != server.port or state != "01":  # 01: ESTABLISHED, the server's side
            continue
        if inode not in held or unread:
            return 0
        read += 1
    return read


def _wait_until_refusing(server: LiveServer, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{server.base_url}/healthz", timeout=1)
        except httpx.ConnectError:
            return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the server still accepts connections {timeout}s after the signal:\n{server.log()}")
