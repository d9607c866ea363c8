"""`elemental-agent run` as a process, against `elemental-api serve` (SQLite), honouring a
remediation's reboot request: it acknowledges it (the ElementalHost's status.rebootAccepted),
the dummy plugin's reboot is recorded under --root, and the agent exits; restarted and
asked for the same request again, it acknowledges it again without a second reboot."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from elemental_api.store import Conflict, Store
from elemental_core.records import Host
from tests.agent.conftest import AgentHost, agent_config, dummy_registration_config, finish, stop
from tests.helpers import wait_for
from tests.live import LiveServer

WORK = "/var/lib/elemental/agent"
REQUEST = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"


def change_host(store: Store, name: str, change: Callable[[Host], Host]) -> None:
    """Writes `change` of the host as the operator would, retried while the agent's own
    check-ins change it in between."""

    def written() -> bool:
        current = store.get_host("default", name)
        assert current is not None
        try:
            store.update_host(change(current))
        except Conflict:
            return False
        return True

    wait_for(written, what=f"a write of host {name}")


def test_a_requested_reboot_is_acknowledged_recorded_and_not_done_twice(
    live_server: LiveServer, agent_host: AgentHost
) -> None:
    registration = live_server.make_registration(name="reboots", config=dummy_registration_config())
    agent_host.write_config(agent_config(registration))
    assert agent_host.run("register", "--install").returncode == 0
    store = live_server.store()
    [host] = store.list_hosts("default")
    assert agent_host.actions() == ["set-hostname"]

    # The remediation asks for a reboot: the agent takes it, "reboots" (recorded), exits.
    change_host(store, host.name, lambda h: dataclasses.replace(h, reboot_request=REQUEST))
    running = agent_host.start("run")
    status, err = finish(running)

    assert status == 0, err
    assert "Rebooting system as requested" in err
    assert agent_host.actions() == ["set-hostname", "reboot"]
    taken = store.get_host("default", host.name)
    assert taken is not None and (taken.reboot_request, taken.reboot_accepted) == (REQUEST, REQUEST)
    assert agent_host.file(f"{WORK}/reboot.accepted").read_text() == f"{REQUEST}\n"

    # Back up, the API asks again for the same request (its record of the acknowledgement
    # lost, as after clusterctl move): acknowledged again, no second reboot, the agent runs on.
    change_host(store, host.name, lambda h: dataclasses.replace(h, reboot_accepted=None))
    running = agent_host.start("run")
    try:
        wait_for(
            lambda: (h := store.get_host("default", host.name)) is not None and h.reboot_accepted == REQUEST,
            what="the request acknowledged again",
        )
        served = sum(live_server.requests_served("PATCH", "host").values())
        wait_for(
            lambda: sum(live_server.requests_served("PATCH", "host").values()) >= served + 3,
            what="more check-ins after it",
        )
        assert running.poll() is None, "the agent exited"
    finally:
        status, err = stop(running)
    assert "taken already" in err
    assert agent_host.actions() == ["set-hostname", "reboot"]
