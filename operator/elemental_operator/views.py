"""Typed views over the objects the controllers read and write.

A view wraps one object's dict without copying it: properties read it, small mutators
change it in place, and `raw` is the dict itself, what `KubeAccess.apply_changes(before,
after)` diffs. Reads never create missing fields, so a view over a cached snapshot
(`KubeAccess.scan`) leaves it untouched as long as only reads are used.

Views rather than the generated models (elemental_models): those describe the specs and
statuses of the Elemental kinds only, not metadata nor Cluster API's Machine and Cluster,
and a round trip through pydantic adds defaults and normalises values (`ready: false`,
timestamps), which the merge-patch diff would write back as changes nobody made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from elemental_core import conditions
from elemental_core.records import Host, ObjectRef
from elemental_core.vocabulary import (
    CLUSTERS,
    CONTROL_PLANE_INITIALIZED,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOSTS,
    IN_PLACE_UPDATE_PENDING,
    KUBECONFIG_SECRET_SUFFIX,
    LABEL_BOOTSTRAPPED,
    LABEL_CLUSTER_NAME,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_IN_PLACE_UPDATE,
    LABEL_INSTALLED,
    LABEL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
    MACHINES,
    READY,
    REGISTRATIONS,
    Resource,
)

Key = tuple[str, str]
SECRET_KIND = "Secret"  # noqa: S105 - a kind, not a password
PROVIDER_ID_SCHEME = "elemental://"
# Condition statuses and severities (Cluster API v1beta1).
TRUE, FALSE = "True", "False"
ERROR, WARNING, INFO = "Error", "Warning", "Info"
# The labels that tie a host to its machine, removed when a claim is given back.
CLAIM_LABELS = (LABEL_MACHINE_NAME, LABEL_ELEMENTAL_MACHINE_NAME, LABEL_CLUSTER_NAME)


def provider_id(host: Key) -> str:
    """The providerID of the Node a host becomes: elemental://NAMESPACE/HOST."""
    return f"{PROVIDER_ID_SCHEME}{host[0]}/{host[1]}"


def _ref_key(ref: Mapping[str, Any] | None, default_namespace: str) -> Key | None:
    """The (namespace, name) an object reference names; its namespace defaults to the
    referring object's."""
    if not ref or not ref.get("name"):
        return None
    return str(ref.get("namespace") or default_namespace), str(ref["name"])


class ObjectView:
    """What every object has: identity, labels, the finalizer, owners, conditions."""

    resource: ClassVar[Resource]

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> Self | None:
        return None if raw is None else cls(raw)

    # -- identity -----------------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        return str(self._meta.get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self._meta.get("name", ""))

    @property
    def uid(self) -> str:
        return str(self._meta.get("uid", ""))

    @property
    def key(self) -> Key:
        return self.namespace, self.name

    def reference(self) -> dict[str, str]:
        """An object reference to this object (what hostRef and machineRef hold)."""
        return {
            "apiVersion": self.resource.api_version,
            "kind": self.resource.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }

    def owner_name(self, owner: Resource) -> str | None:
        """The name of the owner of that kind (of that API group), if any."""
        for reference in self._meta.get("ownerReferences") or []:
            if reference.get("kind") == owner.kind and str(reference.get("apiVersion", "")).startswith(
                f"{owner.group}/"
            ):
                return str(reference["name"])
        return None

    # -- labels -------------------------------------------------------------------------------

    @property
    def labels(self) -> Mapping[str, str]:
        labels: Mapping[str, str] = self._meta.get("labels") or {}
        return labels

    def label(self, key: str) -> str | None:
        return self.labels.get(key)

    def has_label(self, key: str) -> bool:
        return key in self.labels

    def label_is_true(self, key: str) -> bool:
        return self.labels.get(key) == "true"

    def set_label(self, key: str, value: str) -> None:
        meta = self.raw.setdefault("metadata", {})
        meta["labels"] = {**(meta.get("labels") or {}), key: value}

    def remove_labels(self, *keys: str) -> None:
        meta = self.raw.setdefault("metadata", {})
        meta["labels"] = {k: v for k, v in (meta.get("labels") or {}).items() if k not in keys}

    # -- deletion -----------------------------------------------------------------------------

    @property
    def deleting(self) -> bool:
        return bool(self._meta.get("deletionTimestamp"))

    @property
    def holds_finalizer(self) -> bool:
        return FINALIZER in (self._meta.get("finalizers") or [])

    def add_finalizer(self) -> None:
        if not self.holds_finalizer:
            meta = self.raw.setdefault("metadata", {})
            meta["finalizers"] = [*(meta.get("finalizers") or []), FINALIZER]

    def remove_finalizer(self) -> None:
        meta = self.raw.setdefault("metadata", {})
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != FINALIZER]

    # -- conditions ---------------------------------------------------------------------------

    @property
    def conditions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (self.raw.get("status") or {}).get("conditions") or []
        return found

    def condition(self, kind: str) -> dict[str, Any] | None:
        return next((c for c in self.conditions if c.get("type") == kind), None)

    def condition_is_true(self, kind: str) -> bool:
        return (self.condition(kind) or {}).get("status") == TRUE

    def set_condition(self, condition: dict[str, Any]) -> None:
        self._status["conditions"] = conditions.set_condition(self.conditions, condition)

    def set_true(self, kind: str) -> None:
        self.set_condition({"type": kind, "status": TRUE, "severity": INFO})

    def set_false(self, kind: str, severity: str, reason: str, message: str) -> None:
        self.set_condition(
            {"type": kind, "status": FALSE, "severity": severity, "reason": reason, "message": message}
        )

    def summarize(self) -> None:
        """Recomputes Ready from the other conditions (no status is made up when there are none)."""
        if self.conditions:
            self._status["conditions"] = conditions.with_ready_summary(self.conditions)

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def _meta(self) -> Mapping[str, Any]:
        meta: Mapping[str, Any] = self.raw.get("metadata") or {}
        return meta

    @property
    def _spec(self) -> Mapping[str, Any]:
        spec: Mapping[str, Any] = self.raw.get("spec") or {}
        return spec

    @property
    def _writable_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.raw.setdefault("spec", {})
        return spec

    @property
    def _status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.raw.setdefault("status", {})
        return status

    def _infrastructure_key(self, infrastructure: Resource) -> Key | None:
        """spec.infrastructureRef of a Cluster API object, if it names that kind."""
        ref = self._spec.get("infrastructureRef") or {}
        return _ref_key(ref, self.namespace) if ref.get("kind") == infrastructure.kind else None


