"""Fixtures of the attack suite: every test runs against both stores (the `store` fixture of
tests/conftest.py), and the live-server tests against `elemental-api serve` (gunicorn
workers on SQLite, tests/live.py).

The registration here assigns its hosts a label and an annotation, as an operator's would
(`tier: gold` puts them into a pool that machines select by label): what a hostile host
tries first is to change them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from elemental_api.store import Store
from tests.helpers import HostIdentity, make_registration, register

ASSIGNED_LABELS = {"tier": "gold"}
ASSIGNED_ANNOTATIONS = {"owner": "ops"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def registration(store: Store) -> Any:
    return make_registration(
        store, host_labels=dict(ASSIGNED_LABELS), host_annotations=dict(ASSIGNED_ANNOTATIONS)
    )[0]


@pytest.fixture
def registered(client: Any, host: HostIdentity) -> HostIdentity:
    response = register(client, host)
    assert response.status_code == 201, response.text
    return host


class Unchanged:
    """Asserts the store holds the same hosts after the block as before it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def snapshot(self) -> list[Any]:
        return sorted(self.store.list_hosts(), key=lambda h: (h.namespace, h.name))

    def __enter__(self) -> Unchanged:
        self.before = self.snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert self.snapshot() == self.before


@pytest.fixture
def unchanged(store: Store, registered: HostIdentity) -> Iterator[Unchanged]:
    with Unchanged(store) as guard:
        yield guard
