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
    READY,
)
from elemental_operator.controllers.base import Result
from tests.unit.operator.scene import NS, Scene, state


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
    assert state(ec, CAPI_CLUSTER_READY) == ("True", "Info", "")
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


def test_deleted_or_gone_elemental_clusters_are_left_alone(scene: Scene) -> None:
    assert scene.clusters().reconcile(NS, "ec") == Result()
    scene.elemental_cluster()
    scene.kube.change(
        ELEMENTAL_CLUSTERS,
        NS,
        "ec",
        lambda o: o["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z", finalizers=["x"]),
    )
    before = scene.get(ELEMENTAL_CLUSTERS, "ec")
    assert reconciled(scene) == before
