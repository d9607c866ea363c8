"""Liveness on both stores: the API records a host's last check-in (status.lastSeen on
Kubernetes) at registration and then only once the recorded time is a heartbeat interval
old; a check-in inside the interval writes nothing; a write of the time alone that finds
the host changed since it was read is dropped (answered 200), not retried."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from elemental_api import cli, server
from elemental_api.app import create_app
from elemental_api.store import Store
from elemental_core import hosts
from tests.helpers import HostIdentity, register

INTERVAL = 60.0
T0 = 1_780_000_000.0
CHECK_IN = {"phase": "Running"}


class Clock:
    """The API's clock: `now`, and something to do when the handler reads it (after the
    request's host was read, before it is written)."""

    def __init__(self) -> None:
        self.now = T0
        self.on_read: Callable[[], None] | None = None

    def __call__(self) -> float:
        if self.on_read is not None:
            action, self.on_read = self.on_read, None
            action()
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def client(store: Store, clock: Clock) -> Iterator[Any]:
    app = create_app(
        store,
        api_endpoint="http://testserver",
        validate_responses=True,
        heartbeat_interval=INTERVAL,
        clock=clock,
    )
    with app.test_client() as test_client:
        yield test_client


def stored(store: Store, host: HostIdentity) -> hosts.Host:
    found = store.get_host("default", host.name)
    assert found is not None
    return found


def running(client: Any, host: HostIdentity) -> None:
    """Registered and checked in once at T0: later check-ins of CHECK_IN change nothing else."""
    assert register(client, host).status_code == 201
    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200


def test_registration_records_the_time(client: Any, store: Store, host: HostIdentity) -> None:
    assert register(client, host).status_code == 201
    assert stored(store, host).last_seen == hosts.seen_timestamp(T0)


def test_check_ins_write_the_time_once_per_interval(
    client: Any, store: Store, host: HostIdentity, clock: Clock
) -> None:
    running(client, host)
    version = stored(store, host).version
    for offset in (1.0, 30.0, INTERVAL - 0.001):  # inside the interval: nothing written
        clock.now = T0 + offset
        assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
        assert stored(store, host).version == version

    clock.now = T0 + INTERVAL
    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
    after = stored(store, host)
    assert after.last_seen == hosts.seen_timestamp(T0 + INTERVAL)
    assert after.version != version
    # The next check-in, even at the same moment, has nothing to write.
    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
    assert stored(store, host).version == after.version


def test_a_change_inside_the_interval_leaves_the_time(
    client: Any, store: Store, host: HostIdentity, clock: Clock
) -> None:
    assert register(client, host).status_code == 201
    clock.now = T0 + 10
    answer = client.patch(host.path, headers=host.auth(), json={"labels": {"rack": "r1"}})
    assert answer.status_code == 200
    after = stored(store, host)
    assert after.labels["rack"] == "r1"
    assert after.last_seen == hosts.seen_timestamp(T0)


def test_a_change_after_the_interval_writes_the_time_with_it(
    client: Any, store: Store, host: HostIdentity, clock: Clock
) -> None:
    assert register(client, host).status_code == 201
    clock.now = T0 + INTERVAL + 5
    assert client.patch(host.path, headers=host.auth(), json={"phase": "Installing"}).status_code == 200
    after = stored(store, host)
    assert (after.phase, after.last_seen) == ("Installing", hosts.seen_timestamp(T0 + INTERVAL + 5))


def test_a_time_only_write_that_lost_a_race_is_dropped(
    client: Any, store: Store, host: HostIdentity, clock: Clock
) -> None:
    """Another writer (another replica recording this check-in window, the operator) changes
    the host between the read and the write: the check-in is answered, its write dropped;
    the next check-in writes the time."""
    running(client, host)
    clock.now = T0 + INTERVAL

    def someone_else_writes() -> None:
        current = stored(store, host)
        current.annotations["other"] = "writer"
        store.update_host(current)

    clock.on_read = someone_else_writes
    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
    after = stored(store, host)
    assert after.annotations["other"] == "writer"
    assert after.last_seen == hosts.seen_timestamp(T0)  # not retried

    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
    assert stored(store, host).last_seen == hosts.seen_timestamp(T0 + INTERVAL)


def test_a_change_that_lost_a_race_is_retried_with_the_time(
    client: Any, store: Store, host: HostIdentity, clock: Clock
) -> None:
    """Only a write of the time alone is dropped: the host's own change is never lost."""
    assert register(client, host).status_code == 201
    clock.now = T0 + INTERVAL

    def someone_else_writes() -> None:
        current = stored(store, host)
        current.annotations["other"] = "writer"
        store.update_host(current)

    clock.on_read = someone_else_writes
    answer = client.patch(host.path, headers=host.auth(), json={"labels": {"rack": "r2"}})
    assert answer.status_code == 200
    after = stored(store, host)
    assert (after.labels["rack"], after.annotations["other"]) == ("r2", "writer")
    assert after.last_seen == hosts.seen_timestamp(T0 + INTERVAL)


def test_the_other_replicas_time_stands(client: Any, store: Store, host: HostIdentity, clock: Clock) -> None:
    """Two replicas deciding the same check-in window: the first write stands, the second
    finds the host changed and drops its own."""
    running(client, host)
    clock.now = T0 + INTERVAL + 1

    def other_replica_records() -> None:
        store.update_host(hosts.seen(stored(store, host), T0 + INTERVAL, INTERVAL))

    clock.on_read = other_replica_records
    assert client.patch(host.path, headers=host.auth(), json=CHECK_IN).status_code == 200
    assert stored(store, host).last_seen == hosts.seen_timestamp(T0 + INTERVAL)


@pytest.mark.parametrize(
    ("argv", "environment", "interval"),
    [
        ([], {}, hosts.DEFAULT_HEARTBEAT_INTERVAL),
        ([], {"ELEMENTAL_HEARTBEAT_INTERVAL": "15"}, 15.0),
        (["--heartbeat-interval", "2.5"], {"ELEMENTAL_HEARTBEAT_INTERVAL": "15"}, 2.5),
    ],
)
def test_serve_takes_the_interval_from_its_flag_or_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    environment: dict[str, str],
    interval: float,
) -> None:
    monkeypatch.delenv("ELEMENTAL_HEARTBEAT_INTERVAL", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    served: list[server.ServeOptions] = []
    monkeypatch.setattr(server, "serve", served.append)
    assert cli.main(["serve", "--store", f"sqlite:///{tmp_path / 'e.db'}", *argv]) == 0
    assert [options.heartbeat_interval for options in served] == [interval]


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_serve_refuses_an_interval_that_is_no_time(
    tmp_path: Path, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store_url = f"sqlite:///{tmp_path / 'e.db'}"
    assert cli.main(["serve", "--store", store_url, "--heartbeat-interval", value]) == 1
    assert f"--heartbeat-interval '{value}' must be a number of seconds above 0" in capsys.readouterr().err
