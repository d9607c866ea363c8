"""Conditions: one per type, transition times kept while nothing changes, Ready summarised the
way Cluster API's conditions.SetSummary merges (False by severity, then True, then Unknown)."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from elemental_core import conditions
from tests.unit.core.clock import local_zone, window

EARLIER = "2020-01-01T00:00:00Z"


def cond(type_: str, status: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "status": status, **fields}


def by_type(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in items}


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """The process's local time zone set 5:45 east of UTC (a POSIX TZ, no tz database needed)."""
    with local_zone("FAR-5:45"):
        yield


@pytest.mark.usefixtures("far_from_utc")
def test_now_is_utc_whatever_the_local_zone() -> None:
    assert time.localtime().tm_gmtoff == 5 * 3600 + 45 * 60
    with window() as span:
        stamp = conditions.now_rfc3339()
    assert span.holds_rfc3339(stamp)


def test_now_is_rfc3339_seconds_utc() -> None:
    with window() as span:
        stamp = conditions.now_rfc3339()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert span.holds_rfc3339(stamp)


# -- set_condition ---------------------------------------------------------------------------


def test_a_new_condition_gets_the_current_time() -> None:
    with window() as span:
        result = conditions.set_condition([], cond("A", "True"))
    assert len(result) == 1
    assert span.holds_rfc3339(result[0]["lastTransitionTime"])
    assert {k: v for k, v in result[0].items() if k != "lastTransitionTime"} == {
        "type": "A",
        "status": "True",
    }


def test_a_condition_replaces_the_one_of_its_type_and_keeps_the_others() -> None:
    before = [
        cond("A", "False", severity="Info", reason="R", lastTransitionTime=EARLIER),
        cond("B", "True", lastTransitionTime=EARLIER),
    ]
    result = conditions.set_condition(before, cond("A", "True"))
    assert [c["type"] for c in result] == ["A", "B"]
    assert by_type(result)["A"]["status"] == "True"
    assert "reason" not in by_type(result)["A"]
    assert by_type(result)["B"] == before[1]


UNCHANGED = cond("A", "False", severity="Warning", reason="R", message="M")


def test_an_unchanged_condition_keeps_its_transition_time() -> None:
    """Else every check-in of an agent repeating its state would rewrite the host."""
    result = conditions.set_condition([{**UNCHANGED, "lastTransitionTime": EARLIER}], dict(UNCHANGED))
    assert result == [{**UNCHANGED, "lastTransitionTime": EARLIER}]


@pytest.mark.parametrize(
    "change",
    [{"status": "True"}, {"severity": "Error"}, {"reason": "Other"}, {"message": "other"}],
    ids=lambda change: next(iter(change)),
)
def test_a_change_of_state_moves_the_transition_time(change: dict[str, str]) -> None:
    with window() as span:
        result = conditions.set_condition(
            [{**UNCHANGED, "lastTransitionTime": EARLIER}], {**UNCHANGED, **change}
        )
    assert span.holds_rfc3339(result[0]["lastTransitionTime"])
    assert result[0] == {**UNCHANGED, **change, "lastTransitionTime": result[0]["lastTransitionTime"]}


def test_empty_and_missing_fields_are_the_same_state() -> None:
    previous = cond("A", "True", lastTransitionTime=EARLIER)
    result = conditions.set_condition([previous], cond("A", "True", severity="", reason="", message=None))
    assert result == [previous]


def test_empty_optional_fields_are_dropped_type_and_status_kept() -> None:
    result = conditions.set_condition([], cond("A", "", severity="", reason=None, message=""))
    assert set(result[0]) == {"type", "status", "lastTransitionTime"}
    assert result[0]["status"] == ""
    untyped = conditions.set_condition([], cond("", "True"))
    assert (untyped[0]["type"], untyped[0]["status"]) == ("", "True")


def test_a_sent_transition_time_is_ignored() -> None:
    """Clients may send lastTransitionTime; the server owns it."""
    with window() as span:
        fresh = conditions.set_condition([], cond("A", "True", lastTransitionTime=EARLIER))
    assert span.holds_rfc3339(fresh[0]["lastTransitionTime"])
    kept = conditions.set_condition(
        [cond("A", "True", lastTransitionTime=EARLIER)],
        cond("A", "True", lastTransitionTime="2030-01-01T00:00:00Z"),
    )
    assert kept[0]["lastTransitionTime"] == EARLIER


def test_ready_comes_first_then_alphabetical() -> None:
    result: list[dict[str, Any]] = []
    for type_ in ("Zeta", "Ready", "Alpha", "Mid"):
        result = conditions.set_condition(result, cond(type_, "True"))
    assert [c["type"] for c in result] == ["Ready", "Alpha", "Mid", "Zeta"]


def test_a_condition_without_type_sorts_as_the_empty_type() -> None:
    """Conditions written by hand may lack a type; they sort and summarise, never crash."""
    result = conditions.set_condition([cond("B", "True"), {"status": "True"}], cond("A", "True"))
    assert [c.get("type") for c in result] == [None, "A", "B"]
    summary = conditions.with_ready_summary(
        [
            {"status": "False", "severity": "Warning", "reason": "Untyped"},
            cond("A", "False", severity="Warning"),
        ]
    )
    assert summary[0]["reason"] == "Untyped"


