"""Label and annotation keys: Kubernetes' rules, the provider's reserved prefixes, the
annotations' total size."""

from __future__ import annotations

import pytest

from elemental_core.names import (
    MAX_ANNOTATIONS_BYTES,
    MAX_QUOTED_CHARS,
    InvalidMetadata,
    check_client_metadata,
    key_problem,
    quote,
)

NAME_PROBLEM = "name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
PREFIX_PROBLEM = "prefix must be a DNS-1123 subdomain"

VALID_KEYS = [
    "a",
    "A9",
    "app",
    "my-app_v1.2",
    "x" * 63,
    "example.com/app",
    "sub.example.com/App_1",
    "a/b",
    "a-b.c-d/e",
    "0.1/x",
    ("a" * 63 + ".") * 3 + "b" * 61 + "/name",  # 253-character prefix
]


@pytest.mark.parametrize("key", VALID_KEYS)
def test_valid_keys(key: str) -> None:
    assert key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("", NAME_PROBLEM),
        ("x" * 64, NAME_PROBLEM),
        ("-app", NAME_PROBLEM),
        ("app-", NAME_PROBLEM),
        ("_app", NAME_PROBLEM),
        ("app.", NAME_PROBLEM),
        ("my app", NAME_PROBLEM),
        ("app!", NAME_PROBLEM),
        ("app\n", NAME_PROBLEM),
        ("\napp", NAME_PROBLEM),
        ("example.com/", NAME_PROBLEM),
        ("example.com/app\n", NAME_PROBLEM),
        ("example.com/" + "x" * 64, NAME_PROBLEM),
        ("/app", PREFIX_PROBLEM),
        ("Example.com/app", PREFIX_PROBLEM),
        ("-example.com/app", PREFIX_PROBLEM),
        ("example-.com/app", PREFIX_PROBLEM),
        ("example..com/app", PREFIX_PROBLEM),
        ("example.com./app", PREFIX_PROBLEM),
        ("exa_mple.com/app", PREFIX_PROBLEM),
        ("example.c_om/app", PREFIX_PROBLEM),
        ("example.-com/app", PREFIX_PROBLEM),
        ("example.com\n/app", PREFIX_PROBLEM),
        ("a/b/c", PREFIX_PROBLEM),
        (("a" * 63 + ".") * 3 + "b" * 62 + "/name", PREFIX_PROBLEM),  # 254-character prefix
    ],
)
def test_invalid_keys(key: str, problem: str) -> None:
    assert key_problem(key) == problem


def test_prefix_length_limits_are_253_and_name_63() -> None:
    longest_prefix = ("a" * 63 + ".") * 3 + "b" * 61
    assert len(longest_prefix) == 253
    assert key_problem(f"{longest_prefix}/{'n' * 63}") is None


@pytest.mark.parametrize("kind", ["label", "annotation"])
@pytest.mark.parametrize("items", [None, {}, {"app": "x", "example.com/tier": ""}])
def test_acceptable_metadata(kind: str, items: dict[str, str] | None) -> None:
    check_client_metadata(kind, items)


@pytest.mark.parametrize("kind", ["label", "annotation"])
@pytest.mark.parametrize(
    "key",
    [
        "elementalhost.infrastructure.cluster.x-k8s.io/installed",
        "elementalhost.infrastructure.cluster.x-k8s.io/anything",
        "cluster.x-k8s.io/cluster-name",
    ],
)
def test_provider_owned_keys_are_refused(kind: str, key: str) -> None:
    with pytest.raises(InvalidMetadata) as refused:
        check_client_metadata(kind, {"app": "x", key: "v"})
    assert str(refused.value) == f"{kind} key {quote(key)} is reserved for the provider"
    assert key[:30] in str(refused.value)


@pytest.mark.parametrize("key", ["infrastructure.cluster.x-k8s.io/x", "x-k8s.io/x", "my.cluster.x-k8s.io/x"])
def test_neighbouring_prefixes_are_the_clients(key: str) -> None:
    check_client_metadata("label", {key: "v"})


def test_an_invalid_key_is_named_in_the_refusal() -> None:
    with pytest.raises(InvalidMetadata) as refused:
        check_client_metadata("label", {"ok": "x", "bad key": "y"})
    assert str(refused.value) == f"label key 'bad key' is invalid: {NAME_PROBLEM}"


def test_a_long_invalid_key_is_shortened_in_the_refusal() -> None:
    key = "!" * 81
    with pytest.raises(InvalidMetadata) as refused:
        check_client_metadata("annotation", {key: "y"})
    # The key is quoted shortened (at most MAX_QUOTED_CHARS of it): no input makes a long message.
    assert str(refused.value) == f"annotation key {quote(key)} is invalid: {NAME_PROBLEM}"
    assert "!" * MAX_QUOTED_CHARS not in str(refused.value)
    short = "!" * 10
    with pytest.raises(InvalidMetadata) as refused:
        check_client_metadata("annotation", {short: "y"})
    assert str(refused.value) == f"annotation key '{short}' is invalid: {NAME_PROBLEM}"


def test_a_trailing_newline_is_refused_in_client_metadata() -> None:
    with pytest.raises(InvalidMetadata, match="is invalid"):
        check_client_metadata("label", {"app\n": "x"})


def test_annotations_up_to_256_kib_in_total_are_accepted() -> None:
    assert MAX_ANNOTATIONS_BYTES == 256 * 1024
    check_client_metadata("annotation", {"a": "x" * (MAX_ANNOTATIONS_BYTES - 1)})
    check_client_metadata(
        "annotation",
        {"a": "x" * (MAX_ANNOTATIONS_BYTES // 2 - 1), "b": "x" * (MAX_ANNOTATIONS_BYTES // 2 - 1)},
    )


@pytest.mark.parametrize(
    "annotations",
    [
        pytest.param({"a": "x" * MAX_ANNOTATIONS_BYTES}, id="one-value"),
        pytest.param(
            {"a": "x" * (MAX_ANNOTATIONS_BYTES // 2), "b": "x" * (MAX_ANNOTATIONS_BYTES // 2)},
            id="keys-count",
        ),
        pytest.param({"a": "é" * (MAX_ANNOTATIONS_BYTES // 2)}, id="utf8-bytes-count"),
        pytest.param({"a": "\ud800" * (MAX_ANNOTATIONS_BYTES // 3 + 1)}, id="lone-surrogates-count-3-bytes"),
    ],
)
def test_annotations_over_256_kib_are_refused(annotations: dict[str, str]) -> None:
    with pytest.raises(InvalidMetadata) as refused:
        check_client_metadata("annotation", annotations)
    assert str(refused.value) == "annotations are over 256 KiB in total"


def test_a_lone_surrogate_in_a_value_is_counted_not_a_crash() -> None:
    check_client_metadata("annotation", {"a": "\ud800" * (MAX_ANNOTATIONS_BYTES // 3)})


def test_the_total_size_is_an_annotation_rule() -> None:
    """(Label values are 63 characters at most: the spec checks those.)"""
    check_client_metadata("label", {"a": "x" * MAX_ANNOTATIONS_BYTES})
