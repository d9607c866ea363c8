"""The host's addresses (issue 14): optional in createHost and patchHost, recorded as the
ElementalHost's `status.addresses` by both stores; a patch that repeats them writes nothing;
a request without them (the Go agent's) leaves them as they are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from elemental_api.store import Store
from elemental_api.store.kubernetes import KubernetesStore
from tests.helpers import HostIdentity, register

ADDRESSES = [
    {"type": "Hostname", "address": "m-1"},
    {"type": "InternalIP", "address": "192.0.2.7"},
    {"type": "InternalIP", "address": "fd00::7"},
]


CRD = (
    Path(__file__).resolve().parents[2]
    / "operator/config/crd/bases/infrastructure.cluster.x-k8s.io_elementalhosts.yaml"
)


def _crd_has_status_addresses() -> bool:
    versions = yaml.safe_load(CRD.read_text())["spec"]["versions"]
    return all(
        "addresses" in v["schema"]["openAPIV3Schema"]["properties"]["status"].get("properties", {})
        for v in versions
    )


@pytest.fixture(autouse=True)
def _waits_for_the_crd_schema(request: pytest.FixtureRequest, store: Store) -> None:
    if isinstance(store, KubernetesStore) and not _crd_has_status_addresses():
        # The ElementalHost CRD's status.addresses is the v1beta2 contract's (branch
        # v1beta2-contract, the x-kubernetes-crds part of openapi.yaml): until it is merged the
        # API server prunes the field. Strict: a CRD without it that kept them would fail.
        request.applymarker(
            pytest.mark.xfail(strict=True, reason="waits for status.addresses in the ElementalHost CRD")
        )


def test_create_records_the_addresses(client: Any, store: Store, host: HostIdentity) -> None:
    assert register(client, host, addresses=ADDRESSES).status_code == 201
    stored = store.get_host("default", host.name)
    assert stored is not None and stored.addresses == ADDRESSES


def test_a_patch_replaces_them_leaving_them_out_keeps_them(
    client: Any, store: Store, host: HostIdentity
) -> None:
    assert register(client, host).status_code == 201
    assert store.get_host("default", host.name).addresses == []  # type: ignore[union-attr]
    patched = client.patch(host.path, headers=host.auth(), json={"phase": "Running", "addresses": ADDRESSES})
    assert patched.status_code == 200
    assert store.get_host("default", host.name).addresses == ADDRESSES  # type: ignore[union-attr]
    version = store.get_host("default", host.name).version  # type: ignore[union-attr]
    # the same again, or none at all (the Go agent's check-in): nothing is written
    for body in ({"phase": "Running", "addresses": ADDRESSES}, {"phase": "Running"}, {}):
        assert client.patch(host.path, headers=host.auth(), json=body).status_code == 200
    stored = store.get_host("default", host.name)
    assert stored is not None and stored.version == version and stored.addresses == ADDRESSES
    client.patch(host.path, headers=host.auth(), json={"addresses": ADDRESSES[:1]})
    assert store.get_host("default", host.name).addresses == ADDRESSES[:1]  # type: ignore[union-attr]
    client.patch(host.path, headers=host.auth(), json={"addresses": []})
    assert store.get_host("default", host.name).addresses == []  # type: ignore[union-attr]
