"""The two rules that guard a host's record against the host itself: the registration's
labels and annotations are the registration's, and the stored record is bounded."""

from __future__ import annotations

import json
from typing import Any

import pytest

from elemental_core import hosts
from elemental_core.hosts import PatchRefused
from elemental_core.records import Host, Registration
from elemental_core.vocabulary import LABEL_INSTALLED
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest

PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"
OWNED = hosts.Assigned(labels={"pool": "edge"}, annotations={"site": "lab"})
NONE = hosts.Assigned(labels={}, annotations={})


def host(**fields: Any) -> Host:
    return Host(namespace="ns", name="host-1", registration="reg", **fields)


def patch(**fields: Any) -> ApiHostPatchRequest:
    return ApiHostPatchRequest.model_validate(fields)


def create_request(**fields: Any) -> ApiHostCreateRequest:
    return ApiHostCreateRequest.model_validate({"name": "host-1", "pubKey": PEM, **fields})


def numbered(count: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i}": "v" for i in range(count)}


def condition(index: int, message: str = "") -> dict[str, Any]:
    return {"type": f"Check{index}", "status": "True", "severity": "Info", "message": message}


def refusal(before: Host, after: Host) -> str:
    with pytest.raises(PatchRefused) as refused:
        hosts.check_limits(before, after)
    return str(refused.value)


# -- the registration's labels and annotations --------------------------------------------------


def test_echoing_the_registrations_values_is_allowed() -> None:
    updated = hosts.apply_patch(host(), patch(labels={"pool": "edge"}, annotations={"site": "lab"}), OWNED)
    assert (updated.labels, updated.annotations) == ({"pool": "edge"}, {"site": "lab"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": {"pool": "core"}}, "label 'pool' is set by the registration and can't be changed"),
        (
            {"annotations": {"site": "prod"}},
            "annotation 'site' is set by the registration and can't be changed",
        ),
    ],
    ids=["label", "annotation"],
)
def test_changing_a_registrations_value_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchRefused, match=f"^{message}$"):
        hosts.apply_patch(host(), patch(**change), OWNED)
    with pytest.raises(PatchRefused, match=f"^{message}$"):
        hosts.new_host(
            Registration(
                namespace="ns", name="reg", host_labels={"pool": "edge"}, host_annotations={"site": "lab"}
            ),
            create_request(**change),
        )


def test_a_registrations_provider_owned_key_may_be_echoed() -> None:
    """A registration made before such keys were refused: its hosts echo the key back."""
    owned = hosts.Assigned(labels={"cluster.x-k8s.io/pool": "old"}, annotations={})
    updated = hosts.apply_patch(host(), patch(labels={"cluster.x-k8s.io/pool": "old"}), owned)
    assert updated.labels == {"cluster.x-k8s.io/pool": "old"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"labels": {"cluster.x-k8s.io/pool": "x"}},
            "label key 'cluster.x-k8s.io/pool' is reserved for the provider",
        ),
        (
            {"annotations": {"cluster.x-k8s.io/note": "x"}},
            "annotation key 'cluster.x-k8s.io/note' is reserved for the provider",
        ),
    ],
    ids=["label", "annotation"],
)
def test_a_client_rule_broken_is_a_refused_patch(change: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchRefused, match=f"^{message}$"):
        hosts.apply_patch(host(), patch(**change), NONE)


# -- the bounded record ---------------------------------------------------------------------------


def test_a_record_at_each_limit_is_accepted() -> None:
    full = host(
        labels=numbered(hosts.MAX_HOST_LABELS),
        annotations=numbered(hosts.MAX_HOST_ANNOTATIONS),
        conditions=[condition(i) for i in range(hosts.MAX_HOST_CONDITIONS)],
    )
    hosts.check_limits(host(), full)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"labels": numbered(hosts.MAX_HOST_LABELS + 1)},
            "a host has at most 128 labels: this request would make its labels 129",
        ),
        (
            {"annotations": numbered(hosts.MAX_HOST_ANNOTATIONS + 1)},
            "a host has at most 128 annotations: this request would make its annotations 129",
        ),
        (
            {"conditions": [condition(i) for i in range(hosts.MAX_HOST_CONDITIONS + 1)]},
            "a host has at most 32 conditions: this request would make its conditions 33",
        ),
    ],
    ids=["labels", "annotations", "conditions"],
)
def test_one_over_a_count_limit_is_refused(fields: dict[str, Any], message: str) -> None:
    assert refusal(host(), host(**fields)) == message