class RegistrationView(ObjectView):
    resource = REGISTRATIONS

    @property
    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = self._spec.get("config") or {}
        return config

    @config.setter
    def config(self, config: dict[str, Any]) -> None:
        self._writable_spec["config"] = config

    @property
    def private_key_ref(self) -> Mapping[str, Any] | None:
        return self._spec.get("privateKeyRef") or None

    def refer_to_signing_key(self, secret_name: str, secret_uid: str) -> None:
        self._writable_spec["privateKeyRef"] = {
            "kind": SECRET_KIND,
            "name": secret_name,
            "namespace": self.namespace,
            "uid": secret_uid,
        }

    @property
    def signing_key_secret(self) -> str:
        """The Secret holding the signing key: the reference's, else the registration's name."""
        return str((self.private_key_ref or {}).get("name") or self.name)

    def set_ready(self) -> None:
        """Ready=True, as upstream's registration controller writes it (no severity)."""
        self.set_condition({"type": READY, "status": TRUE})

    def as_owner(self) -> dict[str, Any]:
        """The registration as the owner of its Secret (apiVersion and kind included)."""
        return {**self.raw, "apiVersion": self.resource.api_version, "kind": self.resource.kind}


class HostView(ObjectView):
    resource = HOSTS

    @property
    def installed(self) -> bool:
        return self.label_is_true(LABEL_INSTALLED)

    @property
    def bootstrapped(self) -> bool:
        return self.label_is_true(LABEL_BOOTSTRAPPED)

    @property
    def in_place_update_pending(self) -> bool:
        return self.label(LABEL_IN_PLACE_UPDATE) == IN_PLACE_UPDATE_PENDING

    @property
    def claimed_by(self) -> str | None:
        """The ElementalMachine the host's labels give it to."""
        return self.label(LABEL_ELEMENTAL_MACHINE_NAME)

    @property
    def is_free(self) -> bool:
        """Installed, not asked to reset, not taken by any machine, not being deleted."""
        return (
            self.installed
            and not self.has_label(LABEL_NEEDS_RESET)
            and not self.has_label(LABEL_MACHINE_NAME)
            and not self.has_label(LABEL_ELEMENTAL_MACHINE_NAME)
            and not self.deleting
        )

    @property
    def machine_key(self) -> Key | None:
        return _ref_key(self._spec.get("machineRef"), self.namespace)

    @property
    def os_version_management(self) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._spec.get("osVersionManagement")
        return value

    @os_version_management.setter
    def os_version_management(self, wanted: dict[str, Any] | None) -> None:
        if wanted is None:
            self._writable_spec.pop("osVersionManagement", None)
        else:
            self._writable_spec["osVersionManagement"] = wanted

    def claim(self, machine: ElementalMachineView, capi_machine: MachineView, bootstrap_secret: str) -> None:
        """Links the host to the machine and to its bootstrap data; the host follows the
        machine's osVersionManagement, also when it has none (as upstream)."""
        spec = self._writable_spec
        spec["machineRef"] = machine.reference()
        spec["bootstrapSecret"] = {
            "kind": SECRET_KIND,
            "namespace": capi_machine.namespace,
            "name": bootstrap_secret,
        }
        self.os_version_management = machine.os_version_management
        self.set_label(LABEL_MACHINE_NAME, capi_machine.name)
        self.set_label(LABEL_ELEMENTAL_MACHINE_NAME, machine.name)
        if machine.cluster_name:
            self.set_label(LABEL_CLUSTER_NAME, machine.cluster_name)

    def request_reset(self) -> None:
        """Asks the agent to reset the host (it reports back with the reset label)."""
        self.set_label(LABEL_NEEDS_RESET, "true")

    def release_claim(self) -> None:
        """Undoes `claim`: the host is free again."""
        self.remove_labels(*CLAIM_LABELS)
        for field in ("machineRef", "bootstrapSecret", "osVersionManagement"):
            self._writable_spec.pop(field, None)

    def record(self) -> Host:
        """The host as elemental_core's host rules take it."""
        spec, status = self._spec, self.raw.get("status") or {}
        bootstrap = _ref_key(spec.get("bootstrapSecret"), self.namespace)
        return Host(
            namespace=self.namespace,
            name=self.name,
            registration=self.owner_name(REGISTRATIONS) or "",
            pub_key=str(spec.get("pubKey", "")),
            labels=dict(self.labels),
            annotations=dict(self._meta.get("annotations") or {}),
            phase=status.get("phase"),
            conditions=[dict(c) for c in self.conditions],
            bootstrap_secret=ObjectRef(*bootstrap) if bootstrap else None,
            machine_ref=dict(spec["machineRef"]) if spec.get("machineRef") else None,
            os_version_management=dict(self.os_version_management or {}),
            deleting=self.deleting,
            version=str(self._meta.get("resourceVersion", "")),
            created=str(self._meta.get("creationTimestamp", "")),
        )

    def take_labels_and_conditions(self, host: Host) -> None:
        """Adopts what a host rule decided (the only fields those rules change)."""
        self.raw.setdefault("metadata", {})["labels"] = dict(host.labels)
        self._status["conditions"] = [dict(c) for c in host.conditions]


