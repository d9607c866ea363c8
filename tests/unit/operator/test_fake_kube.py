"""The fake's semantics the decision tests rely on, as kube-apiserver has them."""

from __future__ import annotations

import copy

import pytest

from elemental_core.vocabulary import HOSTS
from elemental_kube.errors import Conflict, NotFound
from tests.unit.operator.fake_kube import FakeKube


def added(kube: FakeKube) -> dict:
    return kube.add(HOSTS, {"metadata": {"name": "h", "labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}})


def test_changes_are_merged_and_the_version_moves_on() -> None:
    kube = FakeKube()
    before = added(kube)
    after = copy.deepcopy(before)
    del after["metadata"]["labels"]["a"]
    after["spec"]["y"] = 2
    after["status"] = {"phase": "Running"}
    written = kube.apply_changes(HOSTS, before, after)
    assert written["metadata"]["labels"] == {"b": "2"}
    assert written["spec"] == {"x": 1, "y": 2}
    assert written["status"] == {"phase": "Running"}
    assert int(written["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
    assert kube.get(HOSTS, "default", "h") == written


def test_a_stale_before_conflicts_for_spec_and_for_status() -> None:
    kube = FakeKube()
    before = added(kube)
    kube.change(HOSTS, "default", "h", lambda o: o["spec"].update(x=3))
    for change in ({"spec": {"x": 4}}, {"status": {"phase": "Running"}}):
        after = {**copy.deepcopy(before), **change}
        with pytest.raises(Conflict):
            kube.apply_changes(HOSTS, before, after)
    assert (kube.get(HOSTS, "default", "h") or {})["spec"] == {"x": 3}


def test_no_change_writes_nothing_and_a_gone_object_is_not_found() -> None:
    kube = FakeKube()
    before = added(kube)
    assert kube.apply_changes(HOSTS, before, copy.deepcopy(before)) == before
    del kube.objects[HOSTS][("default", "h")]
    with pytest.raises(NotFound):
        kube.apply_changes(HOSTS, before, {**before, "spec": {}})


def test_the_last_finalizer_of_a_deleted_object_takes_it_away() -> None:
    kube = FakeKube()
    kube.add(HOSTS, {"metadata": {"name": "h", "finalizers": ["f"]}})
    kube.delete(HOSTS, "default", "h")
    before = kube.get(HOSTS, "default", "h") or {}
    assert before["metadata"]["deletionTimestamp"]
    kube.apply_changes(HOSTS, before, {**before, "metadata": {**before["metadata"], "finalizers": []}})
    assert kube.get(HOSTS, "default", "h") is None
