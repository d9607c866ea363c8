"""Label selectors evaluated in memory, with Kubernetes' meaning of each operator."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.selectors import InvalidSelector, matches

LABELS = {"zone": "a", "tier": "db"}


def expression(key: str, operator: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": operator, "values": list(values)}]}


CASES = [
    pytest.param(None, True, id="no-selector"),
    pytest.param({}, True, id="empty-selector"),
    pytest.param({"matchLabels": {}, "matchExpressions": []}, True, id="empty-parts"),
    pytest.param({"matchLabels": {"zone": "a"}}, True, id="matchLabels-equal"),
    pytest.param({"matchLabels": {"zone": "a", "tier": "db"}}, True, id="matchLabels-all-equal"),
    pytest.param({"matchLabels": {"zone": "b"}}, False, id="matchLabels-other-value"),
    pytest.param({"matchLabels": {"zone": "a", "tier": "web"}}, False, id="matchLabels-one-differs"),
    pytest.param({"matchLabels": {"rack": "a"}}, False, id="matchLabels-key-missing"),
    pytest.param(expression("zone", "In", "a", "b"), True, id="In-listed"),
    pytest.param(expression("zone", "In", "b", "c"), False, id="In-not-listed"),
    pytest.param(expression("rack", "In", "a"), False, id="In-key-missing"),
    pytest.param(expression("zone", "NotIn", "b", "c"), True, id="NotIn-not-listed"),
    pytest.param(expression("zone", "NotIn", "a"), False, id="NotIn-listed"),
    pytest.param(expression("rack", "NotIn", "a"), True, id="NotIn-key-missing"),
    pytest.param(expression("zone", "Exists"), True, id="Exists-present"),
    pytest.param(expression("rack", "Exists"), False, id="Exists-missing"),
    pytest.param(expression("rack", "DoesNotExist"), True, id="DoesNotExist-missing"),
    pytest.param(expression("zone", "DoesNotExist"), False, id="DoesNotExist-present"),
    pytest.param({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, True, id="no-values-field"),
    pytest.param(
        {
            "matchLabels": {"zone": "a"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["db"]},
                {"key": "rack", "operator": "DoesNotExist"},
            ],
        },
        True,
        id="all-parts-hold",
    ),
    pytest.param(
        {
            "matchLabels": {"zone": "a"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["db"]},
                {"key": "zone", "operator": "NotIn", "values": ["a"]},
            ],
        },
        False,
        id="last-expression-fails",
    ),
]


@pytest.mark.parametrize(("selector", "expected"), CASES)
def test_matches(selector: dict[str, Any] | None, expected: bool) -> None:
    assert matches(selector, LABELS) is expected


def test_hosts_are_picked_by_their_labels_not_their_order() -> None:
    hosts = {"first": {"zone": "a"}, "second": {"zone": "b"}, "third": {"zone": "c"}}
    for operator, values, expected in (
        ("In", ["b"], ["second"]),
        ("NotIn", ["a"], ["second", "third"]),
        ("Exists", [], ["first", "second", "third"]),
        ("DoesNotExist", [], []),
    ):
        selector = expression("zone", operator, *values)
        assert [name for name, labels in hosts.items() if matches(selector, labels)] == expected


@pytest.mark.parametrize("operator", ["in", "Equals", "", None])
@pytest.mark.parametrize(
    "labels", [LABELS, {}, {"zone": "b"}], ids=["matching-labels", "no-labels", "other-labels"]
)
def test_an_unknown_operator_is_refused_whatever_the_labels(
    operator: str | None, labels: dict[str, str]
) -> None:
    selector = {
        "matchLabels": {"zone": "a"},
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]},
            {"key": "zone", "operator": operator, "values": ["a"]},
        ],
    }
    with pytest.raises(InvalidSelector, match=f"^unknown selector operator {operator!r}$"):
        matches(selector, labels)


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ({"key": "zone", "operator": "In"}, "'In' needs values"),
        ({"key": "zone", "operator": "NotIn", "values": []}, "'NotIn' needs values"),
        ({"key": "zone", "operator": "Exists", "values": ["a"]}, "'Exists' takes no values"),
        ({"key": "zone", "operator": "DoesNotExist", "values": ["a"]}, "'DoesNotExist' takes no values"),
    ],
)
@pytest.mark.parametrize("labels", [LABELS, {}], ids=["matching-labels", "no-labels"])
def test_values_follow_the_kubernetes_rules(
    expression: dict[str, Any], problem: str, labels: dict[str, str]
) -> None:
    """An empty In would match no host and an empty NotIn every host: Kubernetes refuses
    both, and values on Exists, rather than guess."""
    with pytest.raises(InvalidSelector, match=f"^selector operator {problem}$"):
        matches({"matchExpressions": [expression]}, labels)
