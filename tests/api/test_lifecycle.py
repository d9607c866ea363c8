"""The operations' success paths and a whole host lifecycle, through the real HTTP app."""

from __future__ import annotations

from typing import Any

from elemental_api.store import Store
from elemental_core.records import Bootstrap
from elemental_core.vocabulary import LABEL_BOOTSTRAPPED, LABEL_INSTALLED, LABEL_NEEDS_RESET
from tests.helpers import HostIdentity, make_registration, register, registration_path, wait_for


def test_get_registration_returns_config_with_defaults(client: Any, registration: Any) -> None:
    response = client.get(
        registration_path(registration),
        headers={"Registration-Authorization": f"Bearer {registration.token}"},
    )
    assert response.status_code == 200
    body = response.json()
    config = body["config"]["elemental"]
    assert config["registration"]["uri"] == registration.uri
    assert config["registration"]["token"] == registration.token
    assert config["agent"]["reconciliation"] == 10_000_000_000
    assert config["agent"]["workDir"] == "/var/lib/elemental/agent"
    assert config["agent"]["osPlugin"] == "/usr/lib/elemental/plugins/elemental.so"


def test_create_host_applies_registration_labels_and_answers_location(client: Any, store: Store) -> None:
    registration, _ = make_registration(
        store, name="labelled", host_labels={"site": "edge-1"}, host_annotations={"owner": "ops"}
    )
    host = HostIdentity(registration, "m-1")
    response = register(client, host, labels={"rack": "r7"})
    assert response.status_code == 201
    assert response.headers["location"] == (
        "/elemental/v1/namespaces/default/registrations/labelled/hosts/m-1"
    )
    assert "content-type" not in response.headers  # no body, so no media type
    stored = store.get_host("default", "m-1")
    assert stored is not None
    assert stored.labels == {"site": "edge-1", "rack": "r7"}
    assert stored.annotations == {"owner": "ops"}
    assert stored.registration == "labelled"
    assert stored.pub_key == host.key.public_pem()


def test_create_existing_host_is_a_conflict(client: Any, host: HostIdentity) -> None:
    assert register(client, host).status_code == 201
    response = register(client, host)
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"


def test_patch_sets_labels_condition_summary_and_phase(client: Any, store: Store, host: HostIdentity) -> None:
    register(client, host)
    response = client.patch(
        host.path,
        headers=host.auth(),
        json={
            "installed": True,
            "labels": {"disk": "ssd"},
            "annotations": {"note": "x"},
            "phase": "Running",
            "condition": {
                "type": "BootstrapReady",
                "status": "False",
                "severity": "Info",
                "reason": "WaitingForBootstrap",
                "message": "waiting",
                "lastTransitionTime": None,
            },
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["installed"] is True
    assert body["bootstrapReady"] is False
    assert body["needsReset"] is False
    assert body["labels"][LABEL_INSTALLED] == "true"
    assert body["labels"]["disk"] == "ssd"
    stored = store.get_host("default", host.name)
    assert stored is not None
    assert stored.phase == "Running"
    ready = next(c for c in stored.conditions if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["severity"]) == (
        "False",
        "WaitingForBootstrap",
        "Info",
    )
    # Installed: the two conditions that implies, as the operator sets them. On Kubernetes the
    # registration wrote HostReachable too, as the operator would have.
    on_kubernetes = type(store).__name__ == "KubernetesStore"
    implied = ["InstallationReady", "RegistrationReady"]
    expected = ["Ready", "BootstrapReady", *(["HostReachable"] if on_kubernetes else []), *implied]
    assert [c["type"] for c in stored.conditions] == expected
    assert all(c["status"] == "True" for c in stored.conditions if c["type"] in implied)


def test_noop_patch_writes_nothing(client: Any, store: Store, host: HostIdentity) -> None:
    register(client, host)
    client.patch(host.path, headers=host.auth(), json={"installed": True})
    version = store.get_host("default", host.name).version  # type: ignore[union-attr]
    for _ in range(3):
        assert client.patch(host.path, headers=host.auth(), json={"installed": True}).status_code == 200
        assert client.patch(host.path, headers=host.auth(), json={}).status_code == 200
    assert store.get_host("default", host.name).version == version  # type: ignore[union-attr]


def test_bootstrapped_refused_without_bootstrap_data(client: Any, store: Store, host: HostIdentity) -> None:
    register(client, host)
    response = client.patch(host.path, headers=host.auth(), json={"bootstrapped": True})
    assert response.status_code == 400
    assert "bootstrap" in response.json()["detail"]
    assert LABEL_BOOTSTRAPPED not in store.get_host("default", host.name).labels  # type: ignore[union-attr]


def test_bootstrap_is_404_until_attached(client: Any, store: Store, host: HostIdentity) -> None:
    register(client, host)
    assert client.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 404
    stored = store.get_host("default", host.name)
    assert stored is not None
    store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\nruncmd: []\n", format="cloud-config"))
    response = client.get(f"{host.path}/bootstrap", headers=host.auth())
    assert response.status_code == 200
    assert response.json() == {"config": "#cloud-config\nruncmd: []\n", "format": "cloud-config"}


def test_full_lifecycle_register_install_bootstrap_delete_reset_gone(
    client: Any, store: Store, host: HostIdentity, host_controller: None
) -> None:
    assert register(client, host).status_code == 201
    assert client.patch(host.path, headers=host.auth(), json={"installed": True}).json()["installed"]

    stored = store.get_host("default", host.name)
    assert stored is not None
    store.attach_bootstrap(stored, Bootstrap(config="#cloud-config\n"))
    patched = client.patch(host.path, headers=host.auth(), json={}).json()
    assert patched["bootstrapReady"] is True
    assert client.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 200
    assert client.patch(host.path, headers=host.auth(), json={"bootstrapped": True}).json()["bootstrapped"]

    deleted = client.delete(host.path, headers=host.auth())
    assert deleted.status_code == 202
    assert "content-type" not in deleted.headers
    assert client.delete(host.path, headers=host.auth()).status_code == 202  # again: still accepted
    after_delete = client.patch(host.path, headers=host.auth(), json={}).json()
    assert after_delete["needsReset"] is True
    assert store.get_host("default", host.name).labels[LABEL_NEEDS_RESET] == "true"  # type: ignore[union-attr]

    reset = client.patch(host.path, headers=host.auth(), json={"reset": True})
    assert reset.status_code == 200
    # At once on the embedded store; on Kubernetes once the operator removed the finalizer.
    wait_for(lambda: store.get_host("default", host.name) is None, what="the reset host gone")
    assert client.patch(host.path, headers=host.auth(), json={}).status_code == 404
    # The same machine can register again as a fresh host.
    assert register(client, host).status_code == 201


def test_bodies_without_content_type_are_read_as_json(client: Any, store: Store, host: HostIdentity) -> None:
    """The Go agent sends its JSON bodies with no Content-Type header."""
    import json

    headers = {k: v for k, v in host.create_headers().items()}
    response = client.post(host.hosts_path, content=json.dumps(host.create_body()).encode(), headers=headers)
    assert response.status_code == 201
    patch = client.patch(host.path, content=b'{"installed": true}', headers=host.auth())
    assert patch.status_code == 200, patch.text
    assert patch.json()["installed"] is True
