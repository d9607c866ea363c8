"""The views read without changing what they read (a view over a cached snapshot must
leave it as it is) and write where the resources keep things."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core.vocabulary import CLUSTERS, ELEMENTAL_MACHINES, FINALIZER, HOSTS, MACHINES, REGISTRATIONS
from elemental_operator.views import (
    ClusterView,
    ElementalClusterView,
    ElementalMachineView,
    HostView,
    MachineView,
    RegistrationView,
    provider_id,
)


def test_reads_create_nothing() -> None:
    bare: dict[str, Any] = {"metadata": {"namespace": "ns", "name": "x"}}
    raw = copy.deepcopy(bare)
    host = HostView(raw)
    _ = (
        host.labels,
        host.installed,
        host.is_free,
        host.machine_key,
        host.os_version_management,
        host.conditions,
    )
    _ = (host.deleting, host.holds_finalizer, host.condition("Ready"), host.record(), host.claimed_by)
    em = ElementalMachineView(raw)
    _ = (em.host_key, em.selector, em.provider_id, em.ready, em.machine_owner, em.cluster_name)
    _ = (MachineView(raw).bootstrap_data_secret, MachineView(raw).elemental_machine_key)
    _ = (ClusterView(raw).infrastructure_ready, ClusterView(raw).control_plane_initialized)
    _ = (ElementalClusterView(raw).has_control_plane_endpoint, ElementalClusterView(raw).cluster_owner)
    registration = RegistrationView(raw)
    _ = (registration.config, registration.private_key_ref, registration.signing_key_secret)
    assert raw == bare


def test_mutators_write_where_the_resource_keeps_things() -> None:
    raw: dict[str, Any] = {"metadata": {"namespace": "ns", "name": "h", "uid": "u"}}
    host = HostView(raw)
    host.set_label("a", "1")
    host.add_finalizer()
    host.add_finalizer()
    host.set_false("ResetReady", "Info", "WaitingForReset", "waiting")
    host.summarize()
    assert raw["metadata"]["labels"] == {"a": "1"}
    assert raw["metadata"]["finalizers"] == [FINALIZER]
    assert [c["type"] for c in raw["status"]["conditions"]] == ["Ready", "ResetReady"]
    host.remove_labels("a")
    host.remove_finalizer()
    assert raw["metadata"]["labels"] == {}
    assert raw["metadata"]["finalizers"] == []
    assert host.reference() == {
        "apiVersion": HOSTS.api_version,
        "kind": HOSTS.kind,
        "namespace": "ns",
        "name": "h",
        "uid": "u",
    }


def test_owners_are_matched_by_kind_and_group() -> None:
    def owned_by(api_version: str, kind: str) -> ElementalMachineView:
        reference = {"apiVersion": api_version, "kind": kind, "name": "owner", "uid": "u"}
        return ElementalMachineView({"metadata": {"ownerReferences": [reference]}})

    assert owned_by(MACHINES.api_version, MACHINES.kind).owner_name(MACHINES) == "owner"
    assert owned_by("cluster.x-k8s.io/v1beta2", MACHINES.kind).owner_name(MACHINES) == "owner"
    assert owned_by("example.com/v1", MACHINES.kind).owner_name(MACHINES) is None
    assert owned_by(MACHINES.api_version, CLUSTERS.kind).owner_name(MACHINES) is None
    assert owned_by(REGISTRATIONS.api_version, REGISTRATIONS.kind).owner_name(REGISTRATIONS) == "owner"


def test_references_default_to_the_referring_namespace() -> None:
    em = ElementalMachineView({"metadata": {"namespace": "ns"}, "spec": {"hostRef": {"name": "h"}}})
    assert em.host_key == ("ns", "h")
    em.raw["spec"]["hostRef"]["namespace"] = "elsewhere"
    assert em.host_key == ("elsewhere", "h")
    em.raw["spec"]["hostRef"] = {"namespace": "elsewhere"}
    assert em.host_key is None


def test_provider_id_names_the_host() -> None:
    assert provider_id(("ns", "host")) == "elemental://ns/host"


def test_cluster_api_objects_are_read_at_v1beta2() -> None:
    """The contract fields of v1beta2 (status.initialization); v1beta1's are not read."""
    v1beta1 = ClusterView(
        {
            "spec": {"controlPlaneRef": {"kind": "KubeadmControlPlane", "name": "cp"}},
            "status": {
                "infrastructureReady": True,
                "conditions": [{"type": "ControlPlaneInitialized", "status": "True"}],
            },
        }
    )
    assert not v1beta1.infrastructure_ready
    assert not v1beta1.control_plane_initialized
    v1beta2 = ClusterView(
        {
            "spec": {
                "controlPlaneRef": {"apiGroup": "controlplane.cluster.x-k8s.io", "kind": "K", "name": "cp"}
            },
            "status": {
                "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True}
            },
        }
    )
    assert v1beta2.infrastructure_ready
    assert v1beta2.control_plane_initialized
    machine = MachineView(
        {
            "metadata": {"namespace": "ns"},
            "spec": {
                "bootstrap": {"dataSecretName": "data"},
                "infrastructureRef": {
                    "apiGroup": ELEMENTAL_MACHINES.group,
                    "kind": "ElementalMachine",
                    "name": "em",
                },
            },
        }
    )
    assert machine.bootstrap_data_secret == "data"
    assert machine.elemental_machine_key == ("ns", "em")
