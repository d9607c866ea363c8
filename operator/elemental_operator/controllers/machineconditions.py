"""Writes to a Cluster API Machine's status.conditions, the only part of a Machine this
operator writes: HostReachable (mirrored from its host), ExternallyRemediated and
OwnerRemediated (a remediation's steps).

Cluster API's own controllers write the same list, so every write is a merge patch of the
whole list carrying the resourceVersion it was computed from (kube-apiserver refuses it if
the Machine changed meanwhile) and, on that conflict, is computed again from a fresh read.
Nothing is written when the change leaves the conditions as they are."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from elemental_core.vocabulary import MACHINES
from elemental_kube.errors import Conflict
from elemental_operator.controllers.base import KubeAccess
from elemental_operator.views import MachineView

ATTEMPTS = 4  # a conflict beyond these goes to the work queue's back-off
_STATE = ("status", "reason", "message")


def update(kube: KubeAccess, namespace: str, name: str, change: Callable[[MachineView], None]) -> bool:
    """Applies `change` to the Machine's conditions and writes them if they changed;
    False when there is no such Machine."""
    for attempt in range(ATTEMPTS):
        before = kube.get(MACHINES, namespace, name)
        if before is None:
            return False
        after = MachineView(copy.deepcopy(before))
        change(after)
        if after.conditions == MachineView(before).conditions:
            return True
        try:
            kube.apply_changes(MACHINES, before, after.raw)
        except Conflict:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        return True
    return True  # not reached: the last attempt returns or raises


def same_state(current: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    """Whether a condition already says what `wanted` says (status, reason, message)."""
    return current is not None and all(current.get(f, "") == wanted.get(f, "") for f in _STATE)


def set_if_changed(machine: MachineView, wanted: dict[str, Any]) -> None:
    """Sets a condition (metav1 shape: no severity) unless it already says the same."""
    plain = {f: wanted[f] for f in ("type", *_STATE) if f in wanted}
    if not same_state(machine.condition(plain["type"]), plain):
        machine.set_condition(plain)
