"""ElementalCluster: owner Cluster, controlPlaneEndpoint validity, Ready; the templates are
accepted as they are."""

from __future__ import annotations

from typing import Any

from tests.operator.capi import CLUSTERS, ECLUSTERS, Capi, condition, is_true, reason


def owned_by(capi: Capi, cluster: str) -> dict[str, Any]:
    uid = (capi.get(CLUSTERS, cluster) or {})["metadata"]["uid"]
    return {
        "ownerReferences": [
            {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "name": cluster, "uid": uid}
        ]
    }


def test_missing_owner_then_owner_with_endpoint_is_ready(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.create(ECLUSTERS, "ec", {"spec": {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}}})
    ec = capi.wait_reason(ECLUSTERS, "ec", "CAPIClusterReady", "MissingClusterOwner")
    assert reason(ec, "Ready") == "MissingClusterOwner"
    assert not ec["status"].get("ready")

    capi.cluster("cluster")
    capi.patch(ECLUSTERS, "ec", {"metadata": owned_by(capi, "cluster")})
    ec = capi.wait(ECLUSTERS, "ec", lambda o: bool(o["status"].get("ready")))
    for kind in ("Ready", "CAPIClusterReady", "ControlPlaneEndpointReady"):
        assert is_true(ec, kind), ec["status"]
        assert (condition(ec, kind) or {})["reason"] == "Ready"
    assert ec["status"]["initialization"] == {"provisioned": True}  # the v1beta2 contract


def test_owner_reference_to_a_cluster_not_there_yet(start_operator: Any, capi: Capi) -> None:
    """An owner that does not exist is no owner (upstream fetches it); the Cluster's arrival
    wakes the ElementalCluster its infrastructureRef names."""
    start_operator()
    reference = {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Cluster", "name": "cluster", "uid": "0"}
    capi.create(
        ECLUSTERS,
        "cluster",
        {
            "metadata": {"ownerReferences": [reference]},
            "spec": {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}},
        },
    )
    ec = capi.wait_reason(ECLUSTERS, "cluster", "CAPIClusterReady", "MissingClusterOwner")
    assert (condition(ec, "CAPIClusterReady") or {})["severity"] == "Error"
    capi.cluster("cluster")  # its spec.infrastructureRef names the ElementalCluster "cluster"
    capi.wait(ECLUSTERS, "cluster", lambda o: bool(o["status"].get("ready")))


def test_missing_endpoint_is_reported_and_ready_follows_it(start_operator: Any, capi: Capi) -> None:
    start_operator()
    capi.cluster("cluster")
    capi.create(ECLUSTERS, "ec", {"metadata": owned_by(capi, "cluster"), "spec": {}})
    ec = capi.wait_reason(ECLUSTERS, "ec", "ControlPlaneEndpointReady", "MissingControlPlaneEndpoint")
    endpoint = condition(ec, "ControlPlaneEndpointReady") or {}
    assert (endpoint["status"], endpoint["severity"]) == ("False", "Error")
    assert is_true(ec, "CAPIClusterReady")
    assert reason(ec, "Ready") == "MissingControlPlaneEndpoint"
    assert not ec["status"].get("ready")

    capi.patch(ECLUSTERS, "ec", {"spec": {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}}})
    capi.wait(ECLUSTERS, "ec", lambda o: bool(o["status"].get("ready")))

    # Ready is recomputed on every pass (upstream starts each from ready=false).
    capi.patch(ECLUSTERS, "ec", {"spec": {"controlPlaneEndpoint": None}})
    ec = capi.wait(ECLUSTERS, "ec", lambda o: not o["status"].get("ready"))
    assert reason(ec, "ControlPlaneEndpointReady") == "MissingControlPlaneEndpoint"


def test_templates_are_accepted_as_they_are(start_operator: Any, capi: Capi) -> None:
    start_operator()
    cluster_template = capi.create(
        "elementalclustertemplates",
        "ect",
        {"spec": {"template": {"spec": {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}}}}},
    )
    machine_template = capi.create(
        "elementalmachinetemplates",
        "emt",
        {"spec": {"template": {"spec": {"selector": {"matchLabels": {"pool": "a"}}}}}},
    )
    capi.create(ECLUSTERS, "ec", {"spec": {}})
    capi.wait_reason(ECLUSTERS, "ec", "CAPIClusterReady", "MissingClusterOwner")  # the operator runs
    for plural, created in (
        ("elementalclustertemplates", cluster_template),
        ("elementalmachinetemplates", machine_template),
    ):
        current = capi.get(plural, created["metadata"]["name"]) or {}
        assert current["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
