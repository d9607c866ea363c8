"""The whole job end to end, as a platform team would see it: the API on the Kubernetes store
and the operator as real processes, agents with the dummy plugin on three "machines", and
Cluster API played by the test, with a second kube-apiserver as the workload cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from elemental_core.vocabulary import LABEL_ELEMENTAL_MACHINE_NAME, LABEL_INSTALLED
from tests.controlplane import ControlPlane
from tests.e2e.processes import OperatorProcess
from tests.e2e.scenario import Scenario, kubeconfig_bytes, node
from tests.helpers import wait_for
from tests.live import LiveServer


@pytest.fixture(scope="module")
def workload_cluster() -> Iterator[ControlPlane]:
    with ControlPlane() as downstream:
        yield downstream


def test_hosts_become_machines_and_come_back_after_a_reset(
    control_plane: ControlPlane, workload_cluster: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    with (
        LiveServer(tmp_path / "api", kubeconfig=control_plane.kubeconfig_path) as api,
        control_plane.api_client() as admin,
    ):
        operator = OperatorProcess(
            kubeconfig=control_plane.kubeconfig_path,
            api_endpoint=api.base_url,
            log_path=tmp_path / "operator.log",
        ).start()
        scenario = Scenario(
            admin=admin, namespace=kube_namespace, downstream=workload_cluster, workdir=tmp_path
        )
        try:
            run(scenario, workload_cluster)
        finally:
            scenario.stop_all()
            assert operator.stop() == 0, operator.log()


def run(scenario: Scenario, workload_cluster: ControlPlane) -> None:
    registration = scenario.create_registration()
    scenario.boot_hosts(registration, 3)
    hosts = {h.name(): h for h in scenario.hosts}
    assert len(hosts) == 3
    for host in scenario.hosts:
        stored = scenario.wait_installed(host)
        assert stored["metadata"]["labels"]["site"] == "lab"
        host.start_run()
    # One machine asks for a particular host through its selector.
    special = scenario.hosts[2].name()
    scenario.custom.patch_namespaced_custom_object(
        "infrastructure.cluster.x-k8s.io",
        "v1beta1",
        scenario.namespace,
        "elementalhosts",
        special,
        {"metadata": {"labels": {"role": "special"}}},
    )
    with workload_cluster.api_client() as downstream:
        for name in hosts:
            k8s.CoreV1Api(downstream).create_node(node(name))
    scenario.play_capi_cluster(kubeconfig_bytes(workload_cluster))
    scenario.play_capi_machine("special-0", selector={"matchLabels": {"role": "special"}})
    # The workers' empty selector matches the special host too: they come once it is taken.
    wait_for(
        lambda: ((scenario.elemental("elementalmachines", "special-0") or {}).get("spec") or {}).get(
            "hostRef"
        ),
        what="special-0 associated",
        timeout=60,
    )
    scenario.play_capi_machine("worker-0")
    scenario.play_capi_machine("worker-1")

    for host in scenario.hosts:
        scenario.bootstrap(host)
    machines = {name: scenario.machine_ready(name) for name in ("special-0", "worker-0", "worker-1")}
    assert machines["special-0"]["spec"]["hostRef"]["name"] == special
    taken = sorted(m["spec"]["hostRef"]["name"] for m in machines.values())
    assert taken == sorted(hosts)  # each machine its own host
    with workload_cluster.api_client() as downstream:
        for name, machine in machines.items():
            host_name = machine["spec"]["hostRef"]["name"]
            provider_id = f"elemental://{scenario.namespace}/{host_name}"
            assert machine["spec"]["providerID"] == provider_id
            assert k8s.CoreV1Api(downstream).read_node(host_name).spec.provider_id == provider_id
            ready = {c["type"]: c["status"] for c in machine["status"]["conditions"]}
            assert ready["Ready"] == "True", machine["status"]
            host = scenario.elemental("elementalhosts", host_name)
            assert host is not None
            assert host["metadata"]["labels"][LABEL_ELEMENTAL_MACHINE_NAME] == name

    # The machine goes away: its host resets, disappears, and comes back as a fresh host.
    reset_host = scenario.reset_after_machine_deletion("worker-0")
    old_name = reset_host.name()
    scenario.register_and_install(reset_host)
    new_name = reset_host.name()
    assert new_name != old_name
    fresh = scenario.wait_installed(reset_host)
    assert fresh["metadata"]["labels"][LABEL_INSTALLED] == "true"
    assert LABEL_ELEMENTAL_MACHINE_NAME not in fresh["metadata"]["labels"]
    wait_for(lambda: len(scenario.elemental_hosts()) == 3, what="three hosts again", timeout=60)
