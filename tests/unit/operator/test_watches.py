"""Which primary keys a change to a watched object wakes (each controller's watches())."""

from __future__ import annotations

from elemental_core.vocabulary import CLUSTERS, ELEMENTAL_MACHINES, HOSTS, MACHINES
from tests.unit.operator.scene import NS, Scene


def test_a_machine_wakes_its_host(scene: Scene) -> None:
    mapper = scene.hosts().watches()[ELEMENTAL_MACHINES]
    em = scene.machine_pair()
    assert mapper(em) == []
    em["spec"]["hostRef"] = {"name": "host"}
    assert mapper(em) == [(NS, "host")]
    em["spec"]["hostRef"] = {"name": "host", "namespace": "elsewhere"}
    assert mapper(em) == [("elsewhere", "host")]


def test_a_host_a_machine_and_a_cluster_wake_their_elemental_machines(scene: Scene) -> None:
    watches = scene.machines().watches()
    host = scene.host("host")
    assert watches[HOSTS](host) == []
    host["spec"]["machineRef"] = {"name": "em"}
    assert watches[HOSTS](host) == [(NS, "em")]

    scene.machine_pair("em-1")
    scene.machine_pair("em-2")
    scene.machine_pair("em-other", cluster="other")
    machine = scene.get(MACHINES, "em-1-machine") or {}
    assert watches[MACHINES](machine) == [(NS, "em-1")]
    machine["spec"]["infrastructureRef"]["apiGroup"] = "infrastructure.example.com"
    assert watches[MACHINES](machine) == []
    machine["spec"]["infrastructureRef"].update(apiGroup=ELEMENTAL_MACHINES.group, kind="SomeoneElsesMachine")
    assert watches[MACHINES](machine) == []

    cluster = scene.cluster()
    assert sorted(watches[CLUSTERS](cluster)) == [(NS, "em-1"), (NS, "em-2")]


def test_a_cluster_wakes_the_elemental_cluster_it_names(scene: Scene) -> None:
    mapper = scene.clusters().watches()[CLUSTERS]
    cluster = scene.cluster("cluster")
    assert mapper(cluster) == [(NS, "cluster")]
    cluster["spec"]["infrastructureRef"]["kind"] = "SomeoneElsesCluster"
    assert mapper(cluster) == []
    cluster["spec"]["infrastructureRef"].update(
        kind="ElementalCluster", apiGroup="infrastructure.example.com"
    )
    assert mapper(cluster) == []
