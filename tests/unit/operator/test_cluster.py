"""ElementalCluster decisions: owner Cluster, control-plane endpoint, Ready."""

from __future__ import annotations

from typing import Any

import pytest

from elemental_core.vocabulary import (
    CAPI_CLUSTER_READY,
    CONTROL_PLANE_ENDPOINT_READY,
    ELEMENTAL_CLUSTERS,
    MISSING_CLUSTER_OWNER,
    MISSING_CONTROL_PLANE_ENDPOINT,
    NOT_PAUSED,
    PAUSED,
    READY,
)
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import NS, Scene, condition, state


def reconciled(scene: Scene) -> dict[str, Any]:
    assert scene.clusters().reconcile(NS, "ec") == Result()
    return scene.get(ELEMENTAL_CLUSTERS, "ec") or {}


@pytest.mark.parametrize("owner", [None, "not-there"], ids=["no-owner", "owner-missing"])
def test_an_owner_missing_is_reported(scene: Scene, owner: str | None) -> None:
    scene.elemental_cluster(owner=owner)
    ec = reconciled(scene)
    assert state(ec, CAPI_CLUSTER_READY) == ("False", "Error", MISSING_CLUSTER_OWNER)
    assert state(ec, READY) == ("False", "Error", MISSING_CLUSTER_OWNER)
    assert ec["status"]["ready"] is False


def test_an_endpoint_missing_is_reported(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster", endpoint=False)
    ec = reconciled(scene)
    assert state(ec, CAPI_CLUSTER_READY) == ("True", "", "Ready")
    assert state(ec, CONTROL_PLANE_ENDPOINT_READY) == ("False", "Error", MISSING_CONTROL_PLANE_ENDPOINT)
    assert state(ec, READY) == ("False", "Error", MISSING_CONTROL_PLANE_ENDPOINT)
    assert ec["status"]["ready"] is False


@pytest.mark.parametrize("endpoint", [{"host": "cp.example"}, {"port": 6443}])
def test_half_an_endpoint_is_no_endpoint(scene: Scene, endpoint: dict[str, Any]) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster")
    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].update(controlPlaneEndpoint=endpoint))
    assert state(reconciled(scene), CONTROL_PLANE_ENDPOINT_READY) == (
        "False",
        "Error",
        MISSING_CONTROL_PLANE_ENDPOINT,
    )


def test_owner_and_endpoint_make_it_ready_and_ready_is_recomputed(scene: Scene) -> None:
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster")
    ec = reconciled(scene)
    assert ec["status"]["ready"] is True
    for kind in (READY, CAPI_CLUSTER_READY, CONTROL_PLANE_ENDPOINT_READY):
        assert (state(ec, kind) or ("",))[0] == "True", kind
    assert reconciled(scene) == ec  # converged: nothing written again

    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].pop("controlPlaneEndpoint"))
    assert reconciled(scene)["status"]["ready"] is False


def test_a_gone_elemental_cluster_is_nothing_to_do(scene: Scene) -> None:
    assert scene.clusters().reconcile(NS, "ec") == Result()


def test_an_elemental_cluster_being_deleted_only_says_so_in_ready(scene: Scene) -> None:
    """Ready covers deletion too (v1beta2 contract); nothing else is decided or written."""
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster")
    reconciled(scene)
    scene.kube.change(
        ELEMENTAL_CLUSTERS,
        NS,
        "ec",
        lambda o: o["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["x"]),
    )
    before = scene.get(ELEMENTAL_CLUSTERS, "ec") or {}
    ec = reconciled(scene)
    assert state(ec, READY) == ("False", "Info", "Deleting")
    assert (condition(ec, READY) or {})["message"] == "ElementalCluster is being deleted"
    assert ec["metadata"]["finalizers"] == ["x"]
    assert ec["spec"] == before["spec"]
    assert {k: v for k, v in ec["status"].items() if k != "conditions"} == {
        k: v for k, v in before["status"].items() if k != "conditions"
    }


def test_the_v1beta2_contract_fields(scene: Scene) -> None:
    """status.initialization.provisioned once ready, and stays; status.ready (v1beta1
    contract) follows each pass; metav1 conditions: reason also when True, observedGeneration."""
    scene.cluster("cluster")
    scene.elemental_cluster(owner="cluster")
    ec = reconciled(scene)
    assert ec["status"]["initialization"] == {"provisioned": True}
    assert ec["status"]["ready"] is True
    for item in ec["status"]["conditions"]:
        assert set(item) == {
            "type",
            "status",
            "reason",
            "message",
            "observedGeneration",
            "lastTransitionTime",
        }
        if item["type"] != PAUSED:
            assert (item["status"], item["reason"], item["observedGeneration"]) == ("True", "Ready", 1)
    assert state(ec, PAUSED) == ("False", "", NOT_PAUSED)

    scene.kube.change(ELEMENTAL_CLUSTERS, NS, "ec", lambda o: o["spec"].pop("controlPlaneEndpoint"))
    ec = reconciled(scene)
    assert ec["status"]["ready"] is False
    assert ec["status"]["initialization"] == {"provisioned": True}  # initialization completed once
    assert {c["type"]: c["observedGeneration"] for c in ec["status"]["conditions"]} == {
        PAUSED: 2,
        READY: 2,
        CAPI_CLUSTER_READY: 2,
        CONTROL_PLANE_ENDPOINT_READY: 2,
    }
    assert condition(ec, CONTROL_PLANE_ENDPOINT_READY) == {
        "type": CONTROL_PLANE_ENDPOINT_READY,
        "status": "False",
        "reason": MISSING_CONTROL_PLANE_ENDPOINT,
        "message": "missing control plane endpoint",
        "severity": "Error",
        "observedGeneration": 2,
        "lastTransitionTime": (condition(ec, CONTROL_PLANE_ENDPOINT_READY) or {})["lastTransitionTime"],
    }


def test_provisioned_is_absent_until_first_ready(scene: Scene) -> None:
    scene.elemental_cluster()
    ec = reconciled(scene)
    assert "initialization" not in ec["status"]
    assert ec["status"]["ready"] is False
