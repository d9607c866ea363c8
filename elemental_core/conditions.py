"""Cluster API v1beta1 conditions: set one, and recompute the Ready summary (pure)."""

from __future__ import annotations

import datetime
from typing import Any

READY = "Ready"
# CAPI's merge priorities: False by severity, then True, then Unknown; anything else last.
_FALSE_PRIORITY: dict[str | None, int] = {"Error": 0, "Warning": 1, "Info": 2}
_STATUS_PRIORITY: dict[str | None, int] = {"True": 3, "Unknown": 4}
_LAST = 99
_STATE_FIELDS = ("status", "severity", "reason", "message")


def now_rfc3339() -> str:
    """A timestamp as metav1.Time serialises it: RFC 3339, seconds, UTC."""
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(conditions: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Replaces the condition of the same type; keeps its transition time if nothing changed."""
    condition = {k: v for k, v in new.items() if v not in (None, "") or k in ("type", "status")}
    result = [c for c in conditions if c.get("type") != condition["type"]]
    previous = next((c for c in conditions if c.get("type") == condition["type"]), None)
    if previous is not None and all(previous.get(f) == condition.get(f) for f in _STATE_FIELDS):
        condition["lastTransitionTime"] = previous.get("lastTransitionTime")
    else:
        condition["lastTransitionTime"] = now_rfc3339()
    result.append(condition)
    return _sorted(result)


def with_ready_summary(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sets Ready from the other conditions, as CAPI's conditions.SetSummary does: the
    condition of highest merge priority (first by type among equals) decides."""
    others = [c for c in conditions if c.get("type") != READY]
    if not others:
        return conditions
    top = min(others, key=lambda c: (_merge_priority(c), c.get("type", "")))
    # Absent fields are left out: set_condition drops empty ones anyway.
    summary: dict[str, Any] = {"type": READY}
    if top.get("status") == "True":
        summary["status"] = "True"
    elif top.get("status") == "False":
        summary.update(
            status="False", severity=top.get("severity"), reason=top.get("reason"), message=top.get("message")
        )
    else:
        summary.update(status="Unknown", reason=top.get("reason"), message=top.get("message"))
    return set_condition(conditions, summary)


def _merge_priority(condition: dict[str, Any]) -> int:
    if condition.get("status") == "False":
        return _FALSE_PRIORITY.get(condition.get("severity"), _LAST)
    return _STATUS_PRIORITY.get(condition.get("status"), _LAST)


def _sorted(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ready first, then alphabetical, as CAPI keeps them."""
    return sorted(conditions, key=lambda c: (c.get("type") != READY, c.get("type", "")))
