"""Smoke test of the CAPI harness: the released core manager (controllers, conversion and
admission webhooks) and kube-controller-manager's garbage collector over the test control
plane, everything on loopback."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any, cast

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client import ApiException

from tests.capi.manager import ClusterAPIManager, KubeControllerManager, listening_addresses
from tests.controlplane import LOOPBACK, ControlPlane
from tests.helpers import wait_for

GROUP = "cluster.x-k8s.io"
PLURAL = "clusters"
INFRA_GROUP = "infrastructure.cluster.x-k8s.io"
FINALIZER = "cluster.cluster.x-k8s.io"
Obj = dict[str, Any]
# What kube-apiserver logs when it cannot call a webhook.
APISERVER_WEBHOOK_TROUBLE = re.compile(r"failed calling webhook|conversion webhook|x509:|TLS handshake", re.I)


class Harness:
    def __init__(self, cp: ControlPlane, kcm: KubeControllerManager, capi: ClusterAPIManager) -> None:
        self.cp, self.kcm, self.capi = cp, kcm, capi


# An infrastructure kind that does nothing: CAPI reads the contract version of what
# spec.infrastructureRef names from its CRD's label (here the v1beta2 contract, served as v1beta1).
PRESERVE = "x-kubernetes-preserve-unknown-fields"
INFRA_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {
        "name": f"testclusters.{INFRA_GROUP}",
        "labels": {f"{GROUP}/v1beta2": "v1beta1"},
    },
    "spec": {
        "group": INFRA_GROUP,
        "names": {"kind": "TestCluster", "listKind": "TestClusterList", "plural": "testclusters"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1beta1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", PRESERVE: True}},
            }
        ],
    },
}


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    infra_crd = tmp_path_factory.mktemp("crds") / "testclusters.yaml"
    infra_crd.write_text(yaml.safe_dump(INFRA_CRD))
    with (
        ControlPlane(crd_paths=[infra_crd]) as cp,
        ClusterAPIManager(cp) as capi,
        KubeControllerManager(cp) as kcm,  # after the CRDs: its collector watches them
    ):
        yield Harness(cp, kcm, capi)


@pytest.fixture(autouse=True)
def no_webhook_trouble(harness: Harness) -> Iterator[None]:
    """After each test: neither the manager nor kube-apiserver logged TLS/webhook errors."""
    yield
    assert harness.capi.webhook_errors() == []
    log = (harness.cp.workdir / "kube-apiserver.log").read_text(errors="replace")
    assert [line for line in log.splitlines() if APISERVER_WEBHOOK_TROUBLE.search(line)] == []


@pytest.fixture
def namespace(harness: Harness) -> str:
    name = f"capi-{secrets.token_hex(4)}"
    harness.cp.create_namespace(name)
    return name


def cluster_body(name: str, **spec: Any) -> Obj:
    return {
        "apiVersion": f"{GROUP}/v1beta2",
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": spec
        or {
            "infrastructureRef": {"apiGroup": INFRA_GROUP, "kind": "TestCluster", "name": name},
            "controlPlaneEndpoint": {"host": "10.1.2.3", "port": 6443},
        },
    }


def get_cluster(harness: Harness, namespace: str, name: str, version: str = "v1beta2") -> Obj:
    with harness.cp.api_client() as api:
        got = k8s.CustomObjectsApi(api).get_namespaced_custom_object(GROUP, version, namespace, PLURAL, name)
        return cast(Obj, got)


def create_cluster(harness: Harness, namespace: str, body: Obj) -> Obj:
    """The Cluster, and the TestCluster its infrastructureRef names."""
    with harness.cp.api_client() as api:
        objects = k8s.CustomObjectsApi(api)
        name = body["metadata"]["name"]
        if "infrastructureRef" in body["spec"]:
            infra = {"apiVersion": f"{INFRA_GROUP}/v1beta1", "kind": "TestCluster"}
            infra["metadata"] = {"name": name}
            objects.create_namespaced_custom_object(INFRA_GROUP, "v1beta1", namespace, "testclusters", infra)
        created = objects.create_namespaced_custom_object(GROUP, "v1beta2", namespace, PLURAL, body)
        return cast(Obj, created)


def reconciled(cluster: Obj) -> bool:
    """CAPI's Cluster controller has been here: finalizer, observedGeneration, conditions."""
    status = cluster.get("status") or {}
    return (
        FINALIZER in cluster["metadata"].get("finalizers", [])
        and status.get("observedGeneration") == cluster["metadata"]["generation"]
        and bool(status.get("conditions"))
    )


