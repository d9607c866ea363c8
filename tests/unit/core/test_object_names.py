"""Object names, namespaces and label values: Kubernetes' rules with their exact limits, and
the host labels and annotations a registration may give its hosts."""

from __future__ import annotations

import pytest

from elemental_core.names import (
    MAX_REGISTRATION_HOST_ANNOTATIONS,
    MAX_REGISTRATION_HOST_LABELS,
    InvalidMetadata,
    check_registration_metadata,
    label_value_problem,
    name_problem,
    quote,
)
from elemental_core.vocabulary import LABEL_INSTALLED

SUBDOMAIN_PROBLEM = "must be a DNS-1123 subdomain (lowercase alphanumerics and '-', at most 253 characters)"
LABEL_PROBLEM = "must be a DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters)"
VALUE_PROBLEM = "must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
SUBDOMAIN_253 = ("a" * 63 + ".") * 3 + "b" * 61


@pytest.mark.parametrize("name", ["a", "0", "my-host", "a.b-c.d", "x" * 63, SUBDOMAIN_253])
def test_valid_object_names(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "name", ["", "A", "a_b", "-a", "a-", "a..b", ".a", "a.", "a\n", SUBDOMAIN_253 + "b", "h\u00f6st"]
)
def test_invalid_object_names(name: str) -> None:
    assert name_problem(name) == SUBDOMAIN_PROBLEM


@pytest.mark.parametrize("name", ["a", "default", "kube-system", "x" * 63])
def test_valid_namespaces(name: str) -> None:
    assert name_problem(name, dns_label=True) is None


@pytest.mark.parametrize("name", ["", "a.b", "a_b", "A", "-a", "a-", "x" * 64, "a\n"])
def test_invalid_namespaces(name: str) -> None:
    assert name_problem(name, dns_label=True) == LABEL_PROBLEM


@pytest.mark.parametrize("value", ["", "a", "A9", "my_value.v1-2", "x" * 63])
def test_valid_label_values(value: str) -> None:
    assert label_value_problem(value) is None


@pytest.mark.parametrize("value", ["x" * 64, "-a", "a-", "_a", "a.", "a b", "a/b", "a\n"])
def test_invalid_label_values(value: str) -> None:
    assert label_value_problem(value) == VALUE_PROBLEM


def test_registration_metadata_within_the_rules_is_accepted() -> None:
    labels = {f"k{i}": "v" for i in range(MAX_REGISTRATION_HOST_LABELS)}
    annotations = {f"a{i}": "any value at all" for i in range(MAX_REGISTRATION_HOST_ANNOTATIONS)}
    check_registration_metadata(labels, annotations)
    check_registration_metadata({}, {})


def test_a_registration_label_value_is_checked_and_named() -> None:
    with pytest.raises(InvalidMetadata) as refused:
        check_registration_metadata({"ok": "fine", "zone": "bad value"}, {})
    assert str(refused.value) == f"host label 'zone': value 'bad value' is invalid: {VALUE_PROBLEM}"


def test_a_registration_annotation_value_is_not_a_label_value() -> None:
    check_registration_metadata({}, {"note": "bad value for a label, fine here"})


@pytest.mark.parametrize(
    ("labels", "annotations", "refusal"),
    [
        ({"bad key": "v"}, {}, "host label key 'bad key' is invalid"),
        ({}, {"bad key": "v"}, "host annotation key 'bad key' is invalid"),
        ({LABEL_INSTALLED: "true"}, {}, "is reserved for the provider"),
        ({}, {"cluster.x-k8s.io/cluster-name": "c"}, "is reserved for the provider"),
    ],
)
def test_registration_keys_follow_the_client_rules(
    labels: dict[str, str], annotations: dict[str, str], refusal: str
) -> None:
    with pytest.raises(InvalidMetadata, match=refusal):
        check_registration_metadata(labels, annotations)


def test_a_registration_has_at_most_its_share_of_host_labels() -> None:
    labels = {f"k{i}": "v" for i in range(MAX_REGISTRATION_HOST_LABELS + 1)}
    with pytest.raises(InvalidMetadata) as refused:
        check_registration_metadata(labels, {})
    assert str(refused.value) == f"a registration has at most {MAX_REGISTRATION_HOST_LABELS} host labels"


def test_a_registration_has_at_most_its_share_of_host_annotations() -> None:
    annotations = {f"a{i}": "v" for i in range(MAX_REGISTRATION_HOST_ANNOTATIONS + 1)}
    with pytest.raises(InvalidMetadata) as refused:
        check_registration_metadata({}, annotations)
    assert str(refused.value) == (
        f"a registration has at most {MAX_REGISTRATION_HOST_ANNOTATIONS} host annotations"
    )


def test_quote_keeps_short_values_whole_and_cuts_long_ones_to_the_limit() -> None:
    assert quote("abc", limit=3) == "'abc'"
    assert quote("abcd", limit=4) == "'abcd'"
    assert quote("abcde", limit=4) == "'a...'"
    assert quote("x" * 41) == repr("x" * 37 + "...")
    assert quote("a\x1b[2J") == "'a\\x1b[2J'"
