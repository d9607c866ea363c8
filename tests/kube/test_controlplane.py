"""The test control plane itself: a real kube-apiserver with Cluster API's own Cluster and
Machine CRDs installed (from the release scripts/envtest builds, without conversion webhook)."""

from __future__ import annotations

import ssl
from typing import Any, cast

import httpx
import pytest
import urllib3
from kubernetes import client as k8s

from tests.controlplane import ControlPlane, ControlPlaneError

# Registered as a plugin (not imported) so all modules share one session control plane.
pytest_plugins = ["tests.kube_fixtures"]

GROUP = "cluster.x-k8s.io"
VERSION = "v1beta2"
Obj = dict[str, Any]


def create_object(cp: ControlPlane, namespace: str, plural: str, body: Obj) -> Obj:
    with cp.api_client() as api:
        objects = k8s.CustomObjectsApi(api)
        created = objects.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, body)
        return cast(Obj, created)


def get_object(objects: k8s.CustomObjectsApi, namespace: str, plural: str, name: str) -> Obj:
    got = objects.get_namespaced_custom_object(GROUP, VERSION, namespace, plural, name)
    return cast(Obj, got)


def cluster_body(name: str) -> Obj:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {
            "infrastructureRef": {
                "apiGroup": "infrastructure.cluster.x-k8s.io",
                "kind": "ElementalCluster",
                "name": name,
            },
            "controlPlaneEndpoint": {"host": "10.1.2.3", "port": 6443},
        },
    }


def test_api_server_answers_with_token_only(control_plane: ControlPlane) -> None:
    with control_plane.api_client() as api:
        items = k8s.CoreV1Api(api).list_namespace().items
    names = {ns.metadata.name for ns in items if ns.metadata}

    assert {"default", "kube-system"} <= names

    context = ssl.create_default_context(cafile=str(control_plane.ca_path))
    with httpx.Client(verify=context) as http:
        bad = http.get(
            f"{control_plane.server_url}/api/v1/namespaces",
            headers={"Authorization": "Bearer not-the-token"},
        )
        anonymous = http.get(f"{control_plane.server_url}/api/v1/namespaces")
    assert bad.status_code == 401
    assert anonymous.status_code == 403  # RBAC is on: anonymous users may not list


def test_capi_crds_are_established(control_plane: ControlPlane) -> None:
    with control_plane.api_client() as api:
        ext = k8s.ApiextensionsV1Api(api)
        for name in ("clusters.cluster.x-k8s.io", "machines.cluster.x-k8s.io"):
            crd = ext.read_custom_resource_definition(name)
            assert crd.status and crd.status.conditions
            conditions = {c.type: c.status for c in crd.status.conditions}
            assert conditions["Established"] == "True"
            # Cluster API's own CRD: both versions served, v1beta2 stored, and no conversion
            # webhook (none runs here) between them.
            assert [v.name for v in crd.spec.versions if v.served] == ["v1beta1", VERSION]
            assert [v.name for v in crd.spec.versions if v.storage] == [VERSION]
            assert crd.spec.conversion.strategy == "None"
            assert crd.metadata.annotations["controller-gen.kubebuilder.io/version"]


def test_cluster_and_machine_are_cluster_api_v1beta2(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    """The real schemas: v1beta2 spec and status fields are kept, others are pruned, and a
    v1beta1-shaped reference is refused."""
    cluster = create_object(control_plane, kube_namespace, "clusters", cluster_body("c1"))
    machine_spec = {
        "clusterName": "c1",
        "bootstrap": {"dataSecretName": "c1-bootstrap"},
        "infrastructureRef": {
            "apiGroup": "infrastructure.cluster.x-k8s.io",
            "kind": "ElementalMachine",
            "name": "m1",
        },
        "providerID": "elemental://m1",
        "failureDomain": "zone-a",
    }
    machine = create_object(
        control_plane,
        kube_namespace,
        "machines",
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Machine",
            "metadata": {"name": "m1"},
            "spec": {**machine_spec, "notAField": True},
        },
    )
    assert cluster["metadata"]["uid"] and machine["metadata"]["uid"]

    condition = {
        "type": "ControlPlaneInitialized",
        "status": "True",
        "reason": "Initialized",
        "message": "",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }
    cluster_status = {
        "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
        "phase": "Provisioned",
        "conditions": [condition],
    }
    with control_plane.api_client() as api:
        objects = k8s.CustomObjectsApi(api)
        # Status is a subresource: it is only written through the /status endpoint.
        objects.patch_namespaced_custom_object_status(
            GROUP, VERSION, kube_namespace, "clusters", "c1", {"status": cluster_status}
        )
        machine_status = {
            "initialization": {"infrastructureProvisioned": True},
            "nodeRef": {"name": "node-1"},
        }
        objects.patch_namespaced_custom_object_status(
            GROUP, VERSION, kube_namespace, "machines", "m1", {"status": machine_status}
        )
        got_cluster = get_object(objects, kube_namespace, "clusters", "c1")
        got_machine = get_object(objects, kube_namespace, "machines", "m1")
        with pytest.raises(k8s.ApiException) as refused:
            body = cluster_body("v1beta1-ref")
            body["spec"]["infrastructureRef"] = {
                "apiVersion": "infrastructure.cluster.x-k8s.io/v1beta1",
                "kind": "ElementalCluster",
                "name": "x",
            }
            objects.create_namespaced_custom_object(GROUP, VERSION, kube_namespace, "clusters", body)

    assert refused.value.status == 422
    assert got_cluster["spec"] == cluster_body("c1")["spec"]
    assert {k: got_cluster["status"][k] for k in cluster_status} == cluster_status
    assert got_machine["spec"] == machine_spec
    assert got_machine["status"] == machine_status


def test_kubectl_uses_the_kubeconfig(control_plane: ControlPlane, kube_namespace: str) -> None:
    create_object(control_plane, kube_namespace, "clusters", cluster_body("via-kubectl"))

    result = control_plane.kubectl("get", "clusters", "-n", kube_namespace, "-o", "name")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cluster.cluster.x-k8s.io/via-kubectl"]


@pytest.mark.parametrize("graceful", [True, False], ids=["sigterm", "sigkill"])
def test_apiserver_restart_keeps_data_and_clients_recover(
    control_plane: ControlPlane, kube_namespace: str, graceful: bool
) -> None:
    create_object(control_plane, kube_namespace, "clusters", cluster_body("survivor"))
    config = control_plane.configuration()
    config.retries = 0  # fail fast while the API server is down; no urllib3 retries
    with k8s.ApiClient(config) as api:
        objects = k8s.CustomObjectsApi(api)

        control_plane.stop(graceful=graceful)
        try:
            assert not control_plane.running
            with pytest.raises(urllib3.exceptions.HTTPError):
                objects.list_namespaced_custom_object(GROUP, VERSION, kube_namespace, "clusters")
        finally:
            control_plane.start()  # the control plane is shared by the whole session
        # The same client object works again once the API server is back.
        got = get_object(objects, kube_namespace, "clusters", "survivor")
    assert got["spec"]["controlPlaneEndpoint"] == {"host": "10.1.2.3", "port": 6443}


def test_failed_start_reports_the_logs_and_cleans_up() -> None:
    control_plane = ControlPlane(startup_timeout=0.01)  # too short for anything to come up

    with pytest.raises(ControlPlaneError, match=r"etcd not healthy[\s\S]*etcd\.log"):
        control_plane.__enter__()

    assert not control_plane.workdir.exists()
