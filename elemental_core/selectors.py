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
    expressions = selector.get("matchExpressions") or []
    # Checked before any label: a bad selector is refused whichever host it is tried on.
    for expression in expressions:
        if expression.get("operator") not in OPERATORS:
            raise InvalidSelector(f"unknown selector operator {expression.get('operator')!r}")
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
