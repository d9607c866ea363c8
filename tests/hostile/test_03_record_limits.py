"""Item 3: limits hold for the stored record, not only for each request. 47 PATCHes made a
12 MB host before, and every later check-in answered 12 MB. A patch that would take the
record over a limit is a 400 naming it, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core import hosts
from tests.helpers import HostIdentity, assert_problem
from tests.hostile.conftest import Unchanged


def patch(client: Any, host: HostIdentity, body: dict[str, Any]) -> Any:
    return client.patch(host.path, json=body, headers=host.auth())


def test_labels_are_bounded_across_patches(client: Any, registered: HostIdentity, store: Any) -> None:
    for batch in range(4):  # 4 x 40 new labels: each request is well within its own limit
        response = patch(client, registered, {"labels": {f"l{batch}-{i}": "v" for i in range(40)}})
        if response.status_code != 200:
            break
    else:
        pytest.fail("160 labels were stored")
    assert_problem(response, 400, f"at most {hosts.MAX_HOST_LABELS} labels")
    stored = store.get_host("default", registered.name)
    assert len(stored.labels) <= hosts.MAX_HOST_LABELS


def test_annotations_are_bounded_in_number_across_patches(client: Any, registered: HostIdentity) -> None:
    for batch in range(3):
        response = patch(client, registered, {"annotations": {f"a{batch}-{i}": "v" for i in range(60)}})
        if response.status_code != 200:
            break
    assert_problem(response, 400, f"at most {hosts.MAX_HOST_ANNOTATIONS} annotations")


def test_annotation_bytes_are_bounded_across_patches(
    client: Any, registered: HostIdentity, store: Any
) -> None:
    """The attack as found: annotations of 200 KiB a request, again and again."""
    answers = []
    for batch in range(3):
        answers.append(patch(client, registered, {"annotations": {f"blob-{batch}": "x" * 200 * 1024}}))
    assert answers[0].status_code == 200
    assert_problem(answers[1], 400, "bytes of annotations")
    assert_problem(answers[2], 400, "bytes of annotations")
    stored = store.get_host("default", registered.name)
    assert sum(len(k) + len(v) for k, v in stored.annotations.items()) <= hosts.MAX_HOST_ANNOTATIONS_BYTES
    # Every later check-in answers a bounded host.
    assert len(patch(client, registered, {}).content) < 300 * 1024


def test_conditions_are_bounded_in_number(client: Any, registered: HostIdentity, store: Any) -> None:
    for i in range(hosts.MAX_HOST_CONDITIONS + 1):
        response = patch(client, registered, {"condition": {"type": f"Made{i}", "status": "True"}})
        if response.status_code != 200:
            break
    assert_problem(response, 400, f"at most {hosts.MAX_HOST_CONDITIONS} conditions")
    assert len(store.get_host("default", registered.name).conditions) <= hosts.MAX_HOST_CONDITIONS


def test_conditions_are_bounded_in_size(client: Any, registered: HostIdentity) -> None:
    message = "m" * 10 * 1024  # the largest message the spec allows, on a new type each time
    for i in range(20):
        response = patch(
            client,
            registered,
            {"condition": {"type": f"Big{i}", "status": "False", "severity": "Info", "message": message}},
        )
        if response.status_code != 200:
            break
    else:
        pytest.fail("20 conditions of 10 KiB each were stored")
    assert_problem(response, 400, "bytes of conditions")


def test_a_refused_patch_changes_nothing(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    too_many = {f"k{i}": "v" for i in range(hosts.MAX_HOST_LABELS)}
    assert_problem(patch(client, registered, {"installed": True, "labels": too_many}), 400, "labels")


def test_a_record_over_a_limit_may_still_check_in(client: Any, registered: HostIdentity, store: Any) -> None:
    """The operator writes labels too: a host already over a limit is not locked out, it
    just can't grow further."""
    stored = store.get_host("default", registered.name)
    stored.labels.update({f"o{i}": "v" for i in range(hosts.MAX_HOST_LABELS + 5)})
    store.update_host(stored)
    assert patch(client, registered, {"installed": True, "phase": "Running"}).status_code == 200
    assert_problem(patch(client, registered, {"labels": {"one-more": "v"}}), 400, "labels")
