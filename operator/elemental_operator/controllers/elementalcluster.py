"""ElementalCluster: owner Cluster, control-plane endpoint validity, Ready."""

from __future__ import annotations

import copy
from typing import Any

from elemental_operator.controllers.base import (
    KubeHolder,
    Mapper,
    Result,
    false,
    owner,
    set_condition,
    true,
    with_summary,
)
from elemental_operator.kube import ELEMENTAL_CLUSTERS, Resource


class ElementalClusterController(KubeHolder):
    name = "elementalcluster"
    resource = ELEMENTAL_CLUSTERS

    def watches(self) -> dict[Resource, Mapper]:
        return {}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(ELEMENTAL_CLUSTERS, namespace, name)
        if before is None or before["metadata"].get("deletionTimestamp"):
            return Result()
        cluster = copy.deepcopy(before)
        decide(cluster)
        with_summary(cluster)
        self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster)
        return Result()


def decide(cluster: dict[str, Any]) -> None:
    status = cluster.setdefault("status", {})
    if owner(cluster, "Cluster") is None:
        set_condition(
            cluster,
            false(
                "CAPIClusterReady", "Info", "MissingClusterOwner", "ElementalCluster has no Cluster owner yet"
            ),
        )
        return
    set_condition(cluster, true("CAPIClusterReady"))
    endpoint = cluster.get("spec", {}).get("controlPlaneEndpoint") or {}
    if not endpoint.get("host") or not endpoint.get("port"):
        set_condition(
            cluster,
            false(
                "ControlPlaneEndpointReady",
                "Error",
                "MissingControlPlaneEndpoint",
                "missing control plane endpoint",
            ),
        )
        return
    set_condition(cluster, true("ControlPlaneEndpointReady"))
    status["ready"] = True
