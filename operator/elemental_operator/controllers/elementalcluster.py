"""ElementalCluster: owner Cluster, control-plane endpoint validity, Ready."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core.vocabulary import CLUSTERS, ELEMENTAL_CLUSTERS, Resource
from elemental_operator.controllers.base import (
    Key,
    KubeHolder,
    Mapper,
    Result,
    false,
    owner,
    set_condition,
    true,
    with_summary,
)


class ElementalClusterController(KubeHolder):
    name = "elementalcluster"
    resource = ELEMENTAL_CLUSTERS

    def watches(self) -> dict[Resource, Mapper]:
        return {CLUSTERS: _cluster_to_elemental_cluster}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(ELEMENTAL_CLUSTERS, namespace, name)
        if before is None or before["metadata"].get("deletionTimestamp"):
            return Result()
        cluster = copy.deepcopy(before)
        owner_name = owner(cluster, "Cluster")
        owner_found = owner_name is not None and self.kube.get(CLUSTERS, namespace, owner_name) is not None
        decide(cluster, owner_found)
        with_summary(cluster)
        self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster)
        return Result()


def decide(cluster: dict[str, Any], owner_found: bool) -> None:
    """owner_found: the ElementalCluster has a Cluster owner and that Cluster exists."""
    status = cluster.setdefault("status", {})
    status["ready"] = False  # as upstream: recomputed on every pass, not only ever set
    if not owner_found:
        set_condition(
            cluster,
            false(
                "CAPIClusterReady",
                "Error",
                "MissingClusterOwner",
                "ElementalCluster has no Cluster owner yet",
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


def _cluster_to_elemental_cluster(cluster: dict[str, Any]) -> list[Key]:
    ref = cluster.get("spec", {}).get("infrastructureRef") or {}
    if ref.get("kind") == ELEMENTAL_CLUSTERS.kind and ref.get("name"):
        return [(ref.get("namespace") or cluster["metadata"]["namespace"], ref["name"])]
    return []
