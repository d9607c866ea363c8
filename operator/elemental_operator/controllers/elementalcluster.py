"""ElementalCluster: owner Cluster, control-plane endpoint validity, Ready, and the failure
domains its hosts' label gives (elemental_operator.failuredomains)."""

from __future__ import annotations

import copy
import logging
from typing import Any

from elemental_core.vocabulary import (
    CAPI_CLUSTER_READY,
    CLUSTERS,
    CONTROL_PLANE_ENDPOINT_READY,
    ELEMENTAL_CLUSTERS,
    HOSTS,
    MISSING_CLUSTER_OWNER,
    MISSING_CONTROL_PLANE_ENDPOINT,
    Resource,
)
from elemental_operator import failuredomains
from elemental_operator.controllers.base import ChangeMapper, KubeHolder, Mapper, Result
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.views import ERROR, ClusterView, ElementalClusterView, Key

log = logging.getLogger(__name__)


class ElementalClusterController(KubeHolder):
    name = "elementalcluster"
    resource = ELEMENTAL_CLUSTERS

    def watches(self) -> dict[Resource, Mapper]:
        return {CLUSTERS: _cluster_to_elemental_cluster}

    def change_watches(self) -> dict[Resource, ChangeMapper]:
        return {HOSTS: self._host_domain_changed}

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
        cluster.failure_domains = self._failure_domains(cluster)
        owner = cluster.cluster_owner
        decide(
            cluster, owner_found=owner is not None and self.kube.get(CLUSTERS, namespace, owner) is not None
        )
        cluster.summarize()
        cluster.refresh_observed_generation(before)
        self.kube.apply_changes(ELEMENTAL_CLUSTERS, before, cluster.raw)
        return Result()

    def _failure_domains(self, cluster: ElementalClusterView) -> list[dict[str, Any]]:
        """What status.failureDomains lists: nothing unless the cluster names a host label."""
        label = cluster.failure_domain_label
        if label is None:
            return []
        names = failuredomains.domain_names(self.kube.scan(HOSTS, cluster.namespace), label)
        if len(names) > failuredomains.MAX_FAILURE_DOMAINS:
            log.warning(
                "more failure domains than the contract allows: the first ones by name are listed",
                extra={"cluster": cluster.name, "label": label, "values": len(names)},
            )
        return failuredomains.failure_domains(names, cluster.failure_domains_take_control_plane)

    def _host_domain_changed(
        self, event: str, host: dict[str, Any], previous: dict[str, Any] | None
    ) -> list[Key]:
        """The ElementalClusters of the host's namespace whose failure domains the change may
        change: the host's value of their label appeared, changed or went (a check-in that
        changes nothing of it wakes none)."""
        namespace = str((host.get("metadata") or {}).get("namespace", ""))
        woken = []
        for raw in self.kube.scan(ELEMENTAL_CLUSTERS, namespace):
            cluster = ElementalClusterView(raw)
            label = cluster.failure_domain_label
            if label is None:
                continue
            now = None if event == "DELETED" else failuredomains.host_domain(host, label)
            if now != failuredomains.host_domain(previous, label):
                woken.append(cluster.key)
        return woken


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
