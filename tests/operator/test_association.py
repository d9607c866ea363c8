"""Association under pressure: many machines and hosts at once, two operators without
leader election, restarts in the middle of an association, and a converged state that
stays put."""

from __future__ import annotations

import threading
from typing import Any

from elemental_core.vocabulary import (
    ELEMENTAL_MACHINES,
    LABEL_BOOTSTRAPPED,
    LABEL_ELEMENTAL_MACHINE_NAME,
    LABEL_MACHINE_NAME,
    LABEL_NEEDS_RESET,
)
from tests.operator.activity import Activity, poke
from tests.operator.capi import (
    ECLUSTERS,
    EMS,
    HOSTS,
    REGS,
    Capi,
    Downstream,
    is_true,
    labels,
    wait_for,
)
from tests.operator.test_elementalmachine import host_ref

CONTROLLER_OF = {
    REGS: "elementalregistration",
    HOSTS: "elementalhost",
    EMS: "elementalmachine",
    ECLUSTERS: "elementalcluster",
}


def create_at_once(
    capi: Capi, machines: int, hosts: int, host_prefix: str = "host", machine_prefix: str = "em"
) -> None:
    """Hosts and machines created concurrently and interleaved, as fast as the API allows."""
    errors: list[BaseException] = []

    def run(target: Any, *args: Any) -> None:
        try:
            target(*args)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(capi.host, f"{host_prefix}-{i:02}")) for i in range(hosts)]
    threads += [
        threading.Thread(target=run, args=(capi.machine_pair, f"{machine_prefix}-{i:02}"))
        for i in range(machines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors


def all_associated(capi: Capi, count: int) -> list[dict[str, Any]] | None:
    ems = capi.list(EMS)
    return ems if len(ems) == count and all(host_ref(em) for em in ems) else None


def assert_one_host_per_machine(capi: Capi, ems: list[dict[str, Any]]) -> None:
    refs = [host_ref(em) for em in ems]
    assert len(set(refs)) == len(refs), f"a host given twice: {sorted(r or '' for r in refs)}"
    by_name = {em["metadata"]["name"]: em for em in ems}
    claimed: dict[str, list[str]] = {}
    for host in capi.list(HOSTS):
        owner = labels(host).get(LABEL_ELEMENTAL_MACHINE_NAME)
        if owner is None:
            assert "machineRef" not in host["spec"], host
            continue
        claimed.setdefault(owner, []).append(host["metadata"]["name"])
        em = by_name[owner]
        assert host_ref(em) == host["metadata"]["name"], f"{host['metadata']['name']} claims {owner}"
        assert host["spec"]["machineRef"]["uid"] == em["metadata"]["uid"]
        assert labels(host)[LABEL_MACHINE_NAME] == f"{owner}-machine"
    assert all(len(hosts) == 1 for hosts in claimed.values()), claimed
    assert sorted(claimed) == sorted(by_name)


def converged_one_to_one(capi: Capi, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    """Waits until every machine has a host and the hosts' claims agree with the machines'."""

    def check() -> list[dict[str, Any]] | None:
        ems = all_associated(capi, count)
        if ems is None:
            return None
        try:
            assert_one_host_per_machine(capi, ems)
        except AssertionError:
            return None
        return ems

    try:
        return wait_for(check, timeout, f"{count} machines each with their own host")
    except AssertionError:
        ems = capi.list(EMS)
        assert_one_host_per_machine(capi, ems)  # the precise failure
        raise


def test_ten_machines_ten_hosts_at_once_each_get_their_own(start_operator: Any, capi: Capi) -> None:
    start_operator(workers=4)
    capi.cluster()
    create_at_once(capi, machines=10, hosts=10)
    ems = converged_one_to_one(capi, 10)
    assert_one_host_per_machine(capi, ems)


def test_more_machines_than_hosts_never_share(start_operator: Any, capi: Capi, activity: Activity) -> None:
    operator = start_operator(workers=4)
    capi.cluster()
    create_at_once(capi, machines=8, hosts=5)

    def five_taken() -> bool:
        return sum(1 for em in capi.list(EMS) if host_ref(em)) == 5

    wait_for(five_taken, 20, "5 associations")
    # The waiting three keep retrying (each looks again twice more); nothing is taken twice.
    waiting = [em["metadata"]["name"] for em in capi.list(EMS) if not host_ref(em)]
    assert len(waiting) == 3
    activity.wait_processed(operator.manager, "elementalmachine", capi.namespace, waiting)
    ems = capi.list(EMS)
    associated = [em for em in ems if host_ref(em)]
    assert len(associated) == 5
    assert len({host_ref(em) for em in associated}) == 5
    for em in ems:
        if not host_ref(em):
            assert (em["status"]["conditions"][0]["reason"]) == "MissingAvailableHosts"


def test_two_operators_without_leader_election_never_double_associate(
    start_operator: Any, capi: Capi, activity: Activity
) -> None:
    managers = [start_operator(workers=4).manager, start_operator(workers=4).manager]
    capi.cluster()
    create_at_once(capi, machines=10, hosts=10)
    converged_one_to_one(capi, 10)
    # And it stays so: neither instance undoes or redoes the other's work, even when both
    # look at every machine again.
    activity.wait_idle(capi.custom, capi.namespace, *managers)
    names = [em["metadata"]["name"] for em in capi.list(EMS)]
    before = [activity.counts(m, "elementalmachine", capi.namespace, names) for m in managers]
    for name in names:
        poke(capi.custom, ELEMENTAL_MACHINES, capi.namespace, name)
    for manager, counts in zip(managers, before, strict=True):
        activity.wait_processed(manager, "elementalmachine", capi.namespace, names, times=1, since=counts)
    activity.wait_idle(capi.custom, capi.namespace, *managers)
    ems = all_associated(capi, 10)
    assert ems is not None
    assert_one_host_per_machine(capi, ems)


def test_restart_resumes_a_half_finished_association(start_operator: Any, capi: Capi) -> None:
    """The crash window: the host's link was written, the machine's hostRef was not."""
    capi.cluster()
    capi.host("a-free")  # would be picked first by a fresh association
    capi.host("b-linked")
    em = capi.machine_pair("em")
    capi.patch(
        HOSTS,
        "b-linked",
        {
            "metadata": {
                "labels": {LABEL_ELEMENTAL_MACHINE_NAME: "em", LABEL_MACHINE_NAME: "em-machine"},
            },
            "spec": {
                "machineRef": {
                    "apiVersion": em["apiVersion"],
                    "kind": "ElementalMachine",
                    "namespace": capi.namespace,
                    "name": "em",
                    "uid": em["metadata"]["uid"],
                },
                "bootstrapSecret": {
                    "kind": "Secret",
                    "namespace": capi.namespace,
                    "name": "em-machine-bootstrap",
                },
            },
        },
    )
    start_operator()
    em = capi.wait(EMS, "em", host_ref)
    assert host_ref(em) == "b-linked"
    free = capi.get(HOSTS, "a-free") or {}
    assert LABEL_ELEMENTAL_MACHINE_NAME not in labels(free)
    assert "machineRef" not in free["spec"]
    assert_one_host_per_machine(capi, [em])


def test_stop_and_start_while_machines_are_pending(start_operator: Any, capi: Capi) -> None:
    capi.cluster()
    first = start_operator(workers=4)
    for i in range(4):
        capi.machine_pair(f"em-{i:02}")
    wait_for(
        lambda: all(
            (em.get("status") or {}).get("conditions")
            and em["status"]["conditions"][0]["reason"] == "MissingAvailableHosts"
            for em in capi.list(EMS)
        ),
        20,
        "machines waiting for hosts",
    )
    first.stop()

    # Hosts come while no operator runs; more machines too, and the operator is stopped
    # again while it is busy associating.
    for i in range(4):
        capi.host(f"host-{i:02}")
    second = start_operator(workers=4)
    create_at_once(capi, machines=4, hosts=4, host_prefix="late", machine_prefix="late")
    second.stop()

    start_operator(workers=4)
    converged_one_to_one(capi, 8)


def test_converged_state_is_stable(
    start_operator: Any, capi: Capi, downstream: Downstream, activity: Activity
) -> None:
    """CAPI's ValidateResourceVersionStable: once everything is Ready, nothing is written."""
    running = start_operator()
    capi.create(REGS, "reg", {"spec": {}})
    capi.cluster(control_plane_initialized=True)
    capi.kubeconfig_secret("cluster", downstream)
    capi.create(
        ECLUSTERS,
        "cluster",
        {
            "metadata": {
                "ownerReferences": [
                    {
                        "apiVersion": "cluster.x-k8s.io/v1beta2",
                        "kind": "Cluster",
                        "name": "cluster",
                        "uid": (capi.get("clusters", "cluster") or {})["metadata"]["uid"],
                    }
                ]
            },
            "spec": {"controlPlaneEndpoint": {"host": "cp.example", "port": 6443}},
        },
    )
    names = [f"host-{capi.suffix}-{i}" for i in range(2)]
    for name in names:
        downstream.create_node(name)
        capi.host(name, bootstrapped=True)
    for i in range(2):
        capi.machine_pair(f"em-{i}", os_version={"osImage": "v1"})

    wait_for(
        lambda: (
            all(em["status"].get("ready") for em in capi.list(EMS) if "status" in em)
            and len(capi.list(EMS)) == 2
        ),
        20,
        "machines ready",
    )
    capi.wait(REGS, "reg", lambda o: is_true(o, "Ready"))
    capi.wait(ECLUSTERS, "cluster", lambda o: is_true(o, "Ready"))
    for host in capi.list(HOSTS):
        assert is_true(host, "Ready"), host["status"]

    def versions() -> dict[tuple[str, str], str]:
        return {
            (plural, o["metadata"]["name"]): o["metadata"]["resourceVersion"]
            for plural in (REGS, HOSTS, EMS, ECLUSTERS)
            for o in capi.list(plural)
        }

    # The operator goes idle: every change seen, nothing queued, nothing waiting to be retried.
    activity.wait_idle(capi.custom, capi.namespace, running.manager)
    before = versions()
    nodes = {name: downstream.core.read_node(name).metadata.resource_version for name in names}
    # An operator that starts now reconciles every object once more, and writes nothing.
    fresh = start_operator()
    for plural, name in before:
        controller = CONTROLLER_OF[plural]
        activity.wait_processed(fresh.manager, controller, capi.namespace, [name], times=1, since={})
    activity.wait_idle(capi.custom, capi.namespace, running.manager, fresh.manager)
    assert versions() == before
    assert {name: downstream.core.read_node(name).metadata.resource_version for name in names} == nodes


def test_host_bootstrapped_label_only_touches_its_machine(
    start_operator: Any, capi: Capi, activity: Activity
) -> None:
    """A host change wakes the machine it is linked to and nothing else is rewritten."""
    manager = start_operator().manager
    capi.cluster()
    capi.host("h-0")
    capi.host("h-1")
    capi.machine_pair("em-0")
    capi.machine_pair("em-1")
    converged_one_to_one(capi, 2)
    activity.wait_idle(capi.custom, capi.namespace, manager)
    other = next(em for em in capi.list(EMS) if host_ref(em) == "h-1")
    version = other["metadata"]["resourceVersion"]
    capi.label(HOSTS, "h-0", **{LABEL_BOOTSTRAPPED: "true"})
    em_0 = next(em["metadata"]["name"] for em in capi.list(EMS) if host_ref(em) == "h-0")
    capi.wait(EMS, em_0, lambda o: is_true(o, "HostReady"))
    # All the change caused is done (the machine now waits for its control plane, retrying).
    activity.wait_settled(capi.custom, capi.namespace, manager, "elementalmachine", [em_0])
    assert (capi.get(EMS, other["metadata"]["name"]) or {})["metadata"]["resourceVersion"] == version


def test_claims_that_lost_the_race_are_given_back(start_operator: Any, capi: Capi) -> None:
    """What two racing operators can leave behind, set up by hand: the machine's hostRef
    names one host, two more carry its label. The free one is released, the bootstrapped one
    (it may run the machine's bootstrap data) is reset."""
    capi.cluster()
    em = capi.machine_pair("em")
    link = {
        "metadata": {"labels": {LABEL_ELEMENTAL_MACHINE_NAME: "em", LABEL_MACHINE_NAME: "em-machine"}},
        "spec": {
            "machineRef": {
                "apiVersion": em["apiVersion"],
                "kind": "ElementalMachine",
                "namespace": capi.namespace,
                "name": "em",
                "uid": em["metadata"]["uid"],
            },
            "bootstrapSecret": {
                "kind": "Secret",
                "namespace": capi.namespace,
                "name": "em-machine-bootstrap",
            },
            "osVersionManagement": {"osImage": "v1"},
        },
    }
    for name, bootstrapped in (("winner", False), ("stale-free", False), ("stale-booted", True)):
        capi.host(name, bootstrapped=bootstrapped)
        capi.patch(HOSTS, name, link)
    winner = capi.get(HOSTS, "winner") or {}
    capi.patch(
        EMS,
        "em",
        {
            "spec": {
                "hostRef": {
                    "apiVersion": winner["apiVersion"],
                    "kind": "ElementalHost",
                    "namespace": capi.namespace,
                    "name": "winner",
                    "uid": winner["metadata"]["uid"],
                }
            }
        },
    )
    start_operator()

    freed = capi.wait(HOSTS, "stale-free", lambda o: LABEL_ELEMENTAL_MACHINE_NAME not in labels(o))
    assert not {"machineRef", "bootstrapSecret", "osVersionManagement"} & set(freed["spec"])
    assert LABEL_MACHINE_NAME not in labels(freed)
    capi.wait(HOSTS, "stale-booted", lambda o: labels(o).get(LABEL_NEEDS_RESET) == "true")
    assert host_ref(capi.get(EMS, "em")) == "winner"
    assert labels(capi.get(HOSTS, "winner"))[LABEL_ELEMENTAL_MACHINE_NAME] == "em"

    # The freed host is available again.
    capi.machine_pair("em-2")
    assert host_ref(capi.wait(EMS, "em-2", host_ref)) == "stale-free"
