"""Item 1 and the interoperability break: the registration's host labels and annotations
are the registration's.

A host could PATCH `tier: platinum` and move itself into another cluster's pool (machines
pick hosts by label selector), and so receive that cluster's bootstrap data. And a
registration whose host labels used a provider-owned key left hosts that could never
register: the agent echoes those labels and the API refused them. Such registrations are
now refused up front (CLI, both stores, CRD admission: test_crd_admission.py), and a host
echoing its registration's own values is always accepted.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from elemental_api.store import Rejected, Store
from elemental_core.registrations import new_registration
from elemental_core.vocabulary import LABEL_CLUSTER_NAME, LABEL_INSTALLED
from tests.helpers import HostIdentity, assert_problem, register
from tests.hostile.conftest import ASSIGNED_ANNOTATIONS, ASSIGNED_LABELS, JSON, Unchanged

OVERRIDES = {
    "label-other-value": {"labels": {"tier": "platinum"}},
    "label-emptied": {"labels": {"tier": ""}},
    "annotation-other-value": {"annotations": {"owner": "attacker"}},
    "annotation-emptied": {"annotations": {"owner": ""}},
    "both": {"labels": {"tier": "platinum"}, "annotations": {"owner": "attacker"}},
}


@pytest.mark.parametrize("change", OVERRIDES.values(), ids=OVERRIDES.keys())
def test_patch_cannot_change_what_the_registration_assigned(
    client: Any, registered: HostIdentity, unchanged: Unchanged, change: dict[str, Any]
) -> None:
    response = client.patch(registered.path, json={"installed": True, **change}, headers=registered.auth())
    assert_problem(response, 400, "set by the registration")


@pytest.mark.parametrize("change", OVERRIDES.values(), ids=OVERRIDES.keys())
def test_create_cannot_change_what_the_registration_assigned(
    client: Any, registration: Any, store: Store, change: dict[str, Any]
) -> None:
    host = HostIdentity(registration, "host-2")
    assert_problem(register(client, host, **change), 400, "set by the registration")
    assert store.get_host("default", host.name) is None


def test_patch_may_repeat_what_the_registration_assigned(
    client: Any, registered: HostIdentity, store: Store
) -> None:
    body = {"labels": {**ASSIGNED_LABELS, "disk": "ssd"}, "annotations": dict(ASSIGNED_ANNOTATIONS)}
    response = client.patch(registered.path, json=body, headers=registered.auth())
    assert response.status_code == 200, response.text
    stored = store.get_host("default", registered.name)
    assert stored is not None
    assert stored.labels["tier"] == "gold" and stored.labels["disk"] == "ssd"
    assert stored.annotations["owner"] == "ops"


def test_go_agent_create_echoing_the_registration_is_accepted(
    client: Any, registration: Any, store: Store
) -> None:
    """The Go agent's createHost body, byte for byte its shape: the registration's labels and
    annotations echoed (json.Marshal of HostCreateRequest, field order name, annotations,
    labels, pubKey), with Content-Type: application/json."""
    host = HostIdentity(registration, "go-host")
    annotations = json.dumps(ASSIGNED_ANNOTATIONS, separators=(",", ":"))
    labels = json.dumps(ASSIGNED_LABELS, separators=(",", ":"))
    pub_key = json.dumps(host.key.public_pem())
    body = f'{{"name":"go-host","annotations":{annotations},"labels":{labels},"pubKey":{pub_key}}}'.encode()
    response = client.post(host.hosts_path, content=body, headers={**host.create_headers(), **JSON})
    assert response.status_code == 201, response.text
    stored = store.get_host("default", "go-host")
    assert stored is not None
    assert stored.labels == ASSIGNED_LABELS and stored.annotations == ASSIGNED_ANNOTATIONS


@pytest.mark.parametrize(
    ("labels", "annotations"),
    [
        ({LABEL_INSTALLED: "true"}, {}),
        ({LABEL_CLUSTER_NAME: "prod"}, {}),
        ({}, {LABEL_CLUSTER_NAME: "prod"}),
        ({}, {"elementalhost.infrastructure.cluster.x-k8s.io/machine-name": "m"}),
    ],
    ids=["label-elementalhost", "label-cluster", "annotation-cluster", "annotation-elementalhost"],
)
def test_store_refuses_a_registration_with_provider_owned_keys(
    store: Store, labels: dict[str, str], annotations: dict[str, str]
) -> None:
    """Upstream accepts them, and then its hosts could never register (their echo is refused)
    or would mark themselves installed and taken: refused, on both stores."""
    draft = new_registration(
        namespace="default",
        name="owned",
        api_endpoint="http://testserver",
        host_labels=labels,
        host_annotations=annotations,
    )
    with pytest.raises(Rejected, match="reserved for the provider"):
        store.create_registration(draft)
    assert store.get_registration("default", "owned") is None


@pytest.mark.parametrize(
    "labels",
    [{"tier": "not valid!"}, {"tier": "v\n"}, {f"k{i}": "v" for i in range(65)}],
    ids=["bad-value", "newline-value", "too-many"],
)
def test_store_refuses_a_registration_whose_labels_no_host_could_carry(
    store: Store, labels: dict[str, str]
) -> None:
    draft = new_registration(
        namespace="default", name="unusable", api_endpoint="http://testserver", host_labels=labels
    )
    with pytest.raises(Rejected):
        store.create_registration(draft)
    assert store.get_registration("default", "unusable") is None


def test_a_registration_stored_before_the_rule_still_lets_its_hosts_register(tmp_path: Any) -> None:
    """A record written before provider-owned keys were refused (an older version's SQLite
    file): its hosts echo that key and still register, with the registration's value."""
    import sqlite3

    from elemental_api.app import create_app
    from elemental_api.store import open_store
    from tests.helpers import make_registration

    path = tmp_path / "old.db"
    store = open_store(f"sqlite:///{path}")
    try:
        registration, _key = make_registration(store, host_labels={"tier": "gold"})
        with sqlite3.connect(path) as db:
            (data,) = db.execute("SELECT data FROM registrations WHERE name='reg'").fetchone()
            fields = json.loads(data)
            fields["host_labels"][LABEL_CLUSTER_NAME] = "prod"
            db.execute("UPDATE registrations SET data=? WHERE name='reg'", (json.dumps(fields),))
        registration = store.get_registration("default", "reg")
        assert registration is not None
        host = HostIdentity(registration, "legacy-host")
        with create_app(store, api_endpoint="http://testserver").test_client() as client:
            response = register(client, host, labels=dict(registration.host_labels))
            assert response.status_code == 201, response.text
            # Its own attempt to set that key, with another value, is still refused.
            other = HostIdentity(registration, "other-host")
            assert_problem(register(client, other, labels={LABEL_CLUSTER_NAME: "staging"}), 400)
        stored = store.get_host("default", "legacy-host")
        assert stored is not None and stored.labels[LABEL_CLUSTER_NAME] == "prod"
    finally:
        store.close()
