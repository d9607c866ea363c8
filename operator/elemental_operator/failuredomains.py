"""Failure domains from a host label: the ElementalCluster's spec.failureDomainLabel names
a label key, and each distinct value of it among the namespace's hosts is one failure domain.

All the namespace's hosts count, not only free ones: a domain stays listed while its hosts
are taken, so the list (and the Cluster's, which Cluster API copies from it) changes only
when hosts with a new value register or the last host with a value goes away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# The v1beta2 InfraCluster contract's maxItems for status.failureDomains.
MAX_FAILURE_DOMAINS = 100


def host_domain(host: Mapping[str, Any] | None, label: str) -> str | None:
    """The failure domain a host is in: its value of `label`; None without one (label absent
    or empty) and for a host being deleted (it is going away)."""
    if host is None:
        return None
    metadata: Mapping[str, Any] = host.get("metadata") or {}
    if metadata.get("deletionTimestamp"):
        return None
    value = (metadata.get("labels") or {}).get(label)
    return str(value) if value else None


def domain_names(hosts: Iterable[Mapping[str, Any]], label: str) -> list[str]:
    """The distinct values of `label` among `hosts`, sorted (as Cluster API sorts them)."""
    return sorted({name for host in hosts if (name := host_domain(host, label)) is not None})


def failure_domains(names: list[str], control_plane: bool) -> list[dict[str, Any]]:
    """status.failureDomains in the v1beta2 contract's shape, at most MAX_FAILURE_DOMAINS."""
    return [{"name": name, "controlPlane": control_plane} for name in names[:MAX_FAILURE_DOMAINS]]
