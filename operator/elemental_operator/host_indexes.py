"""The host caches' indexes: which hosts are free, which a machine has claimed, and which
belong to a cluster.

Association and the clean-up of stale claims looked at every host of the namespace on each
reconcile of each machine: 10,000 hosts per reconcile in the fleet benchmark, the operator's
CPU while it associated 1,000 machines. These answer such questions without the scan."""

from __future__ import annotations

from typing import Any

from elemental_core.vocabulary import LABEL_CLUSTER_NAME
from elemental_kube.indexes import Index
from elemental_operator.views import HostView


def _free(raw: dict[str, Any]) -> tuple[str, ...]:
    return ("true",) if HostView(raw).is_free else ()


def _claimed_by(raw: dict[str, Any]) -> tuple[str, ...]:
    machine = HostView(raw).claimed_by
    return (machine,) if machine else ()


def _cluster(raw: dict[str, Any]) -> tuple[str, ...]:
    cluster = HostView(raw).label(LABEL_CLUSTER_NAME)
    return (cluster,) if cluster else ()


# Hosts a machine may take (HostView.is_free), under the key "true".
FREE = Index("free-hosts", _free)
# Hosts by the ElementalMachine their labels give them to.
CLAIMED_BY = Index("hosts-by-claiming-machine", _claimed_by)
# Hosts by the Cluster their cluster-name label gives them to.
BY_CLUSTER = Index("hosts-by-cluster", _cluster)
