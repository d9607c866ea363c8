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
from elemental_core.conditions import READY_REASON
from elemental_core.records import Host, ObjectRef
from elemental_core.vocabulary import (
    ANNOTATION_DELETE_FOR_MOVE,
    ANNOTATION_PAUSED,
    CLUSTERS,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    FINALIZER,
    HOST_REACHABLE,
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
    NOT_PAUSED,
    PAUSED,
    PAUSED_REASON,
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

    # -- labels and annotations ---------------------------------------------------------------

    @property
    def annotations(self) -> Mapping[str, str]:
        annotations: Mapping[str, str] = self._meta.get("annotations") or {}
        return annotations

    @property
    def paused_by_annotation(self) -> str | None:
        """Why the object itself says it is not to be reconciled: Cluster API's paused
        annotation, or clusterctl move deleting it from the cluster it moves away from."""
        if ANNOTATION_PAUSED in self.annotations:
            return f"{self.resource.kind} has the {ANNOTATION_PAUSED} annotation"
        if ANNOTATION_DELETE_FOR_MOVE in self.annotations:
            return f"{self.resource.kind} is being moved to another cluster ({ANNOTATION_DELETE_FOR_MOVE})"
        return None

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

    # The finalizer this program holds on objects of the kind.
    finalizer: ClassVar[str] = FINALIZER

    @property
    def holds_finalizer(self) -> bool:
        return self.finalizer in (self._meta.get("finalizers") or [])

    def add_finalizer(self) -> None:
        if not self.holds_finalizer:
            meta = self.raw.setdefault("metadata", {})
            meta["finalizers"] = [*(meta.get("finalizers") or []), self.finalizer]

    def remove_finalizer(self) -> None:
        meta = self.raw.setdefault("metadata", {})
        meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != self.finalizer]

    # -- conditions ---------------------------------------------------------------------------

    # Conditions in the v1beta2 contract's metav1 shape (ElementalMachine, ElementalCluster)
    # rather than Cluster API v1beta1's (the hosts and registrations, as upstream).
    v1beta2_conditions: ClassVar[bool] = False

    @property
    def generation(self) -> int:
        return int(self._meta.get("generation") or 0)

    @property
    def conditions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (self.raw.get("status") or {}).get("conditions") or []
        return found

    def condition(self, kind: str) -> dict[str, Any] | None:
        return next((c for c in self.conditions if c.get("type") == kind), None)

    def condition_is_true(self, kind: str) -> bool:
        return (self.condition(kind) or {}).get("status") == TRUE

    def set_condition(self, condition: dict[str, Any]) -> None:
        if self.v1beta2_conditions:
            self._status["conditions"] = conditions.set_v1beta2_condition(
                self.conditions, condition, self.generation
            )
        else:
            self._status["conditions"] = conditions.set_condition(self.conditions, condition)

    def remove_condition(self, kind: str) -> None:
        if self.condition(kind) is not None:
            self._status["conditions"] = [c for c in self.conditions if c.get("type") != kind]

    def set_true(self, kind: str, reason: str = READY_REASON) -> None:
        """True; the reason is kept only in the v1beta2 shape (v1beta1's True has none)."""
        if self.v1beta2_conditions:
            self.set_condition({"type": kind, "status": TRUE, "reason": reason})
        else:
            self.set_condition({"type": kind, "status": TRUE, "severity": INFO})

    def set_false(self, kind: str, severity: str, reason: str, message: str) -> None:
        self.set_condition(
            {"type": kind, "status": FALSE, "severity": severity, "reason": reason, "message": message}
        )

    def set_paused(self, why: str | None) -> None:
        """The v1beta2 contract's Paused condition: True with why, or False."""
        if why is None:
            self.set_condition({"type": PAUSED, "status": FALSE, "reason": NOT_PAUSED})
        else:
            self.set_condition({"type": PAUSED, "status": TRUE, "reason": PAUSED_REASON, "message": why})

    def summarize(self, deleting: str | None = None) -> None:
        """Recomputes Ready from the other conditions (no status is made up when there are
        none). `deleting` (v1beta2 shape only): Ready says the object is being deleted, and how far."""
        if self.v1beta2_conditions:
            if self.conditions or deleting is not None:
                self._status["conditions"] = conditions.with_v1beta2_ready_summary(
                    self.conditions, self.generation, deleting=deleting
                )
        elif self.conditions:
            self._status["conditions"] = conditions.with_ready_summary(self.conditions)

    def refresh_observed_generation(self, before: Mapping[str, Any]) -> None:
        """Every v1beta2 condition was observed at the generation this pass's write leaves:
        one more than `before`'s when the pass changes the spec (kube-apiserver counts each
        spec change), so a pass that sets the providerID needs no second write to catch up."""
        if not (self.v1beta2_conditions and self.conditions):
            return
        spec_changed = (before.get("spec") or {}) != (self.raw.get("spec") or {})
        generation = self.generation + (1 if spec_changed else 0)
        self._status["conditions"] = [{**c, "observedGeneration": generation} for c in self.conditions]

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
        """spec.infrastructureRef of a Cluster API v1beta2 object (a ContractVersionedObjectReference:
        apiGroup, kind, name, in the object's namespace), if it names that kind."""
        ref = self._spec.get("infrastructureRef") or {}
        if ref.get("kind") != infrastructure.kind or ref.get("apiGroup") != infrastructure.group:
            return None
        return (self.namespace, str(ref["name"])) if ref.get("name") else None


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

    @property
    def reboot_request(self) -> str | None:
        """spec.rebootRequest: the id of the reboot a remediation asks the agent for."""
        return self._spec.get("rebootRequest") or None

    @reboot_request.setter
    def reboot_request(self, value: str | None) -> None:
        if value is None:
            if "rebootRequest" in self._spec:
                del self._writable_spec["rebootRequest"]
        else:
            self._writable_spec["rebootRequest"] = value

    @property
    def reboot_accepted(self) -> str | None:
        """status.rebootAccepted: the last reboot request id the agent said it took."""
        return (self.raw.get("status") or {}).get("rebootAccepted") or None

    @property
    def last_seen(self) -> str | None:
        """status.lastSeen: the API's record of the host's last check-in."""
        return (self.raw.get("status") or {}).get("lastSeen") or None

    @property
    def addresses(self) -> list[dict[str, Any]]:
        """status.addresses: what the host's agent reported (Cluster API's MachineAddress list)."""
        found: list[dict[str, Any]] = (self.raw.get("status") or {}).get("addresses") or []
        return found

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
    """The InfraMachine of the v1beta2 contract (status.ready kept for v1beta1-contract readers)."""

    resource = ELEMENTAL_MACHINES
    v1beta2_conditions = True

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
        """The associated host is gone: so are its reference, the providerID made of it and
        its addresses."""
        self._writable_spec.pop("hostRef", None)
        self._writable_spec.pop("providerID", None)
        self.addresses = []
        self.failure_domain = None
        self.remove_condition(HOST_REACHABLE)

    @property
    def addresses(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (self.raw.get("status") or {}).get("addresses") or []
        return found

    @addresses.setter
    def addresses(self, addresses: list[dict[str, Any]]) -> None:
        """status.addresses (the InfraMachine contract's), absent when there are none."""
        if addresses:
            self._status["addresses"] = [dict(a) for a in addresses]
        elif "addresses" in (self.raw.get("status") or {}):
            del self._status["addresses"]

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
        """status.ready (v1beta1 contract) follows every pass; status.initialization.provisioned
        (v1beta2) is set once the machine is first ready and stays: initialization completed."""
        self._status["ready"] = value
        if value:
            self._status["initialization"] = {"provisioned": True}

    @property
    def provisioned(self) -> bool:
        return ((self.raw.get("status") or {}).get("initialization") or {}).get("provisioned") is True

    @property
    def failure_domain(self) -> str | None:
        return (self.raw.get("status") or {}).get("failureDomain") or None

    @failure_domain.setter
    def failure_domain(self, value: str | None) -> None:
        """status.failureDomain (the InfraMachine contract's): where the machine landed."""
        if value:
            self._status["failureDomain"] = value
        elif "failureDomain" in (self.raw.get("status") or {}):
            del self._status["failureDomain"]


class MachineView(ObjectView):
    """Cluster API's Machine at cluster.x-k8s.io/v1beta2 (only its conditions are written:
    machineconditions.py)."""

    resource = MACHINES
    v1beta2_conditions = True

    @property
    def node_name(self) -> str | None:
        """status.nodeRef.name: the workload cluster's Node the Machine became, once it has."""
        return ((self.raw.get("status") or {}).get("nodeRef") or {}).get("name") or None

    @property
    def bootstrap_data_secret(self) -> str | None:
        return (self._spec.get("bootstrap") or {}).get("dataSecretName") or None

    @property
    def cluster_name(self) -> str | None:
        return self.label(LABEL_CLUSTER_NAME)

    @property
    def elemental_machine_key(self) -> Key | None:
        return self._infrastructure_key(ELEMENTAL_MACHINES)

    @property
    def failure_domain(self) -> str | None:
        """spec.failureDomain: where Cluster API (or the user) wants the machine placed."""
        return self._spec.get("failureDomain") or None


def kubeconfig_secret_of(cluster: str) -> str:
    """The name of the Secret Cluster API writes a workload cluster's kubeconfig into."""
    return f"{cluster}{KUBECONFIG_SECRET_SUFFIX}"


class ClusterView(ObjectView):
    """Cluster API's Cluster at cluster.x-k8s.io/v1beta2 (read only)."""

    resource = CLUSTERS

    @property
    def _initialization(self) -> Mapping[str, Any]:
        initialization: Mapping[str, Any] = (self.raw.get("status") or {}).get("initialization") or {}
        return initialization

    @property
    def infrastructure_ready(self) -> bool:
        """status.initialization.infrastructureProvisioned (the InfraCluster said provisioned)."""
        return self._initialization.get("infrastructureProvisioned") is True

    @property
    def paused(self) -> bool:
        """spec.paused: Cluster API (and clusterctl move) asks every controller to leave the
        cluster's objects alone."""
        return self._spec.get("paused") is True

    @property
    def has_control_plane_provider(self) -> bool:
        """spec.controlPlaneRef names a control plane object. Optional: without one the
        control-plane Machines stand alone, and Cluster API says the control plane is
        initialized only once the first of them has a Node (which needs our providerID)."""
        return bool(self._spec.get("controlPlaneRef"))

    @property
    def control_plane_initialized(self) -> bool:
        """A control plane is referenced and Cluster API reports it initialized
        (status.initialization.controlPlaneInitialized, never unset once true)."""
        return self.has_control_plane_provider and self._initialization.get("controlPlaneInitialized") is True

    @property
    def kubeconfig_secret(self) -> str:
        """The Secret Cluster API writes the workload cluster's kubeconfig into."""
        return kubeconfig_secret_of(self.name)

    @property
    def elemental_cluster_key(self) -> Key | None:
        return self._infrastructure_key(ELEMENTAL_CLUSTERS)


class ElementalClusterView(ObjectView):
    """The InfraCluster of the v1beta2 contract (status.ready kept for v1beta1-contract readers)."""

    resource = ELEMENTAL_CLUSTERS
    v1beta2_conditions = True

    @property
    def cluster_owner(self) -> str | None:
        return self.owner_name(CLUSTERS)

    @property
    def failure_domain_label(self) -> str | None:
        """spec.failureDomainLabel: the host label whose values are the failure domains;
        None when the cluster asks for none."""
        return self._spec.get("failureDomainLabel") or None

    @property
    def failure_domains_take_control_plane(self) -> bool:
        """spec.failureDomainControlPlane, true when not set."""
        return self._spec.get("failureDomainControlPlane") is not False

    @property
    def failure_domains(self) -> list[dict[str, Any]]:
        found = (self.raw.get("status") or {}).get("failureDomains")
        return found if isinstance(found, list) else []

    @failure_domains.setter
    def failure_domains(self, domains: list[dict[str, Any]]) -> None:
        """status.failureDomains (the v1beta2 contract's list), absent when there are none;
        anything else there (upstream's v1beta1 map, never written) goes too."""
        if domains:
            if self.failure_domains != domains:
                self._status["failureDomains"] = [dict(d) for d in domains]
        elif "failureDomains" in (self.raw.get("status") or {}):
            del self._status["failureDomains"]

    @property
    def has_control_plane_endpoint(self) -> bool:
        endpoint = self._spec.get("controlPlaneEndpoint") or {}
        return bool(endpoint.get("host")) and bool(endpoint.get("port"))

    @property
    def ready(self) -> bool:
        return bool((self.raw.get("status") or {}).get("ready"))

    @ready.setter
    def ready(self, value: bool) -> None:
        """As ElementalMachineView.ready: provisioned once, ready on every pass."""
        self._status["ready"] = value
        if value:
            self._status["initialization"] = {"provisioned": True}

    @property
    def provisioned(self) -> bool:
        return ((self.raw.get("status") or {}).get("initialization") or {}).get("provisioned") is True