def annotations_of(total_bytes: int) -> dict[str, str]:
    return {"a": "x" * (total_bytes - 1)}


def test_annotations_are_bounded_in_bytes_as_kubernetes_counts_them() -> None:
    limit = hosts.MAX_HOST_ANNOTATIONS_BYTES
    hosts.check_limits(host(), host(annotations=annotations_of(limit)))
    assert refusal(host(), host(annotations=annotations_of(limit + 1))) == (
        f"a host has at most {limit} bytes of annotations: "
        f"this request would make its annotations {limit + 1}"
    )


def conditions_of(total_bytes: int) -> list[dict[str, Any]]:
    """One condition whose compact JSON list is exactly `total_bytes` long."""
    bare = len(json.dumps([condition(0)], separators=(",", ":")).encode())
    return [condition(0, "x" * (total_bytes - bare))]


def test_conditions_are_bounded_in_bytes_of_compact_json() -> None:
    limit = hosts.MAX_HOST_CONDITIONS_BYTES
    assert hosts._conditions_bytes(host(conditions=conditions_of(limit))) == limit
    hosts.check_limits(host(), host(conditions=conditions_of(limit)))
    assert refusal(host(), host(conditions=conditions_of(limit + 1))) == (
        f"a host has at most {limit} bytes of conditions: this request would make its conditions {limit + 1}"
    )


def test_the_bytes_of_conditions_count_utf8() -> None:
    assert hosts._conditions_bytes(host()) == 0
    assert hosts._conditions_bytes(host(conditions=[{"m": "é"}])) == len('[{"m":"\\u00e9"}]')


def test_the_providers_own_labels_are_not_counted() -> None:
    labels = {**numbered(hosts.MAX_HOST_LABELS), LABEL_INSTALLED: "true"}
    hosts.check_limits(host(), host(labels=labels))


def test_a_record_already_over_a_limit_may_change_what_does_not_grow() -> None:
    """The operator writes labels too, and limits may shrink: such a record is not stuck."""
    over = numbered(hosts.MAX_HOST_LABELS + 2)
    hosts.check_limits(host(labels=over), host(labels={**over, "k0": "changed"}))
    hosts.check_limits(host(labels=over), host(labels=numbered(hosts.MAX_HOST_LABELS + 1)))
    assert refusal(host(labels=over), host(labels=numbered(hosts.MAX_HOST_LABELS + 3))) == (
        "a host has at most 128 labels: this request would make its labels 131"
    )


def test_a_patch_that_takes_the_record_over_a_limit_is_refused() -> None:
    full = host(labels=numbered(hosts.MAX_HOST_LABELS))
    with pytest.raises(
        PatchRefused, match=r"^a host has at most 128 labels: this request would make its labels 129$"
    ):
        hosts.apply_patch(full, patch(labels={"one-more": "v"}), NONE)
    assert hosts.apply_patch(full, patch(labels={"k0": "changed"}), NONE).labels["k0"] == "changed"


def test_a_new_host_counts_the_registrations_labels_too() -> None:
    """The request alone is bounded by the spec; with the registration's labels it can go over."""
    registration = Registration(namespace="ns", name="reg", host_labels=numbered(2, prefix="r"))
    request = create_request(labels=numbered(hosts.MAX_HOST_LABELS - 1))
    with pytest.raises(PatchRefused, match=r"would make its labels 129$"):
        hosts.new_host(registration, request)


# -- addresses -------------------------------------------------------------------------------------

ADDRESSES = [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "10.0.0.7"}]


def test_a_new_host_keeps_the_reported_addresses_in_order() -> None:
    created = hosts.new_host(Registration(namespace="ns", name="reg"), create_request(addresses=ADDRESSES))
    assert created.addresses == ADDRESSES


def test_sent_addresses_replace_the_recorded_ones_and_an_empty_list_clears_them() -> None:
    recorded = host(addresses=[{"type": "ExternalIP", "address": "192.0.2.1"}])
    assert hosts.apply_patch(recorded, patch(addresses=ADDRESSES), NONE).addresses == ADDRESSES
    assert hosts.apply_patch(recorded, patch(addresses=[]), NONE).addresses == []
    assert hosts.apply_patch(recorded, patch(), NONE).addresses == recorded.addresses