def test_the_input_is_left_alone() -> None:
    before = [cond("A", "True", lastTransitionTime=EARLIER), cond("B", "True", lastTransitionTime=EARLIER)]
    snapshot = copy.deepcopy(before)
    conditions.set_condition(before, cond("A", "False", severity="Info"))
    assert before == snapshot


# -- with_ready_summary ------------------------------------------------------------------------


def ready_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    """The computed Ready condition, without its time."""
    ready = conditions.with_ready_summary(items)[0]
    assert ready["type"] == "Ready"
    return {k: v for k, v in ready.items() if k != "lastTransitionTime"}


SUMMARIES = [
    pytest.param([cond("A", "True"), cond("B", "True")], {"status": "True"}, id="all-true"),
    pytest.param(
        [
            cond("A", "False", severity="Info", reason="InfoR", message="info"),
            cond("B", "False", severity="Error", reason="ErrorR", message="error"),
            cond("C", "False", severity="Warning", reason="WarnR", message="warn"),
        ],
        {"status": "False", "severity": "Error", "reason": "ErrorR", "message": "error"},
        id="error-outranks-warning-and-info",
    ),
    pytest.param(
        [
            cond("A", "False", severity="Info", reason="InfoR", message="info"),
            cond("B", "False", severity="Warning", reason="WarnR", message="warn"),
        ],
        {"status": "False", "severity": "Warning", "reason": "WarnR", "message": "warn"},
        id="warning-outranks-info",
    ),
    pytest.param(
        [
            cond("A", "True"),
            cond("B", "False", severity="Info", reason="InfoR", message="info"),
            cond("C", "Unknown", reason="UnknownR", message="unknown"),
        ],
        {"status": "False", "severity": "Info", "reason": "InfoR", "message": "info"},
        id="false-outranks-true-and-unknown",
    ),
    pytest.param(
        [
            cond("B", "False", severity="Warning", reason="SecondR", message="second"),
            cond("A", "False", severity="Warning", reason="FirstR", message="first"),
        ],
        {"status": "False", "severity": "Warning", "reason": "FirstR", "message": "first"},
        id="same-severity-first-type-wins",
    ),
    pytest.param(
        [cond("A", "False", severity="Info")],
        {"status": "False", "severity": "Info"},
        id="false-without-reason",
    ),
    pytest.param(
        [
            cond("B", "Unknown", reason="SecondR", message="second"),
            cond("A", "Unknown", reason="FirstR", message="first"),
        ],
        {"status": "Unknown", "reason": "FirstR", "message": "first"},
        id="all-unknown",
    ),
    pytest.param([cond("A", "Unknown")], {"status": "Unknown"}, id="unknown-without-reason"),
    pytest.param(
        [cond("A", "True"), cond("B", "Unknown", reason="U")], {"status": "True"}, id="true-outranks-unknown"
    ),
    pytest.param(
        [cond("A", "False", reason="NoSeverity"), cond("B", "True")],
        {"status": "True"},
        id="false-without-severity-ranks-below-true",
    ),
    pytest.param(
        [cond("A", "False", reason="NoSeverity"), cond("B", "Unknown", reason="U")],
        {"status": "Unknown", "reason": "U"},
        id="false-without-severity-ranks-below-unknown",
    ),
    pytest.param(
        [cond("A", "False", reason="NoSeverity", message="m")],
        {"status": "False", "reason": "NoSeverity", "message": "m"},
        id="false-without-severity-alone",
    ),
    pytest.param(
        [cond("A", "Maybe", reason="Odd", message="m")],
        {"status": "Unknown", "reason": "Odd", "message": "m"},
        id="an-unrecognised-status-summarises-as-unknown",
    ),
    pytest.param(
        [cond("A", "Maybe", reason="Odd"), cond("B", "Unknown", reason="U")],
        {"status": "Unknown", "reason": "U"},
        id="an-unrecognised-status-ranks-last",
    ),
    pytest.param(
        [cond("Ready", "False", severity="Error", reason="Stale"), cond("A", "True")],
        {"status": "True"},
        id="an-old-ready-is-not-an-input",
    ),
]


@pytest.mark.parametrize(("items", "expected"), SUMMARIES)
def test_ready_summary(items: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    ordered = sorted(items, key=lambda c: c["type"])  # as set_condition keeps them
    assert ready_of(items) == {"type": "Ready", **expected}
    assert ready_of(ordered) == {"type": "Ready", **expected}


def test_no_other_conditions_no_summary() -> None:
    assert conditions.with_ready_summary([]) == []
    only_ready = [cond("Ready", "False", severity="Info", lastTransitionTime=EARLIER)]
    assert conditions.with_ready_summary(only_ready) == only_ready


def test_the_summary_keeps_ready_first_and_the_others_unchanged() -> None:
    others = [cond("A", "True", lastTransitionTime=EARLIER), cond("B", "True", lastTransitionTime=EARLIER)]
    result = conditions.with_ready_summary(others)
    assert [c["type"] for c in result] == ["Ready", "A", "B"]
    assert result[1:] == others


def test_an_unchanged_summary_keeps_its_time_a_changed_one_moves() -> None:
    settled = [
        cond("Ready", "True", lastTransitionTime=EARLIER),
        cond("A", "True", lastTransitionTime=EARLIER),
    ]
    assert conditions.with_ready_summary(settled) == settled
    with window() as span:
        changed = conditions.with_ready_summary(
            [settled[0], cond("A", "False", severity="Info", reason="R", lastTransitionTime=EARLIER)]
        )
    assert span.holds_rfc3339(changed[0]["lastTransitionTime"])
