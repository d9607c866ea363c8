"""Each program names itself in the objects it writes (managedFields), not the Kubernetes
client's default (`OpenAPI-Generator`): `kubectl get -o yaml --show-managed-fields` then
says which program changed what."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from elemental_api.store import open_store
from elemental_core.records import Host
from elemental_core.vocabulary import GROUP, VERSION
from tests.controlplane import ControlPlane
from tests.helpers import make_registration, wait_for
from tests.inprocess_operator import RunningOperator


def managers(obj: dict[str, Any]) -> set[str]:
    return {entry["manager"] for entry in obj["metadata"].get("managedFields") or []}


def test_the_api_and_the_operator_write_under_their_own_names(
    control_plane: ControlPlane, kube_namespace: str, operator_beside_the_api: RunningOperator
) -> None:
    store = open_store("kubernetes", kubeconfig=str(control_plane.kubeconfig_path))
    try:
        registration, _key = make_registration(store, name="named", namespace=kube_namespace)
        store.create_host(Host(namespace=kube_namespace, name="host-1", registration=registration.name))
    finally:
        store.close()
    with control_plane.api_client() as api:
        custom = k8s.CustomObjectsApi(api)
        written = wait_for(
            lambda: (
                (
                    r := custom.get_namespaced_custom_object(
                        GROUP, VERSION, kube_namespace, "elementalregistrations", "named"
                    )
                )
                and "elemental-operator" in managers(r)
                and r
            ),
            what="the operator's completion of the registration",
        )
        host = custom.get_namespaced_custom_object(GROUP, VERSION, kube_namespace, "elementalhosts", "host-1")
    assert managers(written) == {"elemental-api", "elemental-operator"}
    assert managers(host) == {"elemental-api"}
