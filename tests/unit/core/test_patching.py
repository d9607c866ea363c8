"""JSON merge patches (RFC 7386) between two versions of an object (elemental_kube.patching
is pure: no client, no server)."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_kube.patching import merge_diff, object_patch, status_patch

NOTHING = merge_diff({}, {})


@pytest.mark.parametrize(
    ("old", "new", "patch"),
    [
        pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="changed-value"),
        pytest.param({}, {"a": 1}, {"a": 1}, id="added-key"),
        pytest.param({"a": 1, "b": 2}, {"b": 2}, {"a": None}, id="removed-key-is-null"),
        pytest.param(
            {"a": {"x": 1, "y": 2}}, {"a": {"x": 1, "y": 3}}, {"a": {"y": 3}}, id="nested-change-only"
        ),
        pytest.param({"a": {"x": 1}}, {"a": {}}, {"a": {"x": None}}, id="nested-removal"),
        pytest.param({"a": [1, 2]}, {"a": [1, 3]}, {"a": [1, 3]}, id="list-replaced-whole"),
        pytest.param({"a": [1, 2]}, {"a": [1]}, {"a": [1]}, id="shorter-list-replaced-whole"),
        pytest.param({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}, id="scalar-to-object"),
        pytest.param({"a": {"x": 1}}, {"a": 1}, {"a": 1}, id="object-to-scalar"),
        pytest.param({}, {"a": {}}, {"a": {}}, id="added-empty-object"),
        pytest.param({"a": 1}, {"a": None}, {"a": None}, id="value-to-null"),
        pytest.param({}, {"a": None}, {"a": None}, id="added-null"),
    ],
)
def test_merge_diff(old: Any, new: Any, patch: Any) -> None:
    assert merge_diff(old, new) == patch


@pytest.mark.parametrize(
    ("old", "new"),
    [({}, {}), ({"a": 1}, {"a": 1}), ({"a": {"b": [1]}}, {"a": {"b": [1]}}), (1, 1), ("x", "x")],
)
def test_equal_values_have_no_patch(old: Any, new: Any) -> None:
    assert merge_diff(old, new) is NOTHING


def test_a_scalar_change_is_the_new_value() -> None:
    assert merge_diff(1, 2) == 2
    assert merge_diff({"a": 1}, [1]) == [1]


def obj(**parts: Any) -> dict[str, Any]:
    metadata = {"name": "h", "namespace": "ns", "resourceVersion": "41", "uid": "u"}
    metadata.update(parts.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "X", "metadata": metadata, **parts}


def test_an_unchanged_object_has_no_patch() -> None:
    assert object_patch(obj(spec={"a": 1}), obj(spec={"a": 1})) is None


def test_status_name_and_other_metadata_are_not_the_object_patchs() -> None:
    old = obj(spec={"a": 1}, status={"phase": "A"})
    new = obj(spec={"a": 1}, status={"phase": "B"}, metadata={"uid": "other", "generation": 2})
    assert object_patch(old, new) is None


def test_an_object_patch_carries_the_resource_version_it_builds_on() -> None:
    old = obj(metadata={"labels": {"a": "1"}}, spec={"x": 1})
    new = obj(metadata={"labels": {"a": "2"}, "resourceVersion": "99"}, spec={"x": 2})
    assert object_patch(old, new) == {
        "metadata": {"labels": {"a": "2"}, "resourceVersion": "41"},
        "spec": {"x": 2},
    }


def test_a_spec_only_change_still_carries_the_resource_version() -> None:
    assert object_patch(obj(spec={"x": 1}), obj(spec={"x": 2})) == {
        "metadata": {"resourceVersion": "41"},
        "spec": {"x": 2},
    }


@pytest.mark.parametrize(
    ("old_meta", "new_meta", "patch_meta"),
    [
        pytest.param({}, {"annotations": {"n": "v"}}, {"annotations": {"n": "v"}}, id="annotation-added"),
        pytest.param({"labels": {"a": "1"}}, {"labels": {}}, {"labels": {"a": None}}, id="label-removed"),
        pytest.param({"labels": {"a": "1"}}, {}, {"labels": {"a": None}}, id="labels-dropped"),
        pytest.param({}, {"finalizers": ["f"]}, {"finalizers": ["f"]}, id="finalizer-added"),
        pytest.param(
            {"finalizers": ["f", "g"]}, {"finalizers": ["g"]}, {"finalizers": ["g"]}, id="finalizer-removed"
        ),
    ],
)
def test_metadata_patches(
    old_meta: dict[str, Any], new_meta: dict[str, Any], patch_meta: dict[str, Any]
) -> None:
    assert object_patch(obj(metadata=old_meta), obj(metadata=new_meta)) == {
        "metadata": {**patch_meta, "resourceVersion": "41"}
    }


@pytest.mark.parametrize(
    ("old_meta", "new_meta"),
    [
        ({"labels": None}, {"labels": {}}),
        ({}, {"annotations": None}),
        ({"finalizers": None}, {"finalizers": []}),
    ],
)
def test_missing_null_and_empty_metadata_are_the_same(
    old_meta: dict[str, Any], new_meta: dict[str, Any]
) -> None:
    assert object_patch(obj(metadata=old_meta), obj(metadata=new_meta)) is None


def test_a_new_version_without_metadata_drops_labels_annotations_and_finalizers() -> None:
    old = obj(metadata={"labels": {"a": "1"}, "annotations": {"n": "v"}, "finalizers": ["f"]})
    new = {key: value for key, value in old.items() if key != "metadata"}
    assert object_patch(old, new) == {
        "metadata": {
            "labels": {"a": None},
            "annotations": {"n": None},
            "finalizers": [],
            "resourceVersion": "41",
        }
    }


def test_a_missing_spec_is_an_empty_one() -> None:
    assert object_patch(obj(), obj(spec={})) is None
    assert object_patch(obj(), obj(spec={"a": 1})) == {
        "metadata": {"resourceVersion": "41"},
        "spec": {"a": 1},
    }


def test_a_status_patch_is_the_status_diff_at_the_given_version() -> None:
    old = obj(status={"phase": "A", "conditions": [{"type": "Ready"}]}, spec={"x": 1})
    new = obj(status={"phase": "B", "conditions": [{"type": "Ready"}]}, spec={"x": 2})
    assert status_patch(old, new, "42") == {"metadata": {"resourceVersion": "42"}, "status": {"phase": "B"}}


def test_an_unchanged_status_has_no_patch() -> None:
    assert (
        status_patch(obj(status={"a": 1}, spec={"x": 1}), obj(status={"a": 1}, spec={"x": 2}), "42") is None
    )
    assert status_patch(obj(), obj(status={}), "42") is None
    assert status_patch(obj(), obj(), "42") is None


def test_a_status_gone_is_patched_away() -> None:
    assert status_patch(obj(status={"phase": "A"}), obj(), "7") == {
        "metadata": {"resourceVersion": "7"},
        "status": {"phase": None},
    }


def test_a_status_appearing_is_patched_whole() -> None:
    assert status_patch(obj(), obj(status={"phase": "A"}), "7") == {
        "metadata": {"resourceVersion": "7"},
        "status": {"phase": "A"},
    }
