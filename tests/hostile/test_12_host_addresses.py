"""Item 12: the addresses a host reports (they end up in ElementalMachine.status.addresses,
which Cluster API copies to the Machine and users read with kubectl) are bounded in number
and length, one of Cluster API's five types, printable ASCII without spaces or control
characters; a refused request stores nothing, at create or on patch."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_api.store import Store
from tests.helpers import HostIdentity, assert_problem, register
from tests.hostile.conftest import Unchanged

GOOD = {"type": "InternalIP", "address": "192.0.2.7"}
BAD_ADDRESSES: dict[str, Any] = {
    "too-many": [GOOD] * 33,
    "unknown-type": [{"type": "NodeIP", "address": "192.0.2.7"}],
    "no-type": [{"address": "192.0.2.7"}],
    "no-address": [{"type": "InternalIP"}],
    "empty-address": [{"type": "InternalIP", "address": ""}],
    "too-long": [{"type": "InternalDNS", "address": "a" * 254}],
    "space": [{"type": "Hostname", "address": "my host"}],
    "newline": [{"type": "Hostname", "address": "my-host\n"}],
    "terminal-escape": [{"type": "Hostname", "address": "\x1b[2Jmy-host"}],
    "non-ascii": [{"type": "Hostname", "address": "hôte"}],
    "not-a-list": {"type": "InternalIP", "address": "192.0.2.7"},
    "not-an-object": ["192.0.2.7"],
    "null-item": [None],
}


@pytest.mark.parametrize("addresses", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_bad_addresses_are_refused_on_patch(
    client: Any, registered: HostIdentity, unchanged: Unchanged, addresses: Any
) -> None:
    response = client.patch(
        registered.path, json={"phase": "Running", "addresses": addresses}, headers=registered.auth()
    )
    assert_problem(response, 400, "addresses")


@pytest.mark.parametrize("addresses", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_bad_addresses_are_refused_at_create(
    client: Any, store: Store, host: HostIdentity, addresses: Any
) -> None:
    with Unchanged(store):
        assert_problem(register(client, host, addresses=addresses), 400, "addresses")
    assert store.get_host("default", host.name) is None


def test_the_bounds_themselves_are_accepted(client: Any, store: Store, registered: HostIdentity) -> None:
    addresses = [{"type": "InternalDNS", "address": "a" * 253}] + [GOOD] * 31
    response = client.patch(registered.path, json={"addresses": addresses}, headers=registered.auth())
    assert response.status_code == 200, response.text
