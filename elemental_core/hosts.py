"""Pure decisions about hosts: new host from a create request, patch, response. No I/O.

Two rules guard a host's record against the host itself (every host holds its
registration's token, so any host may be hostile):

* the registration's host labels and annotations are the registration's: a host can
  neither override nor remove them, at create or on patch (machines pick hosts by label,
  so a host that could relabel itself could move into another cluster's pool);
* the stored record is bounded (labels, annotations, conditions), not only each request.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from dataclasses import dataclass

from elemental_core import conditions
from elemental_core.names import (
    InvalidMetadata,
    annotations_bytes,
    check_client_metadata,
    is_provider_owned,
    quote,
)
from elemental_core.records import Host, Registration
from elemental_core.vocabulary import (
    BOOTSTRAP_READY,
    HOST_REACHABLE,
    INSTALLATION_READY,
    LABEL_BOOTSTRAPPED,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    LABEL_RESET,
    REGISTRATION_READY,
    RESET_READY,
    WAITING_FOR_RESET,
)
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest, ApiHostResponse, HostAddresses

# What one host's record may hold (besides the provider's own few labels). Label keys and
# values are bounded by their rules (317 and 63 characters), condition fields by the spec,
# so these bound the whole record (about 0.5 MiB at most, under etcd's 1.5 MiB object
# limit) and every check-in's answer.
MAX_HOST_LABELS = 128
MAX_HOST_ANNOTATIONS = 128
MAX_HOST_ANNOTATIONS_BYTES = 256 * 1024
MAX_HOST_CONDITIONS = 32
MAX_HOST_CONDITIONS_BYTES = 128 * 1024


# What a new host's record is measured against: nothing held yet.
_NO_RECORD = Host(namespace="", name="", registration="")


class PatchRefused(ValueError):
    """The request is well-formed but not allowed (state, ownership or limits); the message
    says which rule, and quotes at most a few dozen characters of the input."""


@dataclass(frozen=True)
class Assigned:
    """What a registration assigns each of its hosts: those keys are the registration's."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]

    @classmethod
    def by(cls, registration: Registration) -> Assigned:
        return cls(labels=registration.host_labels, annotations=registration.host_annotations)


def new_host(registration: Registration, request: ApiHostCreateRequest) -> Host:
    """A host as the create request asks, with the registration's host labels/annotations.

    The agent echoes the registration's labels in its request (the Go agent sends them all):
    repeating a value is fine, sending another value for a registration's key is refused."""
    assigned = Assigned.by(registration)
    labels = {k: v.root for k, v in request.labels.root.items()} if request.labels else {}
    annotations = dict(request.annotations.root if request.annotations else {})
    _check_metadata(assigned, labels, annotations)
    labels.update(assigned.labels)
    annotations.update(assigned.annotations)
    host = Host(
        namespace=registration.namespace,
        name=request.name.root,
        registration=registration.name,
        pub_key=request.pubKey,
        labels=labels,
        annotations=annotations,
        addresses=_addresses(request.addresses),
    )
    check_limits(_NO_RECORD, host)
    return host


