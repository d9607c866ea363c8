"""Pure decisions about hosts: new host from a create request, patch, response. No I/O."""

from __future__ import annotations

from elemental_core import conditions
from elemental_core.records import Host, Registration
from elemental_core.vocabulary import (
    LABEL_BOOTSTRAPPED,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
)
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest, ApiHostResponse


class PatchRefused(ValueError):
    """The patch is well-formed but not allowed in the host's state."""


def new_host(registration: Registration, request: ApiHostCreateRequest) -> Host:
    """A host as the create request asks, with the registration's host labels/annotations."""
    labels = {k: v.root for k, v in request.labels.root.items()} if request.labels else {}
    annotations = dict(request.annotations.root if request.annotations else {})
    labels.update(registration.host_labels)
    annotations.update(registration.host_annotations)
    return Host(
        namespace=registration.namespace,
        name=request.name.root,
        registration=registration.name,
        pub_key=request.pubKey,
        labels=labels,
        annotations=annotations,
    )


def apply_patch(host: Host, patch: ApiHostPatchRequest) -> Host:
    """The host after the patch; equal to `host` when the patch changes nothing."""
    if patch.bootstrapped and host.bootstrap_secret is None:
        raise PatchRefused("can't mark the host bootstrapped: no bootstrap data is attached yet")
    updated = host.copy()
    if patch.annotations:
        updated.annotations.update(patch.annotations.root)
    if patch.labels:
        updated.labels.update({k: v.root for k, v in patch.labels.root.items()})
    for flag, label in (
        (patch.installed, LABEL_INSTALLED),
        (patch.bootstrapped, LABEL_BOOTSTRAPPED),
        (patch.reset, LABEL_RESET),
    ):
        if flag is not None:
            updated.labels[label] = "true" if flag else "false"
    if patch.inPlaceUpdate is not None:
        updated.labels[LABEL_IN_PLACE_UPDATE] = patch.inPlaceUpdate
    if patch.condition is not None:
        updated.conditions = conditions.set_condition(
            updated.conditions, patch.condition.model_dump(exclude_none=True)
        )
    updated.conditions = conditions.with_ready_summary(updated.conditions)
    if patch.phase is not None:
        updated.phase = patch.phase
    return updated


def host_response(host: Host) -> ApiHostResponse:
    """What the agent learns from a check-in: its state and what to do next."""
    return ApiHostResponse(
        name=host.name,
        annotations=host.annotations or None,
        labels=host.labels or None,
        bootstrapReady=host.bootstrap_secret is not None,
        bootstrapped=host.label_is_true(LABEL_BOOTSTRAPPED),
        installed=host.label_is_true(LABEL_INSTALLED),
        needsReset=host.label_is_true(LABEL_NEEDS_RESET),
        inPlaceUpgrade=host.labels.get(LABEL_IN_PLACE_UPDATE) or None,
        osVersionManagement=host.os_version_management or None,
    )


def marked_for_reset(host: Host) -> Host:
    """The host once asked to reset because it is being deleted (what upstream's host
    controller does on deletion); equal to `host` if it was already asked."""
    if host.label_is_true(LABEL_NEEDS_RESET):
        return host
    updated = host.copy()
    updated.labels[LABEL_NEEDS_RESET] = "true"
    updated.conditions = conditions.with_ready_summary(
        conditions.set_condition(
            updated.conditions,
            {
                "type": "ResetReady",
                "status": "False",
                "severity": "Info",
                "reason": "WaitingForReset",
                "message": "Waiting for remote host to reset",
            },
        )
    )
    return updated


def may_be_released(host: Host) -> bool:
    """A host being deleted goes away once it has reported its reset."""
    return host.deleting and host.label_is_true(LABEL_RESET)
