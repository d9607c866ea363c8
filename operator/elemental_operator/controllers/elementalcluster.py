"""ElementalCluster: owner Cluster, control-plane endpoint validity, Ready."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core.vocabulary import (
    CAPI_CLUSTER_READY,
    CLUSTERS,
    CONTROL_PLANE_ENDPOINT_READY,
    ELEMENTAL_CLUSTERS,
    MISSING_CLUSTER_OWNER,
    MISSING_CONTROL_PLANE_ENDPOINT,
    Resource,
)
from elemental_operator.controllers.base import KubeHolder, Mapper, Result
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.views import ERROR, ClusterView, ElementalClusterView, Key


class ElementalClusterController(KubeHolder):
    name = "elementalcluster"
    resource = ELEMENTAL_CLUSTERS

    def watches(self) -> dict[Resource, Mapper]:
        return {CLUSTERS: _cluster_to_elemental_cluster}

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(ELEMENTAL_CLUSTERS, namespace, name)
        if before is None:
            return Result()
        cluster = ElementalClusterView(copy.deepcopy(before))
        paused = pause_reason(self.kube, cluster, cluster.cluster_owner)
        cluster.set_paused(paused)
        if paused is not None:
            cluster.summarize()
            cluster.refresh_observed_generation(before)
            self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster.raw)
            return Result()
        if cluster.deleting:
            # Nothing of ours to clean up (no finalizer): Ready says what holds it is someone else's.
            cluster.summarize(deleting="ElementalCluster is being deleted")
            cluster.refresh_observed_generation(before)
            self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster.raw)
            return Result()
        owner = cluster.cluster_owner
        decide(
            cluster, owner_found=owner is not None and self.kube.get(CLUSTERS, namespace, owner) is not None
        )
        cluster.summarize()
        cluster.refresh_observed_generation(before)
        self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster.raw)
        return Result()


def decide(cluster: ElementalClusterView, owner_found: bool) -> None:
    """owner_found: the ElementalCluster has a Cluster owner and that Cluster exists."""
    cluster.ready = False  # as upstream: recomputed on every pass, not only ever set
    if not owner_found:
        cluster.set_false(
            CAPI_CLUSTER_READY, ERROR, MISSING_CLUSTER_OWNER, "ElementalCluster has no Cluster owner yet"
        )
        return
    cluster.set_true(CAPI_CLUSTER_READY)
    if not cluster.has_control_plane_endpoint:
        cluster.set_false(
            CONTROL_PLANE_ENDPOINT_READY,
            ERROR,
            MISSING_CONTROL_PLANE_ENDPOINT,
            "missing control plane endpoint",
        )
        return
    cluster.set_true(CONTROL_PLANE_ENDPOINT_READY)
    cluster.ready = True


def _cluster_to_elemental_cluster(cluster: dict[str, Any]) -> list[Key]:
    key = ClusterView(cluster).elemental_cluster_key
    return [key] if key else []