def apply_patch(host: Host, patch: ApiHostPatchRequest, assigned: Assigned) -> Host:
    """The host after the patch; equal to `host` when the patch changes nothing.

    `assigned`: the registration's host labels and annotations, which the patch may repeat
    but not change. Raises PatchRefused when the patch breaks a rule or a limit."""
    if patch.bootstrapped and host.bootstrap_secret is None:
        raise PatchRefused("can't mark the host bootstrapped: no bootstrap data is attached yet")
    labels = {k: v.root for k, v in patch.labels.root.items()} if patch.labels else {}
    annotations = dict(patch.annotations.root) if patch.annotations else {}
    _check_metadata(assigned, labels, annotations)
    updated = host.copy()
    updated.annotations.update(annotations)
    updated.labels.update(labels)
    for flag, label in (
        (patch.installed, LABEL_INSTALLED),
        (patch.bootstrapped, LABEL_BOOTSTRAPPED),
        (patch.reset, LABEL_RESET),
    ):
        if flag is not None:
            updated.labels[label] = "true" if flag else "false"
    if patch.inPlaceUpdate is not None:
        updated.labels[LABEL_IN_PLACE_UPDATE] = patch.inPlaceUpdate
    implied = conditions_from_labels(updated.labels)
    # A condition the labels imply is theirs to say (the operator would set it back, and the
    # two versions would take turns, each a write and a new transition time).
    if patch.condition is not None and patch.condition.type not in implied:
        updated.conditions = conditions.set_condition(
            updated.conditions, patch.condition.model_dump(exclude_none=True)
        )
    for kind in implied:
        updated.conditions = conditions.set_condition(updated.conditions, {**TRUE_CONDITION, "type": kind})
    updated.conditions = conditions.with_ready_summary(updated.conditions)
    if patch.phase is not None:
        updated.phase = patch.phase
    if patch.addresses is not None:
        updated.addresses = _addresses(patch.addresses)
    updated.reboot_accepted = accepted_reboot(host, patch.rebootAccepted)
    check_limits(host, updated)
    return updated


# A True condition in the v1beta1 shape hosts' records use (True carries no reason).
TRUE_CONDITION = {"status": "True", "severity": "Info"}


def conditions_from_labels(labels: Mapping[str, str]) -> tuple[str, ...]:
    """The conditions a host's labels make True: installed means registered and installed,
    bootstrapped means bootstrapped. The operator's host controller keeps them so; a
    check-in sets them with the label itself, so that the operator finds nothing to write
    after an installation (it was one status patch per installed host, the storm's last)."""
    installed = (REGISTRATION_READY, INSTALLATION_READY) if labels.get(LABEL_INSTALLED) == "true" else ()
    bootstrapped = (BOOTSTRAP_READY,) if labels.get(LABEL_BOOTSTRAPPED) == "true" else ()
    return installed + bootstrapped


def accepted_reboot(host: Host, acknowledged: str | None) -> str | None:
    """status.rebootAccepted once the agent acknowledged `acknowledged`: recorded only when
    it is the request still pending. Any other id is stale (the remediation ended, or a new
    attempt began, between the answer and the acknowledgement) and changes nothing: the
    agent is not told off for a race it could not see."""
    if acknowledged is not None and acknowledged == host.reboot_request:
        return acknowledged
    return host.reboot_accepted


def pending_reboot(host: Host) -> str | None:
    """The reboot request the agent is to take: the host's, until it acknowledged it, and
    never while it is asked to reset (a reset wins: the host is leaving its machine)."""
    if not host.reboot_request or host.reboot_request == host.reboot_accepted:
        return None
    if host.label_is_true(LABEL_NEEDS_RESET):
        return None
    return host.reboot_request


def _addresses(addresses: HostAddresses | None) -> list[dict[str, str]]:
    """The reported addresses as the record keeps them: the whole list, replaced when sent
    (the spec bounds its length and each address)."""
    return [{"type": a.type, "address": a.address} for a in addresses.root] if addresses else []


def check_limits(before: Host, after: Host) -> None:
    """Refuses a change that takes the record over a limit. A record already over one (the
    operator writes labels too, and limits may shrink) may still change what does not grow.
    The provider's own labels (a fixed set: installed, bootstrapped, ...) are not counted,
    so a host can always report its state."""
    measures = (
        ("labels", _own(before.labels), _own(after.labels), MAX_HOST_LABELS, "labels"),
        (
            "annotations",
            _own(before.annotations),
            _own(after.annotations),
            MAX_HOST_ANNOTATIONS,
            "annotations",
        ),
        (
            "annotations",
            annotations_bytes(before.annotations),
            annotations_bytes(after.annotations),
            MAX_HOST_ANNOTATIONS_BYTES,
            "bytes of annotations",
        ),
        ("conditions", len(before.conditions), len(after.conditions), MAX_HOST_CONDITIONS, "conditions"),
        (
            "conditions",
            _conditions_bytes(before),
            _conditions_bytes(after),
            MAX_HOST_CONDITIONS_BYTES,
            "bytes of conditions",
        ),
    )
    for what, old, new, limit, unit in measures:
        if new > limit and new > old:
            raise PatchRefused(f"a host has at most {limit} {unit}: this request would make its {what} {new}")


