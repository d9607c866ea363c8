"""The API's liveness write rule (elemental_core.hosts.seen): a check-in rewrites the host's
last-seen time only once the recorded one is a heartbeat interval old, so a check-in inside
the interval writes nothing; and the timestamps it writes and reads."""

from __future__ import annotations

import datetime
import itertools
import time
from collections.abc import Iterator

import pytest

from elemental_core import hosts
from elemental_core.records import Host
from tests.unit.core.clock import local_zone

INTERVAL = 60.0
T0 = datetime.datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=datetime.UTC).timestamp()


def host(last_seen: str | None = None) -> Host:
    return Host(namespace="ns", name="host-1", registration="reg", last_seen=last_seen, version="7")


def test_a_host_never_seen_gets_the_time_of_its_check_in() -> None:
    before = host()
    after = hosts.seen(before, T0, INTERVAL)
    assert after.last_seen == "2026-03-01T12:00:00.250000Z"
    assert before.last_seen is None  # the record given is not changed
    assert (after.version, after.name) == ("7", "host-1")  # written on the version read


@pytest.mark.parametrize("age", [0.0, 0.001, 30.0, INTERVAL - 0.001])
def test_a_check_in_inside_the_interval_changes_nothing(age: float) -> None:
    recorded = host(hosts.seen_timestamp(T0))
    assert hosts.seen(recorded, T0 + age, INTERVAL) is recorded


@pytest.mark.parametrize("age", [INTERVAL, INTERVAL + 0.001, 10 * INTERVAL])
def test_a_check_in_an_interval_after_the_recorded_one_rewrites_it(age: float) -> None:
    recorded = host(hosts.seen_timestamp(T0))
    after = hosts.seen(recorded, T0 + age, INTERVAL)
    assert after.last_seen == hosts.seen_timestamp(T0 + age)
    assert hosts.parse_seen(after.last_seen) == pytest.approx(T0 + age, abs=1e-6)


def test_writes_follow_the_interval_not_the_check_ins() -> None:
    """A host checking in every 7 s for 10 minutes: one write per interval at most, and at
    least one per interval plus a check-in period."""
    record, writes = host(), []
    for step in range(0, 600, 7):
        after = hosts.seen(record, T0 + step, INTERVAL)
        if after is not record:
            writes.append(step)
            record = after
    gaps = [b - a for a, b in itertools.pairwise(writes)]
    assert writes[0] == 0
    assert all(INTERVAL <= gap < INTERVAL + 7 for gap in gaps), gaps
    assert writes == list(range(0, 600, 63))  # 10 writes for 86 check-ins


def test_a_recorded_time_in_the_future_counts_as_fresh() -> None:
    """Another replica's clock ahead of this one: not rewritten back and forth."""
    ahead = host(hosts.seen_timestamp(T0 + 3600))
    assert hosts.seen(ahead, T0, INTERVAL) is ahead


@pytest.mark.parametrize("unreadable", ["", "yesterday", "2026-13-01T00:00:00Z"])
def test_an_unreadable_recorded_time_is_rewritten(unreadable: str) -> None:
    assert hosts.seen(host(unreadable), T0, INTERVAL).last_seen == hosts.seen_timestamp(T0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T12:00:00.250000Z", T0),
        ("2026-03-01T12:00:00Z", T0 - 0.25),  # metav1.Time's seconds, written by hand
        ("2026-03-01T13:00:00.25+01:00", T0),
        ("2026-03-01T12:00:00.25", T0),  # no zone: UTC, as Kubernetes writes times
        (None, None),
        ("", None),
        ("not a time", None),
    ],
)
def test_recorded_times_are_read_in_any_rfc3339_precision(value: str | None, expected: float | None) -> None:
    assert hosts.parse_seen(value) == (pytest.approx(expected, abs=1e-6) if expected is not None else None)


def test_the_written_time_keeps_microseconds_in_utc() -> None:
    """metav1.MicroTime's shape: a second's truncation would let a write come a second
    early, which a heartbeat interval of a few seconds would notice."""
    written = hosts.seen_timestamp(T0 + 0.000001)
    assert written == "2026-03-01T12:00:00.250001Z"
    assert hosts.parse_seen(written) == pytest.approx(T0 + 0.000001, abs=1e-6)


@pytest.fixture
def local_zone_not_utc() -> Iterator[None]:
    """The process's local time zone set 5 hours west of UTC, then put back."""
    with local_zone("EST+05"):
        yield


@pytest.mark.usefixtures("local_zone_not_utc")
def test_times_are_utc_whatever_the_local_zone() -> None:
    assert time.localtime(T0).tm_hour == 7  # the zone took effect
    assert hosts.seen_timestamp(T0) == "2026-03-01T12:00:00.250000Z"
    assert hosts.parse_seen("2026-03-01T12:00:00.25") == pytest.approx(T0, abs=1e-6)


def test_a_patch_keeps_the_recorded_time() -> None:
    """The check-in's other changes neither clear nor refresh it: only `seen` does."""
    recorded = host(hosts.seen_timestamp(T0))
    patched = hosts.apply_patch(recorded, hosts.ApiHostPatchRequest(phase="Running"), hosts.Assigned({}, {}))
    assert patched.last_seen == recorded.last_seen and patched.phase == "Running"


def test_the_defaults_are_one_minute_and_half_of_one() -> None:
    assert (hosts.DEFAULT_HEARTBEAT_INTERVAL, hosts.DEFAULT_HEARTBEAT_GRACE) == (60.0, 30.0)