def test_the_harness_runs_the_pinned_release_on_loopback_only(harness: Harness) -> None:
    assert re.fullmatch(r"v1\.14\.\d+", harness.capi.version)
    for pid in (harness.capi.pid, harness.kcm.pid):
        addresses = listening_addresses(pid)
        assert addresses, "no listeners found"
        assert {host for host, _ in addresses} == {LOOPBACK}
    capi_ports = {port for _, port in listening_addresses(harness.capi.pid)}
    assert {harness.capi.webhook_port, harness.capi.health_port, harness.capi.diagnostics_port} <= capi_ports


def test_the_validating_webhook_rejects_a_cluster_without_references(
    harness: Harness, namespace: str
) -> None:
    with pytest.raises(ApiException) as raised:
        create_cluster(harness, namespace, cluster_body("no-refs", paused=False))

    assert raised.value.status == 422
    assert "one of spec.controlPlaneRef, spec.infrastructureRef or spec.topology" in str(raised.value.body)


def test_a_v1beta2_cluster_is_reconciled_and_served_as_v1beta1(harness: Harness, namespace: str) -> None:
    create_cluster(harness, namespace, cluster_body("c1"))

    def reconciled_cluster() -> Obj | None:
        cluster = get_cluster(harness, namespace, "c1")
        return cluster if reconciled(cluster) else None

    cluster = wait_for(
        reconciled_cluster,
        timeout=60,
        what="the Cluster reconciled by CAPI",
    )
    # Served through the conversion webhook; v1beta2 conditions land under status.v1beta2.
    old = get_cluster(harness, namespace, "c1", version="v1beta1")

    assert old["apiVersion"] == f"{GROUP}/v1beta1"
    # v1beta1 references carry an apiVersion, looked up from the CRD's contract label.
    assert old["spec"]["infrastructureRef"] == {
        "apiVersion": f"{INFRA_GROUP}/v1beta1",
        "kind": "TestCluster",
        "name": "c1",
        "namespace": namespace,
    }
    assert old["spec"]["controlPlaneEndpoint"] == {"host": "10.1.2.3", "port": 6443}
    new_types = {c["type"] for c in cluster["status"]["conditions"]}
    old_types = {c["type"] for c in old["status"]["v1beta2"]["conditions"]}
    assert old_types == new_types


def test_the_garbage_collector_deletes_what_a_deleted_cluster_owned(harness: Harness, namespace: str) -> None:
    cluster = create_cluster(harness, namespace, cluster_body("owner"))
    owner = k8s.V1OwnerReference(
        api_version=f"{GROUP}/v1beta2", kind="Cluster", name="owner", uid=cluster["metadata"]["uid"]
    )
    with harness.cp.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_config_map(
            namespace,
            k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="owned", owner_references=[owner])),
        )
        wait_for(
            lambda: FINALIZER in get_cluster(harness, namespace, "owner")["metadata"].get("finalizers", []),
            timeout=60,
            what="CAPI's finalizer on the Cluster",
        )

        objects = k8s.CustomObjectsApi(api)
        objects.delete_namespaced_custom_object(GROUP, "v1beta2", namespace, PLURAL, "owner")

        def gone(read: Any) -> bool:
            try:
                read()
            except ApiException as exc:
                if exc.status == 404:
                    return True
                raise
            return False

        wait_for(
            lambda: gone(lambda: get_cluster(harness, namespace, "owner")),
            timeout=60,
            what="CAPI to finish deleting the Cluster",
        )
        wait_for(
            lambda: gone(lambda: core.read_namespaced_config_map("owned", namespace)),
            timeout=60,
            what="the garbage collector to delete the ConfigMap the Cluster owned",
        )
