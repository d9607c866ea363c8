"""The Manager's own decisions: the namespace scope (at enqueue), one reconcile with its
retry policy, and the command line that builds its options."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.vocabulary import Resource
from elemental_kube.errors import Conflict
from elemental_operator.cli import argument_parser, manager_options
from elemental_operator.controllers.base import ChangeMapper, Mapper, Result
from elemental_operator.manager import (
    enqueue_all,
    enqueue_changed,
    enqueue_mapped,
    enqueue_self,
    in_scope,
    process,
)
from elemental_operator.workqueue import WorkQueue

KEY = ("default", "reg")


def obj(namespace: str, name: str) -> dict[str, Any]:
    return {"metadata": {"namespace": namespace, "name": name}}


def drain(queue: WorkQueue) -> set[tuple[str, str]]:
    keys = set()
    while (key := queue.get(timeout=0)) is not None:
        keys.add(key)
        queue.done(key)
    return keys


@pytest.mark.parametrize(
    ("namespaces", "expected"),
    [
        (None, {("default", "a"), ("other", "b"), ("theirs", "c")}),
        (frozenset({"default", "other"}), {("default", "a"), ("other", "b")}),
    ],
)
def test_only_keys_in_scope_are_queued(
    namespaces: frozenset[str] | None, expected: set[tuple[str, str]]
) -> None:
    objects = [obj("default", "a"), obj("other", "b"), obj("theirs", "c")]
    admits = in_scope(namespaces)

    initial = WorkQueue()
    enqueue_all(initial, objects, admits)
    assert drain(initial) == expected

    events = WorkQueue()
    handler = enqueue_self(events, admits)
    for o in objects:
        handler("ADDED", o, None)
    assert drain(events) == expected

    mapped = WorkQueue()
    to_same_name: Mapper = lambda o: [(o["metadata"]["namespace"], o["metadata"]["name"])]  # noqa: E731
    mapped_handler = enqueue_mapped(mapped, to_same_name, admits)
    for o in objects:
        previous = obj(o["metadata"]["namespace"], f"was-{o['metadata']['name']}")
        mapped_handler("MODIFIED", o, previous)  # the previous version maps too
    assert drain(mapped) == expected | {(ns, f"was-{name}") for ns, name in expected}

    changes = WorkQueue()
    seen: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []

    def record(event: str, o: dict[str, Any], previous: dict[str, Any] | None) -> list[tuple[str, str]]:
        seen.append((event, o, previous))
        return [(o["metadata"]["namespace"], o["metadata"]["name"])]

    recorder: ChangeMapper = record
    changes_handler = enqueue_changed(changes, recorder, admits)
    for o in objects:
        changes_handler("DELETED", o, o)
    assert drain(changes) == expected
    assert seen == [("DELETED", o, o) for o in objects]  # the mapper sees the change itself


class Controller:
    """A controller whose reconcile does what it is told (the Controller protocol)."""

    name = "test"
    resource = Resource("g", "v", "things", "Thing")

    def __init__(self, *outcomes: Result | Exception) -> None:
        self.outcomes = list(outcomes)
        self.reconciled = 0

    def reconcile(self, namespace: str, name: str) -> Result:
        self.reconciled += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def watches(self) -> dict[Resource, Mapper]:
        return {}

    def change_watches(self) -> dict[Resource, ChangeMapper]:
        return {}


def run_until_idle(controller: Controller, queue: WorkQueue) -> None:
    """Processes keys while any is queued or scheduled."""
    while queue.depth():
        key = queue.get(timeout=5)
        assert key is not None
        process(controller, queue, key)


@pytest.mark.parametrize("failure", [RuntimeError("bug"), Conflict("changed")], ids=["unexpected", "kube"])
def test_a_failing_reconcile_is_retried_a_bounded_number_of_times(failure: Exception) -> None:
    controller = Controller(failure)
    queue = WorkQueue(base_delay=0.001, max_delay=0.002, max_retries=3)
    queue.add(KEY)
    run_until_idle(controller, queue)
    assert controller.reconciled == 4  # the first try and three retries
    assert queue.depth() == 0


def test_a_success_forgets_the_failures() -> None:
    controller = Controller(RuntimeError("once"), RuntimeError("twice"), Result(), RuntimeError("later"))
    queue = WorkQueue(base_delay=0.001, max_retries=2)
    queue.add(KEY)
    run_until_idle(controller, queue)
    assert controller.reconciled == 3  # two failures, then a success: done
    queue.add(KEY)  # the object changes, and the reconcile fails from now on
    run_until_idle(controller, queue)
    assert controller.reconciled == 3 + 1 + 2  # the full two retries again


def test_a_requeue_asked_for_is_scheduled() -> None:
    queue = WorkQueue()
    queue.add(KEY)
    key = queue.get(timeout=1)
    assert key == KEY
    process(Controller(Result(requeue_after=30)), queue, key)
    assert queue.depth() == 1
    assert queue.get(timeout=0) is None  # not before its time


def parse(*argv: str) -> Any:
    return manager_options(
        argument_parser().parse_args(["run", "--api-endpoint", "https://e.example", *argv])
    )


def test_namespace_is_repeatable_and_defaults_to_every_namespace() -> None:
    assert parse().namespaces is None
    options = parse("--namespace", "default", "--namespace", "other", "--namespace", "default")
    assert options.namespaces == frozenset({"default", "other"})
    assert options.settings.api_endpoint == "https://e.example"
