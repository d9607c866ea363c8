"""Kubernetes label selectors (matchLabels and matchExpressions), evaluated in memory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


class InvalidSelector(ValueError):
    pass


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if not selector:
        return True
    check(selector)  # before any label: a bad selector is refused whichever host it is tried on
    expressions = selector.get("matchExpressions") or []
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in expressions:
        key, operator, values = (
            expression.get("key"),
            expression.get("operator"),
            expression.get("values") or [],
        )
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def check(selector: Mapping[str, Any] | None) -> None:
    """Raises InvalidSelector when `selector` breaks Kubernetes' rules."""
    for expression in (selector or {}).get("matchExpressions") or []:
        _check(expression)


def _check(expression: Mapping[str, Any]) -> None:
    """Kubernetes' own rules (LabelSelectorAsSelector): In and NotIn need values, Exists and
    DoesNotExist take none; anything else would match hosts the user did not mean."""
    operator = expression.get("operator")
    if operator not in OPERATORS:
        raise InvalidSelector(f"unknown selector operator {operator!r}")
    has_values = bool(expression.get("values"))
    if operator in ("In", "NotIn") and not has_values:
        raise InvalidSelector(f"selector operator {operator!r} needs values")
    if operator in ("Exists", "DoesNotExist") and has_values:
        raise InvalidSelector(f"selector operator {operator!r} takes no values")
