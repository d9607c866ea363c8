"""Signing keys and bootstrap data are both Secrets: a name clash must not lose either."""

from __future__ import annotations

import pytest

from elemental_api.store import AlreadyExists, Conflict, Store
from elemental_core.records import Bootstrap, Host
from elemental_core.registrations import new_registration
from tests.helpers import make_registration


def test_bootstrap_data_never_overwrites_a_signing_key(store: Store) -> None:
    registration, key = make_registration(store, name="web-bootstrap")
    host = store.create_host(Host(namespace="default", name="web", registration="web-bootstrap"))
    with pytest.raises(Conflict):
        store.attach_bootstrap(host, Bootstrap(config="#cloud-config\n"))
    assert store.get_signing_key(registration) == key.to_pem()


def test_a_registration_never_takes_over_bootstrap_data(store: Store) -> None:
    make_registration(store, name="reg")
    host = store.create_host(Host(namespace="default", name="web", registration="reg"))
    store.attach_bootstrap(host, Bootstrap(config="#cloud-config\n"))
    clash = new_registration(namespace="default", name="web-bootstrap", api_endpoint="http://x")
    with pytest.raises((AlreadyExists, Conflict)):
        store.create_registration(clash)
    stored = store.get_host("default", "web")
    assert stored is not None
    assert store.get_bootstrap(stored) == Bootstrap(config="#cloud-config\n")
