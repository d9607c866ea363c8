"""End to end with Cluster API's own controllers: CAPI v1.14's core manager and
kube-controller-manager's garbage collector over the management control plane, the API (on
the Kubernetes store) and the operator as processes, hosts running the agent with the dummy
plugin, a second kube-apiserver as the workload cluster. Only cluster.x-k8s.io/v1beta2
objects. The test plays the parts nobody runs here: the kubelet (a host that bootstrapped
registers its Node), a control-plane provider (it reports its control plane initialized and
writes the kubeconfig Secret), and the platform team (`clusterctl move`).

The tests are the steps of one story and run in order (`incremental`): one cluster from a
MachineDeployment, scaled down and up, remediated by a MachineHealthCheck, paused and moved
to a second management cluster, deleted; a stand-alone cluster (no controlPlaneRef) beside it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from elemental_core.vocabulary import (
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_INSTALLED,
    LABEL_NEEDS_RESET,
    PHASE_RUNNING,
)
from tests.controlplane import ControlPlane
from tests.e2e.capi_world import (
    CLUSTERS,
    CONTROL_PLANES,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_HOSTS,
    ELEMENTAL_MACHINE_TEMPLATES,
    ELEMENTAL_MACHINES,
    ELEMENTAL_REGISTRATIONS,
    HEALTH_CHECKS,
    LABEL_CLUSTER_NAME,
    LABEL_DEPLOYMENT_NAME,
    MACHINE_DEPLOYMENTS,
    MACHINES,
    MOVE_LABEL,
    Fleet,
    Kubelet,
    Management,
    Obj,
    Objects,
    cluster_body,
    condition,
    control_plane_machine_body,
    elemental_cluster_body,
    health_check_body,
    host_of,
    installed,
    issued_registration,
    labels,
    machine_deployment_body,
    machine_template_body,
    registration_body,
    running_machines,
)
from tests.e2e.processes import ApiProcess, OperatorProcess
from tests.e2e.scenario import bootstrap_secret, kubeconfig_secret
from tests.helpers import wait_for

pytestmark = pytest.mark.incremental

CLUSTER = "edge"
DEPLOYMENT = "edge-workers"
STANDALONE = "solo"
# Bounds for a loaded 2-core machine: each wait is for CAPI, the operator and the agents
# together (requeues, check-ins every 0.5 s, CAPI's own resyncs).
CONVERGE = 240.0
STEP_TIMEOUT = 900


@dataclass
class World:
    workdir: Path
    workload: ControlPlane
    source: Management
    api: ApiProcess
    kubelet: Kubelet
    operator: OperatorProcess | None = None
    fleets: dict[str, Fleet] = field(default_factory=dict)
    target: Management | None = None
    moved: bool = False
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    @property
    def current(self) -> Management:
        """The management cluster the API and the operator work against."""
        return self.target if self.target is not None and self.moved else self.source

    def stop_operator(self) -> None:
        if self.operator is not None:
            assert self.operator.stop() == 0, self.operator.log()
            self.operator = None

    def objects(self, namespace: str) -> Objects:
        objects = self.current.objects(namespace)
        self.stack.callback(objects.close)
        return objects

    def step(self) -> None:
        for fleet in self.fleets.values():
            fleet.step()

    def converge(self, condition: Any, what: str, timeout: float = CONVERGE) -> Any:
        """Waits for `condition` while the hosts live their lives."""

        def stepped() -> Any:
            self.step()
            return condition()

        return wait_for(stepped, what=what, timeout=timeout, interval=0.25)

    def start_operator(self, management: Management, log_name: str) -> OperatorProcess:
        return OperatorProcess(
            kubeconfig=management.cp.kubeconfig_path,
            api_endpoint=self.api.base_url,
            log_path=self.workdir / log_name,
        ).start(timeout=120)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("real-capi")
    with contextlib.ExitStack() as stack:
        workload = stack.enter_context(ControlPlane())
        source = stack.enter_context(Management(workdir, "source"))
        for namespace in (CLUSTER, STANDALONE):
            source.cp.create_namespace(namespace)
        api = ApiProcess(workdir / "api", kubeconfig=source.cp.kubeconfig_path)
        api.start()
        stack.callback(api.stop)
        kubelet = Kubelet(workload)
        stack.callback(kubelet.close)
        world = World(workdir, workload, source, api, kubelet)
        world.operator = world.start_operator(source, "operator-source.log")
        stack.callback(world.stop_operator)
        stack.enter_context(world.stack)
        try:
            yield world
        finally:
            for fleet in world.fleets.values():
                fleet.stop_all()
            if world.target is not None:
                world.target.close()


def boot_fleet(world: World, namespace: str, count: int) -> Fleet:
    objects = world.objects(namespace)
    objects.create(ELEMENTAL_REGISTRATIONS, registration_body("hosts"))
    registration = issued_registration(objects, "hosts")
    fleet = Fleet(world.workdir / f"hosts-{namespace}", world.kubelet)
    world.fleets[namespace] = fleet
    for host in fleet.boot(registration, count):
        wait_for(lambda h=host: installed(objects, h.name), what=f"{host.name} installed", timeout=CONVERGE)
    return fleet


def play_control_plane_provider(world: World, objects: Objects, cluster: str) -> None:
    """Once the infrastructure is provisioned: the kubeconfig Secret and `initialized`."""
    world.converge(
        lambda: (
            ((objects.get(CLUSTERS, cluster) or {}).get("status") or {})
            .get("initialization", {})
            .get("infrastructureProvisioned")
        ),
        what=f"Cluster {cluster}: infrastructure provisioned",
    )
    kubeconfig = world.workload.kubeconfig_path.read_bytes()
    with contextlib.suppress(Exception):  # written before a move: the Secret moved with the Cluster
        objects.create_secret(kubeconfig_secret(cluster, kubeconfig))
    objects.patch_status(
        CONTROL_PLANES, cluster, {"status": {"initialization": {"controlPlaneInitialized": True}}}
    )


def machines_running(world: World, objects: Objects, count: int) -> list[Obj]:
    def running() -> list[Obj] | None:
        machines = running_machines(objects, DEPLOYMENT)
        all_machines = objects.items(MACHINES, **{LABEL_DEPLOYMENT_NAME: DEPLOYMENT})
        return machines if len(machines) == count == len(all_machines) else None

    found: list[Obj] = world.converge(running, what=f"{count} Machines Running with a nodeRef")
    return found


def assert_machine_runs_on_its_host(world: World, objects: Objects, machine: Obj) -> str:
    """The Machine's Node is its host's, with the providerID the ElementalMachine set."""
    host = host_of(objects, machine)
    assert host is not None, machine
    provider_id = f"elemental://{objects.namespace}/{host}"
    assert machine["spec"]["providerID"] == provider_id
    assert machine["status"]["nodeRef"]["name"] == host
    node = world.kubelet.node(host)
    assert node is not None and node.spec is not None and node.spec.provider_id == provider_id
    assert (
        labels(objects.get(ELEMENTAL_HOSTS, host))[LABEL_ELEMENTAL_MACHINE_NAME]
        == machine["spec"]["infrastructureRef"]["name"]
    )
    return host


def free_host(objects: Objects, name: str) -> Obj | None:
    """The host, installed and taken by no machine."""
    host = installed(objects, name)
    if host is None or LABEL_ELEMENTAL_MACHINE_NAME in labels(host) or LABEL_NEEDS_RESET in labels(host):
        return None
    return host


# -- the story ---------------------------------------------------------------------------------


@pytest.mark.timeout(STEP_TIMEOUT)
def test_machines_of_a_machine_deployment_run_on_hosts(world: World) -> None:
    fleet = boot_fleet(world, CLUSTER, 2)
    objects = world.objects(CLUSTER)
    # Given by the user through dataSecretName, so owned by nothing CAPI moves: the move label
    # makes `clusterctl move` take it along (a bootstrap provider's Secret is owned by its config).
    secret = bootstrap_secret("edge-bootstrap", CLUSTER, "#cloud-config\nruncmd:\n- echo edge\n")
    secret.metadata = k8s.V1ObjectMeta(
        name="edge-bootstrap", labels={LABEL_CLUSTER_NAME: CLUSTER, MOVE_LABEL: ""}
    )
    objects.create_secret(secret)
    objects.create(ELEMENTAL_CLUSTERS, elemental_cluster_body(CLUSTER))
    objects.create(CONTROL_PLANES, {"kind": "TestControlPlane", "metadata": {"name": CLUSTER}, "spec": {}})
    objects.create(CLUSTERS, cluster_body(CLUSTER, control_plane=True))
    objects.create(ELEMENTAL_MACHINE_TEMPLATES, machine_template_body(DEPLOYMENT))
    objects.create(
        MACHINE_DEPLOYMENTS, machine_deployment_body(DEPLOYMENT, CLUSTER, DEPLOYMENT, "edge-bootstrap", 2)
    )
    play_control_plane_provider(world, objects, CLUSTER)

    machines = machines_running(world, objects, 2)

    hosts = {assert_machine_runs_on_its_host(world, objects, m) for m in machines}
    assert hosts == {h.name for h in fleet.hosts}  # each Machine its own host
    for machine in machines:
        em = objects.get(ELEMENTAL_MACHINES, machine["spec"]["infrastructureRef"]["name"])
        assert em is not None
        # CAPI made the ElementalMachine from the template and owns it through the Machine.
        assert [o["kind"] for o in em["metadata"]["ownerReferences"] if o.get("controller")] == ["Machine"]
    for host in fleet.hosts:
        assert (
            host.agent.file("/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg")
            .read_text()
            .find("echo edge")
            >= 0
        )


@pytest.mark.timeout(STEP_TIMEOUT)
def test_scale_down_resets_the_host_and_offers_it_again(world: World) -> None:
    fleet, objects = world.fleets[CLUSTER], world.objects(CLUSTER)
    before = {host_of(objects, m): m["metadata"]["name"] for m in running_machines(objects, DEPLOYMENT)}

    objects.patch(MACHINE_DEPLOYMENTS, DEPLOYMENT, {"spec": {"replicas": 1}})

    (kept,) = machines_running(world, objects, 1)
    kept_host = host_of(objects, kept)
    (gone_host,) = set(before) - {kept_host}
    assert gone_host is not None
    host = fleet.by_name(gone_host)
    world.converge(
        lambda: host.name != gone_host and free_host(objects, host.name), what=f"{gone_host} back, free"
    )
    assert host.resets == 1
    assert objects.get(ELEMENTAL_HOSTS, gone_host) is None  # reset hosts go; they come back new
    assert objects.get(MACHINES, before[gone_host]) is None
    # CAPI leaves the Node (it deletes none while the cluster has no control-plane Machine).
    assert gone_host not in {m["status"]["nodeRef"]["name"] for m in running_machines(objects)}


@pytest.mark.timeout(STEP_TIMEOUT)
def test_scale_up_takes_the_host_that_came_back(world: World) -> None:
    fleet, objects = world.fleets[CLUSTER], world.objects(CLUSTER)
    (came_back,) = [h for h in fleet.hosts if h.resets == 1]

    objects.patch(MACHINE_DEPLOYMENTS, DEPLOYMENT, {"spec": {"replicas": 2}})

    machines = machines_running(world, objects, 2)
    hosts = {assert_machine_runs_on_its_host(world, objects, m) for m in machines}
    assert came_back.name in hosts


@pytest.mark.timeout(STEP_TIMEOUT)
def test_a_machine_health_check_remediates_and_the_replacement_gets_a_host(world: World) -> None:
    fleet, objects = world.fleets[CLUSTER], world.objects(CLUSTER)
    objects.create(HEALTH_CHECKS, health_check_body(DEPLOYMENT, CLUSTER, DEPLOYMENT))
    machines = running_machines(objects, DEPLOYMENT)
    sick = machines[0]
    sick_host = host_of(objects, sick)
    assert sick_host is not None
    resets_before = fleet.by_name(sick_host).resets

    world.kubelet.set_ready(sick_host, "False")  # the Node goes NotReady

    world.converge(
        lambda: objects.get(MACHINES, sick["metadata"]["name"]) is None, what="the sick Machine gone"
    )
    replaced = machines_running(world, objects, 2)
    assert sick["metadata"]["name"] not in {m["metadata"]["name"] for m in replaced}
    host = fleet.by_name(sick_host)
    assert host.resets == resets_before + 1
    assert host.name != sick_host
    hosts = {assert_machine_runs_on_its_host(world, objects, m) for m in replaced}
    assert host.name in hosts  # the only free host: the one reset by the remediation
    world.converge(
        lambda: (
            ((objects.get(HEALTH_CHECKS, DEPLOYMENT) or {}).get("status") or {}).get("currentHealthy") == 2
        ),
        what="the MachineHealthCheck counting two healthy Machines",
    )


@pytest.mark.timeout(STEP_TIMEOUT)
def test_a_cluster_without_a_control_plane_ref_does_not_deadlock(world: World) -> None:
    fleet = boot_fleet(world, STANDALONE, 1)
    objects = world.objects(STANDALONE)
    objects.create_secret(
        bootstrap_secret("solo-bootstrap", STANDALONE, "#cloud-config\nruncmd:\n- echo solo\n")
    )
    # Without a control-plane provider the user writes the kubeconfig Secret.
    objects.create_secret(kubeconfig_secret(STANDALONE, world.workload.kubeconfig_path.read_bytes()))
    objects.create(ELEMENTAL_CLUSTERS, elemental_cluster_body(STANDALONE))
    objects.create(CLUSTERS, cluster_body(STANDALONE, control_plane=False))
    objects.create(
        ELEMENTAL_MACHINES, {"kind": "ElementalMachine", "metadata": {"name": "solo-0"}, "spec": {}}
    )
    objects.create(MACHINES, control_plane_machine_body("solo-0", STANDALONE, "solo-bootstrap"))

    world.converge(lambda: running_machines(objects), what="the stand-alone control-plane Machine Running")

    machine = objects.get(MACHINES, "solo-0")
    assert machine is not None
    assert assert_machine_runs_on_its_host(world, objects, machine) == fleet.hosts[0].name
    # CAPI says so once the first control-plane Machine has a Node: the wait it had to end.
    world.converge(
        lambda: (
            (condition(objects.get(CLUSTERS, STANDALONE), "ControlPlaneInitialized") or {}).get("status")
            == "True"
        ),
        what="Cluster solo: ControlPlaneInitialized",
    )

    objects.delete(CLUSTERS, STANDALONE)

    world.converge(lambda: not objects.items(CLUSTERS), what="Cluster solo deleted")
    assert_cleaned_up(world, objects, fleet)


@pytest.mark.timeout(STEP_TIMEOUT)
def test_pause_stops_the_provider_and_unpausing_resumes_it(world: World) -> None:
    objects = world.objects(CLUSTER)

    def provider_objects() -> list[Obj]:
        return objects.items(ELEMENTAL_MACHINES) + objects.items(ELEMENTAL_CLUSTERS)

    objects.patch(CLUSTERS, CLUSTER, {"spec": {"paused": True}})

    world.converge(
        lambda: all(paused_condition(obj) == ("True", "Paused") for obj in provider_objects()),
        what="every ElementalMachine and the ElementalCluster say they are paused",
    )
    objects.patch(CLUSTERS, CLUSTER, {"spec": {"paused": False}})  # clusterctl move refuses a paused Cluster
    world.converge(
        lambda: all(paused_condition(obj) == ("False", "NotPaused") for obj in provider_objects()),
        what="every ElementalMachine and the ElementalCluster say they are no longer paused",
    )


@pytest.mark.timeout(STEP_TIMEOUT)
def test_clusterctl_move_keeps_the_hosts_working(world: World) -> None:
    fleet, source = world.fleets[CLUSTER], world.objects(CLUSTER)
    resets_before = sum(h.resets for h in fleet.hosts)
    machines_before = {
        m["metadata"]["name"]: (m["spec"]["providerID"], host_of(source, m))
        for m in running_machines(source, DEPLOYMENT)
    }
    (registration_before,) = source.items(ELEMENTAL_REGISTRATIONS)
    public_keys = {h["metadata"]["name"]: h["spec"]["pubKey"] for h in source.items(ELEMENTAL_HOSTS)}
    # The target is set up as `clusterctl init` leaves it: CAPI and the provider running
    # there before the move, so the operator there sees the objects arrive (paused, no status).
    world.target = Management(world.workdir, "target").__enter__()
    world.target.cp.create_namespace(CLUSTER)
    target_operator = world.start_operator(world.target, "operator-target.log")
    world.stack.callback(target_operator.stop)  # also when the move fails

    moved = clusterctl_move(world, world.source, world.target, CLUSTER)
    assert moved.returncode == 0, moved.stdout + moved.stderr

    # The API follows (a DNS switch for the agents: same address); the source's operator goes.
    world.stop_operator()
    world.operator = target_operator
    world.moved = True
    world.api.switch(world.target.cp.kubeconfig_path)
    target = world.objects(CLUSTER)
    for kind in (
        CLUSTERS,
        ELEMENTAL_CLUSTERS,
        ELEMENTAL_HOSTS,
        ELEMENTAL_REGISTRATIONS,
        MACHINES,
        ELEMENTAL_MACHINES,
    ):
        assert not source.items(kind), f"{kind.plural} left behind in the source"
    assert source.secrets() == [], "Secrets of the cluster left behind in the source"
    # The registration's signing key (owned by it), the kubeconfig (named after the Cluster),
    # the bootstrap data (move label).
    assert {"hosts", f"{CLUSTER}-kubeconfig", "edge-bootstrap"} <= set(target.secrets())
    # The registration and the hosts' identities moved as they were: the agents' tokens hold.
    (registration,) = target.items(ELEMENTAL_REGISTRATIONS)
    assert registration["spec"]["config"] == registration_before["spec"]["config"]
    assert {h["metadata"]["name"]: h["spec"]["pubKey"] for h in target.items(ELEMENTAL_HOSTS)} == public_keys
    # The control-plane provider, now running against the target, reports again (clusterctl
    # restores no status).
    play_control_plane_provider(world, target, CLUSTER)
    # Hosts check in with the target: each patch answered 200 from its store, which gives the
    # hosts back the phase that lived only in their status.
    answered = world.api.answered("PATCH")
    world.converge(
        lambda: world.api.answered("PATCH") >= answered + 2 * len(fleet.hosts), what="check-ins answered"
    )
    world.converge(
        lambda: all(
            (h.get("status") or {}).get("phase") == PHASE_RUNNING for h in target.items(ELEMENTAL_HOSTS)
        ),
        what="every host's phase reported again",
    )
    machines = machines_running(world, target, 2)
    assert {
        m["metadata"]["name"]: (m["spec"]["providerID"], host_of(target, m)) for m in machines
    } == machines_before
    for machine in machines:
        assert_machine_runs_on_its_host(world, target, machine)

    def provider_objects() -> list[Obj]:
        return target.items(ELEMENTAL_MACHINES) + target.items(ELEMENTAL_CLUSTERS)

    try:
        world.converge(
            lambda: all(provisioned_and_ready(obj) for obj in provider_objects()),
            what="the moved ElementalMachines and ElementalCluster provisioned and Ready again",
        )
    except AssertionError as error:
        statuses = {obj["metadata"]["name"]: obj.get("status") for obj in provider_objects()}
        raise AssertionError(f"{error}; statuses: {statuses}") from None
    assert sum(h.resets for h in fleet.hosts) == resets_before  # no host was reset by the move
    assert not any(LABEL_NEEDS_RESET in labels(h) for h in target.items(ELEMENTAL_HOSTS))
    assert not (target.get(CLUSTERS, CLUSTER) or {}).get("spec", {}).get("paused")


def paused_condition(obj: Obj) -> tuple[str, str] | None:
    found = condition(obj, "Paused")
    return None if found is None else (found.get("status", ""), found.get("reason", ""))


def provisioned_and_ready(obj: Obj) -> bool:
    status = obj.get("status") or {}
    ready = condition(obj, "Ready") or {}
    return (status.get("initialization") or {}).get("provisioned") is True and ready.get("status") == "True"


@pytest.mark.timeout(STEP_TIMEOUT)
def test_cluster_deletion_leaves_nothing_stuck(world: World) -> None:
    fleet, objects = world.fleets[CLUSTER], world.objects(CLUSTER)
    taken = {host_of(objects, m) for m in running_machines(objects, DEPLOYMENT)}
    resets_before = {h.name: h.resets for h in fleet.hosts}

    objects.delete(CLUSTERS, CLUSTER)

    world.converge(lambda: not objects.items(CLUSTERS), what="Cluster edge deleted")
    assert taken == set(resets_before)
    assert_cleaned_up(world, objects, fleet, resets_before)


def assert_cleaned_up(
    world: World, objects: Objects, fleet: Fleet, resets_before: dict[str, int] | None = None
) -> None:
    """Nothing of the cluster is left, nothing has a finalizer; every host reset and is free."""
    world.converge(
        lambda: all(free_host(objects, h.name) for h in fleet.hosts) and all(h.resets for h in fleet.hosts),
        what="every host reset and free again",
    )
    left = [
        name
        for name in objects.remaining()
        if not name.startswith(("elementalhosts/", "elementalregistrations/"))
    ]
    assert left == []
    stuck = [
        name
        for name in objects.with_finalizers()
        if not name.startswith(("elementalhosts/", "elementalregistrations/"))
    ]
    assert stuck == []
    if resets_before is not None:
        assert all(fleet.by_name(name).resets == count + 1 for name, count in resets_before.items())
    for host in fleet.hosts:
        stored = objects.get(ELEMENTAL_HOSTS, host.name)
        assert stored is not None and labels(stored)[LABEL_INSTALLED] == "true"


def clusterctl_move(
    world: World, source: Management, target: Management, namespace: str
) -> subprocess.CompletedProcess[str]:
    config = world.workdir / "clusterctl.yaml"
    config.write_text(yaml.safe_dump({}))
    return subprocess.run(
        [
            str(source.cp.binaries / "clusterctl"),
            "move",
            f"--config={config}",
            f"--kubeconfig={source.cp.kubeconfig_path}",
            f"--to-kubeconfig={target.cp.kubeconfig_path}",
            f"--namespace={namespace}",
            "-v=2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "CLUSTERCTL_DISABLE_VERSIONCHECK": "true", "HOME": str(world.workdir)},
    )


# -- the manager's view ------------------------------------------------------------------------


def capi_logs(world: World) -> dict[str, list[str]]:
    """The lines of each management cluster's CAPI manager log (both: the move step ran)."""
    assert world.target is not None
    logs = {}
    for management in (world.source, world.target):
        path = management.manager.log_path
        logs[management.name] = path.read_text(errors="replace").splitlines()
    return logs


@pytest.mark.timeout(60)
def test_the_cluster_api_manager_logged_no_error_about_an_elemental_object(world: World) -> None:
    for name, lines in capi_logs(world).items():
        assert any("ElementalMachine" in line for line in lines), f"{name}: CAPI never logged our kinds"
        errors = [line for line in lines if line.startswith("E") and "Elemental" in line]
        assert errors == [], name


@pytest.mark.timeout(60)
def test_the_cluster_api_manager_never_waited_for_status_ready(world: World) -> None:
    lines = [line for log in capi_logs(world).values() for line in log]
    waits = [line for line in lines if "Waiting for" in line and "status.ready" in line]
    assert waits == []
    # What it waits for instead, from a v1beta2-contract provider.
    assert any("status.initialization.provisioned on ElementalMachine" in line for line in lines)
