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