def _own(items: Mapping[str, str]) -> int:
    return sum(1 for key in items if not is_provider_owned(key))


def _conditions_bytes(host: Host) -> int:
    return len(json.dumps(host.conditions, separators=(",", ":")).encode()) if host.conditions else 0


def _check_metadata(assigned: Assigned, labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
    """What a client sent, less the echoes of the registration's own values (which may even
    use a provider-owned key on a registration made before such keys were refused), must
    follow the client rules, and change none of the registration's keys."""
    for kind, sent, owned in (
        ("label", labels, assigned.labels),
        ("annotation", annotations, assigned.annotations),
    ):
        own = {k: v for k, v in sent.items() if owned.get(k) != v}
        try:
            check_client_metadata(kind, own)
        except InvalidMetadata as error:
            raise PatchRefused(str(error)) from error
        for key in own:
            if key in owned:
                raise PatchRefused(f"{kind} {quote(key)} is set by the registration and can't be changed")


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
        rebootRequest=pending_reboot(host),
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
                "type": RESET_READY,
                "status": "False",
                "severity": "Info",
                "reason": WAITING_FOR_RESET,
                "message": "Waiting for remote host to reset",
            },
        )
    )
    return updated


def may_be_released(host: Host) -> bool:
    """A host being deleted goes away once it has reported its reset."""
    return host.deleting and host.label_is_true(LABEL_RESET)


# -- liveness -----------------------------------------------------------------------------------
#
# The API records when a host was last heard from (status.lastSeen), rewriting it only once
# the recorded time is a heartbeat interval old: a check-in inside the interval writes
# nothing, and liveness costs at most one write per host per interval. The operator turns it
# into the HostReachable condition (elemental_operator.controllers.elementalhost).

DEFAULT_HEARTBEAT_INTERVAL = 60.0
DEFAULT_HEARTBEAT_GRACE = 30.0
HEARTBEAT_INTERVAL_ENV = "ELEMENTAL_HEARTBEAT_INTERVAL"
HEARTBEAT_GRACE_ENV = "ELEMENTAL_HEARTBEAT_GRACE"
# metav1.MicroTime's shape (a Lease's renewTime): seconds would let a write come up to a
# second early, and a heartbeat interval of a few seconds (tests) lose its meaning.
_SEEN_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def reachable_condition(status: str, reason: str, message: str) -> dict[str, str]:
    """The HostReachable condition as a host's record holds it ("True" or "False"; v1beta1
    shape, severity Warning when False). Written by the operator, and by the Kubernetes store
    for a host that has just registered."""
    severity = "Info" if status == "True" else "Warning"
    return {
        "type": HOST_REACHABLE,
        "status": status,
        "severity": severity,
        "reason": reason,
        "message": message,
    }


def seen_timestamp(now: float) -> str:
    """`now` (seconds since the epoch) as status.lastSeen holds it."""
    return datetime.datetime.fromtimestamp(now, datetime.UTC).strftime(_SEEN_FORMAT)


def parse_seen(value: str | None) -> float | None:
    """status.lastSeen as seconds since the epoch; None when absent or unreadable (an RFC 3339
    time of any precision is read: someone may have written one by hand)."""
    if not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.timestamp()


def seen(host: Host, now: float, interval: float) -> Host:
    """The host as a check-in at `now` leaves it: its last-seen time rewritten when the
    recorded one is missing, unreadable or at least `interval` seconds old; otherwise `host`
    itself, so a check-in inside the interval that changes nothing else writes nothing.

    A recorded time in the future (another replica's clock ahead) counts as fresh: two
    replicas whose clocks disagree never take turns rewriting it."""
    recorded = parse_seen(host.last_seen)
    if recorded is not None and now - recorded < interval:
        return host
    updated = host.copy()
    updated.last_seen = seen_timestamp(now)
    return updated
