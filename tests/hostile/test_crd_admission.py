"""The interoperability break, on Kubernetes: kube-apiserver itself refuses an
ElementalRegistration whose host labels or annotations use a provider-owned key, have more
entries than a host can carry, or a label value no label can have (the CRD's rules,
generated from openapi.yaml). So no registration, however it is made (kubectl, GitOps, the
CLI), can leave hosts that never register. The store's `Rejected` comes from here."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from elemental_api.store import Rejected
from elemental_api.store.kubernetes import KubernetesStore
from elemental_core import names
from elemental_core.registrations import new_registration
from elemental_core.vocabulary import GROUP, REGISTRATIONS, VERSION
from tests.controlplane import ControlPlane

pytest_plugins = ["tests.kube_fixtures"]

REFUSED: dict[str, dict[str, Any]] = {
    "label-cluster-x-k8s-io": {"hostLabels": {"cluster.x-k8s.io/cluster-name": "prod"}},
    "label-elementalhost": {
        "hostLabels": {"elementalhost.infrastructure.cluster.x-k8s.io/installed": "true"}
    },
    "annotation-cluster-x-k8s-io": {"hostAnnotations": {"cluster.x-k8s.io/paused": ""}},
    "annotation-elementalhost": {
        "hostAnnotations": {"elementalhost.infrastructure.cluster.x-k8s.io/machine-name": "m"}
    },
    "label-value": {"hostLabels": {"tier": "not a label value!"}},
    "too-many-labels": {"hostLabels": {f"k{i}": "v" for i in range(names.MAX_REGISTRATION_HOST_LABELS + 1)}},
}


def create(control_plane: ControlPlane, namespace: str, spec: dict[str, Any]) -> None:
    body = {
        "apiVersion": REGISTRATIONS.api_version,
        "kind": REGISTRATIONS.kind,
        "metadata": {"name": "reg", "namespace": namespace},
        "spec": spec,
    }
    with control_plane.api_client() as api:
        k8s.CustomObjectsApi(api).create_namespaced_custom_object(
            GROUP, VERSION, namespace, REGISTRATIONS.plural, body
        )


@pytest.mark.parametrize("spec", REFUSED.values(), ids=REFUSED.keys())
def test_kube_apiserver_refuses_the_registration(
    control_plane: ControlPlane, kube_namespace: str, spec: dict[str, Any]
) -> None:
    with pytest.raises(ApiException) as refused:
        create(control_plane, kube_namespace, spec)
    assert refused.value.status == 422, refused.value.body


def test_a_registration_with_its_own_keys_is_admitted(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    create(
        control_plane,
        kube_namespace,
        {
            "hostLabels": {"tier": "gold", "example.com/rack": "r-7", "empty": ""},
            "hostAnnotations": {"o": "x y"},
        },
    )


def test_the_store_maps_the_refusal_to_rejected(
    control_plane: ControlPlane, kube_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the store's own check out of the way, kube-apiserver's refusal is `Rejected`
    (which the API answers 400), never a server error."""
    monkeypatch.setattr(names, "check_registration_metadata", lambda labels, annotations: None)
    store = KubernetesStore(kubeconfig=str(control_plane.kubeconfig_path), watch=False)
    try:
        draft = new_registration(
            namespace=kube_namespace,
            name="reg",
            api_endpoint="http://testserver",
            host_labels={"cluster.x-k8s.io/cluster-name": "prod"},
        )
        with pytest.raises(Rejected):
            store.create_registration(draft)
    finally:
        store.close()