class ElementalMachineView(ObjectView):
    resource = ELEMENTAL_MACHINES

    @property
    def machine_owner(self) -> str | None:
        return self.owner_name(MACHINES)

    @property
    def cluster_name(self) -> str | None:
        return self.label(LABEL_CLUSTER_NAME)

    @property
    def selector(self) -> Mapping[str, Any] | None:
        return self._spec.get("selector") or None

    @property
    def os_version_management(self) -> dict[str, Any] | None:
        """As the user set it (an empty one included)."""
        value: dict[str, Any] | None = self._spec.get("osVersionManagement")
        return value

    @property
    def host_key(self) -> Key | None:
        return _ref_key(self._spec.get("hostRef"), self.namespace)

    def associate(self, host: HostView) -> None:
        self._writable_spec["hostRef"] = host.reference()

    def forget_host(self) -> None:
        """The associated host is gone: so are its reference and the providerID made of it."""
        self._writable_spec.pop("hostRef", None)
        self._writable_spec.pop("providerID", None)

    @property
    def provider_id(self) -> str | None:
        return self._spec.get("providerID") or None

    @provider_id.setter
    def provider_id(self, value: str) -> None:
        self._writable_spec["providerID"] = value

    @property
    def ready(self) -> bool:
        return bool((self.raw.get("status") or {}).get("ready"))

    @ready.setter
    def ready(self, value: bool) -> None:
        self._status["ready"] = value


class MachineView(ObjectView):
    """Cluster API's Machine (read only)."""

    resource = MACHINES

    @property
    def bootstrap_data_secret(self) -> str | None:
        return (self._spec.get("bootstrap") or {}).get("dataSecretName") or None

    @property
    def cluster_name(self) -> str | None:
        return self.label(LABEL_CLUSTER_NAME)

    @property
    def elemental_machine_key(self) -> Key | None:
        return self._infrastructure_key(ELEMENTAL_MACHINES)


class ClusterView(ObjectView):
    """Cluster API's Cluster (read only)."""

    resource = CLUSTERS

    @property
    def infrastructure_ready(self) -> bool:
        return bool((self.raw.get("status") or {}).get("infrastructureReady"))

    @property
    def has_control_plane_provider(self) -> bool:
        """spec.controlPlaneRef names a control plane object. Optional: without one the
        control-plane Machines stand alone, and Cluster API says the control plane is
        initialized only once the first of them has a Node (which needs our providerID)."""
        return bool(self._spec.get("controlPlaneRef"))

    @property
    def control_plane_initialized(self) -> bool:
        """A control plane is referenced and it reports itself initialized."""
        return self.has_control_plane_provider and self.condition_is_true(CONTROL_PLANE_INITIALIZED)

    @property
    def kubeconfig_secret(self) -> str:
        """The Secret Cluster API writes the workload cluster's kubeconfig into."""
        return f"{self.name}{KUBECONFIG_SECRET_SUFFIX}"

    @property
    def elemental_cluster_key(self) -> Key | None:
        return self._infrastructure_key(ELEMENTAL_CLUSTERS)


class ElementalClusterView(ObjectView):
    resource = ELEMENTAL_CLUSTERS

    @property
    def cluster_owner(self) -> str | None:
        return self.owner_name(CLUSTERS)

    @property
    def has_control_plane_endpoint(self) -> bool:
        endpoint = self._spec.get("controlPlaneEndpoint") or {}
        return bool(endpoint.get("host")) and bool(endpoint.get("port"))

    @property
    def ready(self) -> bool:
        return bool((self.raw.get("status") or {}).get("ready"))

    @ready.setter
    def ready(self, value: bool) -> None:
        self._status["ready"] = value
