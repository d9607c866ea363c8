"""Fixtures: a store per backend, the real connexion app over it, and an HTTP client.

Every API test runs against each store backend in STORE_BACKENDS (connexion's trick of one
app fixture per variant).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from elemental_api.app import create_app
from elemental_api.store import Store, open_store
from tests.helpers import HostIdentity, make_registration

STORE_BACKENDS = ["sqlite"]


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'elemental.db'}")
    else:  # pragma: no cover - other backends join in later issues
        raise ValueError(request.param)
    yield opened
    opened.close()


@pytest.fixture
def app(store: Store) -> Any:
    return create_app(store, api_endpoint="http://testserver", validate_responses=True)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def registration(store: Store) -> Any:
    return make_registration(store)[0]


@pytest.fixture
def host(registration: Any) -> HostIdentity:
    return HostIdentity(registration, "host-1")
