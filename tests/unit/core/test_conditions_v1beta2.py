"""The v1beta2 contract's metav1 conditions (ElementalMachine, ElementalCluster): reason always
set, message always there, observedGeneration, the transition time moved only by a status
change, severity kept beside for v1beta1-contract readers; Ready summarised without Paused."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core import conditions
from tests.unit.core.clock import window

EARLIER = "2020-01-01T00:00:00Z"


def by_type(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in items}


def test_a_condition_has_the_metav1_fields() -> None:
    with window() as span:
        [got] = conditions.set_v1beta2_condition([], {"type": "A", "status": "True", "reason": "Ready"}, 4)
    assert span.holds_rfc3339(got.pop("lastTransitionTime"))
    assert got == {"type": "A", "status": "True", "reason": "Ready", "message": "", "observedGeneration": 4}


def test_a_reason_is_required() -> None:
    with pytest.raises(ValueError, match="needs a reason: A"):
        conditions.set_v1beta2_condition([], {"type": "A", "status": "True"}, 1)


def test_severity_is_kept_only_when_not_true() -> None:
    false = {"type": "A", "status": "False", "reason": "R", "severity": "Error", "message": "m"}
    [got] = conditions.set_v1beta2_condition([], false, 1)
    assert got["severity"] == "Error"
    [got] = conditions.set_v1beta2_condition([], {**false, "status": "True"}, 1)
    assert "severity" not in got


def test_only_a_status_change_moves_the_transition_time() -> None:
    previous = {
        "type": "A",
        "status": "False",
        "reason": "R1",
        "message": "m1",
        "lastTransitionTime": EARLIER,
    }
    [same] = conditions.set_v1beta2_condition(
        [previous], {"type": "A", "status": "False", "reason": "R2", "message": "m2"}, 2
    )
    assert (same["lastTransitionTime"], same["reason"], same["message"], same["observedGeneration"]) == (
        EARLIER,
        "R2",
        "m2",
        2,
    )
    with window() as span:
        [moved] = conditions.set_v1beta2_condition(
            [previous], {"type": "A", "status": "True", "reason": "Ready"}, 2
        )
    assert span.holds_rfc3339(moved["lastTransitionTime"])


def test_ready_summary_leaves_paused_aside_and_true_has_a_reason() -> None:
    items = conditions.set_v1beta2_condition([], {"type": "B", "status": "True", "reason": "Ready"}, 1)
    items = conditions.set_v1beta2_condition(
        items, {"type": "Paused", "status": "True", "reason": "Paused"}, 1
    )
    ready = by_type(conditions.with_v1beta2_ready_summary(items, 1))["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "Ready", "")


def test_ready_summary_takes_the_worst_false() -> None:
    items: list[dict[str, Any]] = []
    for kind, severity in (("A", "Info"), ("B", "Error"), ("C", "Warning")):
        items = conditions.set_v1beta2_condition(
            items,
            {"type": kind, "status": "False", "reason": f"R{kind}", "severity": severity, "message": kind},
            3,
        )
    ready = by_type(conditions.with_v1beta2_ready_summary(items, 3))["Ready"]
    assert (ready["status"], ready["reason"], ready["severity"], ready["message"]) == (
        "False",
        "RB",
        "Error",
        "B",
    )
    assert ready["observedGeneration"] == 3


def test_ready_summary_while_deleting_says_deleting() -> None:
    items = conditions.set_v1beta2_condition([], {"type": "B", "status": "True", "reason": "Ready"}, 1)
    ready = by_type(conditions.with_v1beta2_ready_summary(items, 1, deleting="host asked to reset"))["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False",
        "Deleting",
        "host asked to reset",
    )
    assert conditions.with_v1beta2_ready_summary([], 1) == []


def test_ready_summary_while_deleting_is_observed_at_the_generation() -> None:
    ready = by_type(conditions.with_v1beta2_ready_summary([], 4, deleting="draining"))["Ready"]
    assert ready["observedGeneration"] == 4


def test_ready_summary_breaks_a_tie_by_condition_type_whatever_the_order() -> None:
    def false(kind: str) -> dict[str, Any]:
        return {"type": kind, "status": "False", "reason": f"R{kind}", "severity": "Error", "message": kind}

    # Given unsorted, as a caller may hold them: the same tie has the same winner.
    for items in ([false("B"), false("A")], [false("A"), false("B")]):
        ready = by_type(conditions.with_v1beta2_ready_summary(items, 1))["Ready"]
        assert (ready["reason"], ready["message"]) == ("RA", "A")


def test_ready_summary_of_unknown_conditions_is_unknown() -> None:
    # The merge priorities rank True before Unknown: Ready is Unknown only when all are.
    items = conditions.set_v1beta2_condition(
        [], {"type": "C", "status": "Unknown", "reason": "Waiting", "message": "no answer yet"}, 2
    )
    ready = by_type(conditions.with_v1beta2_ready_summary(items, 2))["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("Unknown", "Waiting", "no answer yet")


def test_ready_summary_takes_an_untyped_condition_as_typed_empty() -> None:
    # A hand-edited status may hold a condition without type: no crash, and in a tie it
    # sorts first (its type taken as "").
    untyped = {"status": "False", "reason": "RX", "severity": "Error", "message": "x"}
    typed = {"type": "A", "status": "False", "reason": "RA", "severity": "Error", "message": "A"}
    summarised = conditions.with_v1beta2_ready_summary([typed, untyped], 1)
    ready = next(c for c in summarised if c.get("type") == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "RX")
