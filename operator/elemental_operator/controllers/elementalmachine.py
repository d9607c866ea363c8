"""ElementalMachine: the Cluster API infrastructure machine. Associates one free host,
links it to the Machine's bootstrap data, sets the providerID, and resets the host when the
machine goes away.

Every wait (no host yet, control plane not initialized, no workload kubeconfig or Node yet) is a condition
and a look again after `requeue_period`, never an exception: exceptions are for failures,
and the work queue gives up on those after a bounded number of retries."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

from elemental_core import selectors
from elemental_core.conditions import DELETING
from elemental_core.vocabulary import (
    ASSOCIATED_HOST_NOT_FOUND,
    ASSOCIATION_READY,
    CLUSTERS,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    HOST_REACHABLE,
    HOST_READY,
    HOST_WAITING_FOR_BOOTSTRAP,
    HOST_WAITING_FOR_INSTALL,
    HOSTS,
    INVALID_SELECTOR,
    KUBECONFIG_VALUE_FIELD,
    LABEL_NEEDS_RESET,
    MACHINES,
    MISSING_ASSOCIATED_CLUSTER,
    MISSING_AVAILABLE_HOSTS,
    MISSING_BOOTSTRAP_SECRET,
    MISSING_CLUSTER_INFRASTRUCTURE_READY,
    MISSING_MACHINE_OWNER,
    NODE_NOT_FOUND,
    PROVIDER_ID_READY,
    READY,
    WAITING_FOR_CONTROL_PLANE_INITIALIZED,
    WAITING_FOR_KUBECONFIG,
    Resource,
)
from elemental_kube.errors import Conflict, NotFound
from elemental_operator import failuredomains, host_indexes, placement
from elemental_operator.controllers import machineconditions
from elemental_operator.controllers.base import KubeHolder, Mapper, Result
from elemental_operator.controllers.pause import pause_reason
from elemental_operator.views import (
    ERROR,
    INFO,
    WARNING,
    ClusterView,
    ElementalClusterView,
    ElementalMachineView,
    HostView,
    Key,
    MachineView,
    provider_id,
)

log = logging.getLogger(__name__)


class ElementalMachineController(KubeHolder):
    name = "elementalmachine"
    resource = ELEMENTAL_MACHINES

    def watches(self) -> dict[Resource, Mapper]:
        return {
            HOSTS: _host_to_machine,
            MACHINES: _machine_to_elemental,
            CLUSTERS: self._cluster_to_machines,
            # Its failureDomainLabel says which host label status.failureDomain reports.
            ELEMENTAL_CLUSTERS: self._elemental_cluster_to_machines,
        }

    def reconcile(self, namespace: str, name: str) -> Result:
        before = self.kube.get(ELEMENTAL_MACHINES, namespace, name)
        if before is None:
            return Result()
        machine = ElementalMachineView(copy.deepcopy(before))
        paused = pause_reason(self.kube, machine, machine.cluster_name)
        machine.set_paused(paused)
        if paused is not None:
            # Not even a deletion goes on: clusterctl move deletes a paused machine from the
            # cluster it leaves while its host keeps running for the cluster it goes to.
            machine.summarize(deleting=f"Deletion paused: {paused}" if machine.deleting else None)
            machine.refresh_observed_generation(before)
            self.kube.apply_changes(ELEMENTAL_MACHINES, before, machine.raw)
            return Result()
        if machine.deleting:
            # Needs neither the Machine nor the Cluster: an orphan still resets its host.
            self._reconcile_delete(before, machine)
            return Result()
        result = Result()
        try:
            result = self._reconcile(machine)
        finally:
            # Status is written once, on the way out, whatever happened.
            machine.summarize()
            machine.refresh_observed_generation(before)
            self.kube.apply_changes(ELEMENTAL_MACHINES, before, machine.raw)
        return result

    def _reconcile(self, em: ElementalMachineView) -> Result:
        owner = em.machine_owner
        capi_machine = MachineView.of(self.kube.get(MACHINES, em.namespace, owner)) if owner else None
        if capi_machine is None:
            em.set_false(
                ASSOCIATION_READY,
                ERROR,
                MISSING_MACHINE_OWNER,
                "ElementalMachine resource has no Machine owner",
            )
            return Result()
        cluster_name = em.cluster_name
        cluster = (
            ClusterView.of(self.kube.get(CLUSTERS, em.namespace, cluster_name)) if cluster_name else None
        )
        if cluster is None:
            em.set_false(
                ASSOCIATION_READY,
                ERROR,
                MISSING_ASSOCIATED_CLUSTER,
                "ElementalMachine resource is not associated with any Cluster",
            )
            return Result()
        em.add_finalizer()
        if not cluster.infrastructure_ready:
            em.set_false(
                ASSOCIATION_READY,
                ERROR,
                MISSING_CLUSTER_INFRASTRUCTURE_READY,
                "Cluster status.infrastructureReady is false",
            )
            return Result()
        secret_name = capi_machine.bootstrap_data_secret
        if not secret_name:
            em.set_false(
                ASSOCIATION_READY,
                ERROR,
                MISSING_BOOTSTRAP_SECRET,
                "Machine spec.bootstrap.dataSecretName is nil",
            )
            return Result()
        return self._reconcile_normal(em, capi_machine, cluster, secret_name)

    def _failure_domain_label(self, cluster: ClusterView) -> str | None:
        """The host label the machine's ElementalCluster takes failure domains from, if any."""
        key = cluster.elemental_cluster_key
        elemental_cluster = ElementalClusterView.of(self.kube.get(ELEMENTAL_CLUSTERS, *key)) if key else None
        return elemental_cluster.failure_domain_label if elemental_cluster else None

    def _reconcile_normal(
        self, em: ElementalMachineView, capi_machine: MachineView, cluster: ClusterView, secret_name: str
    ) -> Result:
        em.ready = False
        label = self._failure_domain_label(cluster)
        host_key = em.host_key
        if host_key is None:
            return self._associate(em, capi_machine, secret_name, label)
        host = HostView.of(self.kube.get(HOSTS, *host_key))
        if host is None:
            log.info("associated host lost", extra={"machine": em.name, "host": host_key[1]})
            em.set_false(
                ASSOCIATION_READY,
                WARNING,
                ASSOCIATED_HOST_NOT_FOUND,
                f"Previously associated host not found: {host_key[1]}",
            )
            em.forget_host()
            return Result(requeue_after=self.settings.requeue_period)
        em.set_true(ASSOCIATION_READY)
        self._mirror_reachable(em, capi_machine, host)
        em.addresses = host.addresses  # what its agent reports, for Cluster API to show on the Machine
        # Where it landed, as its host's label says now (Cluster API shows it on the Machine).
        em.failure_domain = failuredomains.host_domain(host.raw, label) if label else None
        self._release_stale_claims(em, host)
        if not host.installed:
            em.set_false(
                HOST_READY, ERROR, HOST_WAITING_FOR_INSTALL, f"ElementalHost '{host.name}' is not installed."
            )
            return Result()
        if not host.bootstrapped:
            _waiting_for_bootstrap(em, host)
            return Result()
        em.set_true(HOST_READY)
        # Without a control-plane provider nothing would ever say "initialized" before this
        # machine's Node has its providerID: the kubeconfig Secret and the Node are waited for.
        if cluster.has_control_plane_provider and not cluster.control_plane_initialized:
            em.set_false(
                PROVIDER_ID_READY,
                INFO,
                WAITING_FOR_CONTROL_PLANE_INITIALIZED,
                f"Waiting for downstream cluster '{cluster.name}' control plane initialized.",
            )
            return Result(requeue_after=self.settings.requeue_period)
        if not self._set_provider_id(em, cluster, host):
            return Result(requeue_after=self.settings.requeue_period)
        em.ready = True
        return Result()

    def _mirror_reachable(self, em: ElementalMachineView, capi_machine: MachineView, host: HostView) -> None:
        """The host's HostReachable, copied onto the machine and its Machine when it changes
        there: what a MachineHealthCheck's unhealthyMachineConditions can match (it is no
        part of the machine's Ready)."""
        source = host.condition(HOST_REACHABLE)
        if source is None:
            return  # no verdict yet (or liveness is off)
        wanted = {
            "type": HOST_REACHABLE,
            "status": source.get("status"),
            "reason": source.get("reason") or source.get("status"),
            "message": source.get("message") or "",
        }
        if not machineconditions.same_state(em.condition(HOST_REACHABLE), wanted):
            em.set_condition(wanted)
        if not machineconditions.same_state(capi_machine.condition(HOST_REACHABLE), wanted):
            machineconditions.update(
                self.kube,
                capi_machine.namespace,
                capi_machine.name,
                lambda machine: machineconditions.set_if_changed(machine, wanted),
            )

    def _associate(
        self, em: ElementalMachineView, capi_machine: MachineView, secret_name: str, label: str | None
    ) -> Result:
        try:
            selectors.check(em.selector)
        except selectors.InvalidSelector as error:
            # Terminal until the spec changes (the machine's own watch brings it back then).
            em.set_false(ASSOCIATION_READY, ERROR, INVALID_SELECTOR, f"spec.selector is invalid: {error}")
            return Result()
        domain = capi_machine.failure_domain
        if domain is not None and label is None:
            # The contract says the machine MUST be placed there; no host is in any domain.
            em.set_false(
                ASSOCIATION_READY,
                WARNING,
                MISSING_AVAILABLE_HOSTS,
                f"No ElementalHosts available for association in failure domain '{domain}': "
                "the ElementalCluster sets no failureDomainLabel.",
            )
            return Result(requeue_after=self.settings.requeue_period)
        for candidate in self._candidates(em, domain, label):
            after = HostView(copy.deepcopy(candidate.raw))
            after.claim(em, capi_machine, secret_name)
            try:
                # One write carrying the host's resourceVersion: of two machines racing for
                # it, the API server lets exactly one win.
                linked = HostView(self.kube.apply_changes(HOSTS, candidate.raw, after.raw))
            except (Conflict, NotFound):
                continue  # taken, changed or gone meanwhile: the cache now knows; try the next one
            em.associate(linked)
            if label:
                em.failure_domain = failuredomains.host_domain(linked.raw, label)
            log.info("host associated", extra={"machine": em.name, "host": linked.name})
            em.set_true(ASSOCIATION_READY)
            _waiting_for_bootstrap(em, linked)
            return Result()
        where = f" in failure domain '{domain}' (host label {label})" if domain is not None else ""
        em.set_false(
            ASSOCIATION_READY,
            WARNING,
            MISSING_AVAILABLE_HOSTS,
            f"No ElementalHosts available for association{where}.",
        )
        return Result(requeue_after=self.settings.requeue_period)

    def _candidates(
        self, em: ElementalMachineView, domain: str | None, label: str | None
    ) -> Iterator[HostView]:
        """A host already linked to this machine (an association a crash interrupted), else
        free ones matching spec.selector and, when the Machine names a failure domain, in
        it, in the machine's own order (see placement). Lazily: the first match is usually
        taken, so the other free hosts are never looked at. Views over read-only snapshots:
        never changed."""
        for host in self._live_claims(em):
            yield host
            return
        for raw in placement.preference_order(
            em.name, self.kube.indexed(HOSTS, host_indexes.FREE, em.namespace, "true")
        ):
            host = HostView(raw)
            if selectors.matches(em.selector, host.labels) and (
                domain is None or (label is not None and failuredomains.host_domain(raw, label) == domain)
            ):
                yield host

    def _live_claims(self, em: ElementalMachineView) -> list[HostView]:
        """Hosts whose labels give them to this machine, not asked to reset nor being deleted
        (views over the cache's snapshots: never changed)."""
        claimed = self.kube.indexed(HOSTS, host_indexes.CLAIMED_BY, em.namespace, em.name)
        return [h for h in map(HostView, claimed) if not h.has_label(LABEL_NEEDS_RESET) and not h.deleting]

    def _release_stale_claims(self, em: ElementalMachineView, host: HostView) -> None:
        """Hosts labelled for this machine besides its hostRef are claims that lost a race:
        two operators (or a stale cache) linked a host each, and only one hostRef write won.
        Level-triggered clean-up: such a host is given back, or reset if already bootstrapped."""
        for claimed in (h.raw for h in self._live_claims(em) if h.name != host.name):
            after = HostView(copy.deepcopy(claimed))
            if after.bootstrapped:
                after.request_reset()
            else:
                after.release_claim()
            try:
                self.kube.apply_changes(HOSTS, claimed, after.raw)
            except (Conflict, NotFound):
                continue  # changed meanwhile: looked at again on the next pass
            log.info("stale host claim released", extra={"machine": em.name, "host": after.name})

    def _set_provider_id(self, em: ElementalMachineView, cluster: ClusterView, host: HostView) -> bool:
        """Sets the providerID on the workload cluster's Node and the machine; False while
        that cannot be done yet (no kubeconfig Secret, no Node of the host's name)."""
        wanted = provider_id(host.key)
        if em.provider_id == wanted:
            # Set by an earlier pass, maybe on the cluster this machine was moved from: the
            # condition may say otherwise (a wait written since), so it is said again.
            em.set_true(PROVIDER_ID_READY)
            return True
        secret = self.kube.read_secret(cluster.namespace, cluster.kubeconfig_secret)
        if secret is None or KUBECONFIG_VALUE_FIELD not in secret:
            log.info(
                "waiting for the workload cluster's kubeconfig",
                extra={"machine": em.name, "secret": cluster.kubeconfig_secret},
            )
            em.set_false(
                PROVIDER_ID_READY,
                INFO,
                WAITING_FOR_KUBECONFIG,
                f"Waiting for the kubeconfig Secret '{cluster.kubeconfig_secret}' of downstream "
                f"cluster '{cluster.name}'.",
            )
            return False
        try:
            self.kube.set_node_provider_id(secret[KUBECONFIG_VALUE_FIELD], host.name, wanted)
        except NotFound:
            em.set_false(
                PROVIDER_ID_READY,
                ERROR,
                NODE_NOT_FOUND,
                f"Downstream cluster node '{host.name}' is not found.",
            )
            return False
        em.provider_id = wanted
        em.set_true(PROVIDER_ID_READY)
        return True

    def _reconcile_delete(self, before: dict[str, Any], em: ElementalMachineView) -> None:
        """Asks the host to reset, says so in Ready (False, Deleting: what Cluster API mirrors
        into the Machine while it waits), then lets the machine go. Without our finalizer
        (someone else's holds the machine) Ready says that, once."""
        if not em.holds_finalizer:
            if (em.condition(READY) or {}).get("reason") != DELETING:
                em.summarize(deleting="Waiting for other finalizers")
                em.refresh_observed_generation(before)
                self.kube.apply_changes(ELEMENTAL_MACHINES, before, em.raw)
            return
        host_key = em.host_key
        host = HostView.of(self.kube.get(HOSTS, *host_key)) if host_key else None
        if host is not None and not host.label_is_true(LABEL_NEEDS_RESET):
            after = HostView(copy.deepcopy(host.raw))
            after.request_reset()
            self.kube.apply_changes(HOSTS, host.raw, after.raw)
            log.info("host asked to reset", extra={"machine": em.name, "host": host.name})
        em.summarize(deleting=f"ElementalHost '{host.name}' asked to reset" if host else "No host to reset")
        em.refresh_observed_generation(before)
        written = self.kube.apply_changes(ELEMENTAL_MACHINES, before, em.raw)
        released = ElementalMachineView(copy.deepcopy(written))
        released.remove_finalizer()
        self.kube.apply_changes(ELEMENTAL_MACHINES, written, released.raw)

    def _cluster_to_machines(self, cluster: dict[str, Any]) -> list[Key]:
        view = ClusterView(cluster)
        return self._machines_of(view.namespace, view.name)

    def _elemental_cluster_to_machines(self, elemental_cluster: dict[str, Any]) -> list[Key]:
        view = ElementalClusterView(elemental_cluster)
        owner = view.cluster_owner
        return self._machines_of(view.namespace, owner) if owner else []

    def _machines_of(self, namespace: str, cluster: str) -> list[Key]:
        machines = [MachineView(raw) for raw in self.kube.scan(MACHINES, namespace)]
        return [
            key
            for machine in machines
            if machine.cluster_name == cluster and (key := machine.elemental_machine_key) is not None
        ]


def _waiting_for_bootstrap(em: ElementalMachineView, host: HostView) -> None:
    em.set_false(
        HOST_READY,
        INFO,
        HOST_WAITING_FOR_BOOTSTRAP,
        f"Waiting for ElementalHost '{host.name}' to be bootstrapped",
    )


def _host_to_machine(host: dict[str, Any]) -> list[Key]:
    key = HostView(host).machine_key
    return [key] if key else []


def _machine_to_elemental(machine: dict[str, Any]) -> list[Key]:
    key = MachineView(machine).elemental_machine_key
    return [key] if key else []
