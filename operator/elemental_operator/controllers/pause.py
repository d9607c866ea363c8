"""Pause (Cluster API's contract, which clusterctl move relies on): an object is left alone
while its Cluster has spec.paused or it has the paused annotation, and while clusterctl move
deletes it from the cluster it moves away from. Nothing is decided for it then; the v1beta2
kinds only say so in their Paused condition."""

from __future__ import annotations

from elemental_core.vocabulary import CLUSTERS
from elemental_operator.controllers.base import KubeAccess
from elemental_operator.views import ClusterView, ObjectView


def pause_reason(kube: KubeAccess, obj: ObjectView, cluster_name: str | None) -> str | None:
    """Why `obj` (of the Cluster named `cluster_name`, if any) is not to be reconciled now;
    None when it is to be."""
    own = obj.paused_by_annotation
    if own is not None:
        return own
    cluster = ClusterView.of(kube.get(CLUSTERS, obj.namespace, cluster_name)) if cluster_name else None
    if cluster is not None and cluster.paused:
        return f"Cluster '{cluster.name}' is paused"
    return None
