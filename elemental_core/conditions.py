"""Conditions, pure: Cluster API v1beta1's (ElementalHost, ElementalRegistration: what the
agent reports and upstream's shape) and the v1beta2 contract's metav1 shape (ElementalMachine,
ElementalCluster). Set one, and recompute the Ready summary.

The metav1 shape: type, status, reason (always, True included), message (always, maybe
empty), observedGeneration, lastTransitionTime (changed only when status changes). False and
Unknown ones also carry v1beta1's `severity`, which metav1 readers ignore and CAPI <= 1.10
reads: one condition list serves both contracts (docs/CAPI-CONTRACT.md)."""

from __future__ import annotations

import datetime
from typing import Any

from elemental_core.vocabulary import HOST_REACHABLE

READY = "Ready"
PAUSED = "Paused"
# Conditions the v1beta2 Ready summary leaves out: Paused says whether the object is
# reconciled, not how it is; HostReachable (mirrored from the host onto its machine) is for
# a MachineHealthCheck to judge, not a reason for the machine to stop being Ready.
_NOT_SUMMARIZED = (READY, PAUSED, HOST_REACHABLE)
# Reasons of the v1beta2 summary when nothing else says why (Cluster API's ReadyReason).
READY_REASON = "Ready"
DELETING = "Deleting"
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


# -- the v1beta2 contract's metav1 conditions --------------------------------------------------


def set_v1beta2_condition(
    conditions: list[dict[str, Any]], new: dict[str, Any], generation: int
) -> list[dict[str, Any]]:
    """Replaces the condition of the same type in metav1 shape, observed at `generation`;
    its transition time is kept unless the status changed (metav1's SetStatusCondition)."""
    if not new.get("reason"):
        raise ValueError(f"a v1beta2 condition needs a reason: {new.get('type')}")
    condition: dict[str, Any] = {
        "type": new["type"],
        "status": new["status"],
        "reason": new["reason"],
        "message": new.get("message") or "",
        "observedGeneration": generation,
    }
    if new.get("severity") and new["status"] != "True":
        condition["severity"] = new["severity"]
    previous = next((c for c in conditions if c.get("type") == condition["type"]), None)
    if (
        previous is not None
        and previous.get("status") == condition["status"]
        and previous.get("lastTransitionTime")
    ):
        condition["lastTransitionTime"] = previous["lastTransitionTime"]
    else:
        condition["lastTransitionTime"] = now_rfc3339()
    result = [c for c in conditions if c.get("type") != condition["type"]]
    result.append(condition)
    return _sorted(result)


def with_v1beta2_ready_summary(
    conditions: list[dict[str, Any]], generation: int, *, deleting: str | None = None
) -> list[dict[str, Any]]:
    """Sets Ready from the other conditions (those of _NOT_SUMMARIZED aside), by the same
    merge priorities as with_ready_summary; True gets the reason Ready. `deleting`: the
    object is being deleted, and this message says how far that got; Ready is then False
    with the reason Deleting, whatever the others say."""
    if deleting is not None:
        gone: dict[str, Any] = {
            "type": READY,
            "status": "False",
            "reason": DELETING,
            "severity": "Info",
            "message": deleting,
        }
        return set_v1beta2_condition(conditions, gone, generation)
    others = [c for c in conditions if c.get("type") not in _NOT_SUMMARIZED]
    if not others:
        return conditions
    top = min(others, key=lambda c: (_merge_priority(c), c.get("type", "")))
    summary: dict[str, Any]
    if top.get("status") == "True":
        summary = {"type": READY, "status": "True", "reason": READY_REASON}
    else:
        summary = {
            "type": READY,
            "status": "False" if top.get("status") == "False" else "Unknown",
            "reason": top.get("reason") or READY_REASON,
            "message": top.get("message"),
            "severity": top.get("severity"),
        }
    return set_v1beta2_condition(conditions, summary, generation)
