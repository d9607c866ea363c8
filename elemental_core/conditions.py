"""Cluster API v1beta1 conditions: set one, and recompute the Ready summary (pure)."""

from __future__ import annotations

import datetime
from typing import Any

READY = "Ready"
_SEVERITY_ORDER = {"Error": 0, "Warning": 1, "Info": 2, "": 3}
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
    """Sets Ready from the other conditions, as CAPI's conditions.SetSummary does."""
    others = [c for c in conditions if c.get("type") != READY]
    if not others:
        return conditions
    false = sorted(
        (c for c in others if c.get("status") == "False"),
        key=lambda c: _SEVERITY_ORDER.get(c.get("severity", ""), 3),
    )
    unknown = [c for c in others if c.get("status") == "Unknown"]
    summary: dict[str, Any] = {"type": READY}
    if false:
        top = false[0]
        summary.update(
            status="False",
            severity=top.get("severity", ""),
            reason=top.get("reason", ""),
            message=top.get("message", ""),
        )
    elif unknown:
        top = unknown[0]
        summary.update(status="Unknown", reason=top.get("reason", ""), message=top.get("message", ""))
    else:
        summary["status"] = "True"
    return set_condition(conditions, summary)


def _sorted(conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ready first, then alphabetical, as CAPI keeps them."""
    return sorted(conditions, key=lambda c: (c.get("type") != READY, c.get("type", "")))
