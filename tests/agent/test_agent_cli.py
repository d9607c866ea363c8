"""`elemental-agent` as a process, against the real server (`elemental-api serve`, SQLite).

The whole lifecycle with the dummy plugin inside a --root: register --install, bootstrap
(the test writes the sentinel as the bootstrap would), run, reset once the host is deleted;
and the error paths: refused requests show the server's reason, unreachable or failing
servers are retried without a crash, bad configurations end with a message.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from elemental_agent.smbios import LABEL_PREFIX
from elemental_api.store import Store
from elemental_core.records import Bootstrap
from elemental_core.vocabulary import LABEL_BOOTSTRAPPED, LABEL_INSTALLED
from tests.agent.conftest import (
    FAST,
    STAND_IN,
    AgentHost,
    FailingServer,
    StandIn,
    ThreadedServer,
    agent_config,
    dummy_registration_config,
    finish,
    stop,
    wait_for,
)
from tests.helpers import make_registration
from tests.live import LiveServer, elemental_api_command, free_port

DATA = Path(__file__).parent / "data"
WORK = "/var/lib/elemental/agent"
BOOTSTRAP_FILE = "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg"
SENTINEL = "/run/cluster-api/bootstrap-success.complete"
# Paths of the real machine the agent would write to without --root.
REAL_PATHS = [
    "/etc/elemental/agent/config.yaml",
    "/var/lib/elemental/agent",
    BOOTSTRAP_FILE,
    "/usr/local/bin/ignition/data/elemental-capi-bootstrap.conf",
    "/run/cluster-api",
    "/var/log/elemental-agent-actions.log",
]


def agent_config_from_cli(server: LiveServer, name: str) -> dict[str, object]:
    """`elemental-api registration agent-config NAME --store ...`, as a user would get it."""
    printed = subprocess.run(
        [*elemental_api_command(), "registration", "agent-config", name, "--store", server.store_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    config = yaml.safe_load(printed)
    assert isinstance(config, dict)
    return config


def with_dmidecode(agent: AgentHost, tmp_path: Path) -> None:
    """A stand-in dmidecode first on the agent's PATH, printing a captured VM's tables."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "dmidecode"
    script.write_text(f"#!/bin/sh\ncat {DATA / 'dmidecode-qemu.txt'}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    agent.env["PATH"] = f"{bin_dir}:{agent.env.get('PATH', '/usr/bin:/bin')}"


def no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def lifecycle_registration_config() -> dict[str, Any]:
    config = dummy_registration_config()
    config["elemental"]["agent"]["postInstall"] = {"reboot": True}
    return config


def test_whole_lifecycle_against_elemental_api_serve(
    live_server: LiveServer, agent_host: AgentHost, tmp_path: Path
) -> None:
    live_server.make_registration(
        name="lifecycle", config=lifecycle_registration_config(), host_labels={"site": "lab"}
    )
    agent_host.write_config(agent_config_from_cli(live_server, "lifecycle"))
    whole_lifecycle(agent_host, live_server.store(), live_server.base_url, tmp_path)


def test_whole_lifecycle_on_each_store(
    store: Store, api_server: ThreadedServer, agent_host: AgentHost, tmp_path: Path, host_controller: None
) -> None:
    registration, _key = make_registration(
        store,
        name="lifecycle",
        endpoint=api_server.base_url,
        config=lifecycle_registration_config(),
        host_labels={"site": "lab"},
    )
    agent_host.write_config(agent_config(registration))
    whole_lifecycle(agent_host, store, api_server.base_url, tmp_path)


def whole_lifecycle(agent_host: AgentHost, store: Store, base_url: str, tmp_path: Path) -> None:
    real_before = {path: os.path.exists(path) for path in REAL_PATHS}
    real_hostname = socket.gethostname()
    with_dmidecode(agent_host, tmp_path)

    # register --install
    done = agent_host.run("register", "--install")
    assert done.returncode == 0, done.stderr
    no_traceback(done.stderr)
    [host] = store.list_hosts("default")
    hostname = host.name
    assert hostname.startswith("m-")
    assert host.labels["site"] == "lab"
    assert host.labels[f"{LABEL_PREFIX}system-manufacturer"] == "QEMU"
    assert host.labels[LABEL_INSTALLED] == "true"
    statuses = {c["type"]: c["status"] for c in host.conditions}
    assert statuses["RegistrationReady"] == statuses["InstallationReady"] == "True"
    assert agent_host.file("/etc/hostname").read_text() == f"{hostname}\n"
    assert agent_host.file(f"{WORK}/private.key").read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert agent_host.file(f"{WORK}/install.yaml").exists()
    assert agent_host.file(f"{WORK}/cloud-init.yaml").read_text().startswith("#cloud-config\n")
    written = yaml.safe_load(agent_host.config_path.read_text())
    assert written["agent"]["osPlugin"] == "/usr/lib/elemental/plugins/dummy.so"
    assert written["registration"]["uri"].startswith(base_url)
    assert agent_host.actions() == ["set-hostname", "reboot"]  # postInstall: reboot

    # bootstrap: `run` applies it, then "reboots" (recorded) and exits
    store.attach_bootstrap(host, Bootstrap(config="#cloud-config\nruncmd:\n- echo hello\n"))
    running = agent_host.start("run")
    wait_for(lambda: agent_host.file(BOOTSTRAP_FILE).exists(), what="the bootstrap file")
    status, err = finish(running)
    assert status == 0, err
    no_traceback(err)
    assert agent_host.file(BOOTSTRAP_FILE).read_text() == "#cloud-config\nruncmd:\n- echo hello\n"
    assert agent_host.actions()[-1] == "reboot"

    # after the "reboot" the bootstrap has run: it wrote the sentinel
    sentinel = agent_host.file(SENTINEL)
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text("success\n")
    running = agent_host.start("run")
    try:
        wait_for(
            lambda: (h := store.get_host("default", hostname)) and h.labels.get(LABEL_BOOTSTRAPPED) == "true",
            what="bootstrapped: true",
        )
        stored = wait_for(
            lambda: (h := store.get_host("default", hostname)) and h.phase == "Running" and h,
            what="the next check-in",
        )
        # the host is deleted: the agent triggers its reset and exits
        store.request_host_deletion(stored)
        status, err = finish(running)
    finally:
        if running.poll() is None:
            stop(running)
    assert status == 0, err
    no_traceback(err)
    assert "Reset was triggered successfully" in err
    stored = store.get_host("default", hostname)
    assert stored is not None and stored.phase == "Triggering Reset"
    needs_reset = agent_host.file(f"{WORK}/needs.reset")
    assert needs_reset.exists()

    # reset: refused by the plugin while the host is not prepared (reported, retried), then
    # done once the preparation removed needs.reset: the host goes away
    resetting = agent_host.start("reset")
    try:
        wait_for(
            lambda: (
                (h := store.get_host("default", hostname))
                and any(c.get("reason") == "ResetFailed" for c in h.conditions)
            ),
            what="ResetFailed reported",
        )
        needs_reset.unlink()
        status, err = finish(resetting)
    finally:
        if resetting.poll() is None:
            stop(resetting)
    assert status == 0, err
    no_traceback(err)
    assert "unmanaged OS reset sentinel file still exists" in err
    # At once on the embedded store; on Kubernetes once the operator removed the finalizer.
    wait_for(lambda: store.get_host("default", hostname) is None, what="the reset host gone")
    assert agent_host.file(f"{WORK}/reset.yaml").read_text() == "resetPersistent: true\n"

    # nothing happened to the real machine
    assert socket.gethostname() == real_hostname
    assert {path: os.path.exists(path) for path in REAL_PATHS} == real_before
    assert agent_host.actions() == ["set-hostname", "reboot", "reboot"]


def test_refused_registration_shows_the_servers_reason(
    live_server: LiveServer, agent_host: AgentHost
) -> None:
    live_server.make_registration(name="refused", config=dummy_registration_config())
    config = agent_config_from_cli(live_server, "refused")
    config["registration"]["token"] = config["registration"]["token"][:-4] + "AAAA"  # type: ignore[index]
    agent_host.write_config(config)
    done = agent_host.run("register")
    assert done.returncode == 1
    no_traceback(done.stderr)
    assert "403" in done.stderr
    assert "invalid registration token: token signature is not valid" in done.stderr


def test_unreachable_server_is_retried_until_sigterm(agent_host: AgentHost, tmp_path: Path) -> None:
    uri = f"http://127.0.0.1:{free_port()}/elemental/v1/namespaces/default/registrations/r"
    agent_host.write_config(
        {
            "registration": {"uri": uri, "token": "t"},
            "agent": {
                "osPlugin": "dummy",
                "reconciliation": "100ms",
                "insecureAllowHttp": True,
                "noSmbios": True,
            },
        }
    )
    for command in ("run", "register"):
        status, err = retried_until_sigterm(agent_host, command, tmp_path / f"{command}.log")
        no_traceback(err)
        assert "stopped by SIGTERM" in err
        assert status == (0 if command == "run" else 1)


def retried_until_sigterm(agent_host: AgentHost, command: str, log: Path) -> tuple[int, str]:
    """Starts the agent, waits for three failed connections, sends SIGTERM: status, stderr."""
    with log.open("w") as stderr:
        process = subprocess.Popen(agent_host.argv(command), stderr=stderr, env=agent_host.env)
    try:
        wait_for(lambda: log.read_text().count("cannot connect") >= 3, what="three failed attempts")
        assert process.poll() is None  # still retrying
        process.send_signal(signal.SIGTERM)
        status = process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return status, log.read_text()


def test_server_errors_are_retried(failing_server: FailingServer, agent_host: AgentHost) -> None:
    uri = f"{failing_server.base_url}/elemental/v1/namespaces/default/registrations/r"
    agent_host.write_config(
        {
            "registration": {"uri": uri},
            "agent": {"osPlugin": "dummy", "reconciliation": 100_000_000, "insecureAllowHttp": True},
        }
    )
    process = agent_host.start("--debug", "run")
    wait_for(lambda: len(failing_server.requests) >= 3, what="three check-ins")
    status, err = stop(process)
    assert status == 0
    no_traceback(err)
    assert "503 Service Unavailable: the store is unreachable" in err
    assert all(request.startswith("PATCH ") for request in failing_server.requests)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "reading config"),
        ("agent: [", "not valid YAML"),
        (
            {"registration": {"uri": "http://127.0.0.1:1/x"}, "agent": {"osPlugin": "dummy"}},
            "plain http: refused unless agent.insecureAllowHttp is true",
        ),
        (
            {"registration": {"uri": "https://127.0.0.1:1/x"}, "agent": {"osPlugin": "/usr/lib/x/nope.so"}},
            "no OS plugin named 'nope' (available: dummy, elemental)",
        ),
        ({"agent": {"osPlugin": "dummy", "reconciliation": "soon"}}, "agent.reconciliation"),
    ],
)
def test_configuration_errors_end_with_a_message(agent_host: AgentHost, config: object, message: str) -> None:
    if isinstance(config, str):
        agent_host.config_path.parent.mkdir(parents=True)
        agent_host.config_path.write_text(config)
    elif isinstance(config, dict):
        agent_host.write_config(config)
    done = agent_host.run("install")
    assert done.returncode == 1
    no_traceback(done.stderr)
    assert message in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("elemental-agent: ")


def test_global_flags_before_or_after_the_command(agent_host: AgentHost, tmp_path: Path) -> None:
    version = agent_host.run("version")
    assert version.returncode == 0 and version.stdout.startswith("elemental-agent version ")
    missing = tmp_path / "elsewhere.yaml"
    done = subprocess.run(
        [*agent_host.argv()[:1], "--root", str(agent_host.root), "run", "--config", str(missing), "--debug"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert str(agent_host.root / str(missing).lstrip("/")) in done.stderr
    not_a_dir = subprocess.run(
        [*agent_host.argv()[:1], "--root", str(tmp_path / "nope"), "run"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert not_a_dir.returncode == 1 and "not a directory" in not_a_dir.stderr


def test_elemental_plugin_install_and_os_upgrade(
    store: Store, api_server: ThreadedServer, agent_host: AgentHost, tmp_path: Path
) -> None:
    config = {
        "elemental": {
            "agent": {
                "osPlugin": "/usr/lib/elemental/plugins/elemental.so",
                "reconciliation": FAST,
                "hostname": {"useExisting": True},
                "noSmbios": True,
            },
            "install": {"device": "/dev/sda", "snapshotter": {"type": "btrfs"}},
        },
        "cloudConfig": {"users": [{"name": "root", "passwd": "root"}]},
    }
    registration, _key = make_registration(store, name="os", endpoint=api_server.base_url, config=config)
    agent_host.write_config(agent_config(registration))
    agent_host.file("/etc/hostname").parent.mkdir(parents=True, exist_ok=True)
    agent_host.file("/etc/hostname").write_text("edge-1\n")
    agent_host.file("/run/elemental").mkdir(parents=True)
    agent_host.file("/run/elemental/live_mode").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "elemental").write_text(STAND_IN)
    (bin_dir / "elemental").chmod(0o755)
    calls = StandIn(log=tmp_path / "calls.log", state=tmp_path / "state.yaml")
    agent_host.env.update(
        PATH=f"{bin_dir}:{agent_host.env['PATH']}",
        ELEMENTAL_STANDIN_LOG=str(calls.log),
        ELEMENTAL_STANDIN_STATE=str(calls.state),
    )

    done = agent_host.run("register", "--install")
    assert done.returncode == 0, done.stderr
    assert store.get_host("default", "edge-1") is not None
    for name in ("set-hostname", "set-config-yaml", "set-private-key", "set-cloud-config"):
        assert agent_host.file(f"/oem/{name}.yaml").exists(), name
    [install] = calls.calls()
    assert install.args == ["install"]
    assert install.env["ELEMENTAL_INSTALL_TARGET"] == "/dev/sda"
    assert install.env["ELEMENTAL_SNAPSHOTTER_TYPE"] == "btrfs"

    # an OS version to reconcile before bootstrap: `elemental upgrade`, then a reboot
    host = store.get_host("default", "edge-1")
    assert host is not None
    host = host.copy()
    host.os_version_management = {"osVersion": {"imageUri": "oci://registry/os:v2"}}
    store.update_host(host)
    agent_host.file("/run/elemental/live_mode").unlink()
    status, err = finish(agent_host.start("run"))
    assert status == 0, err
    state, upgrade = calls.calls()[1:]
    assert state.args == ["state"]
    assert upgrade.args == ["upgrade"]
    assert upgrade.env["ELEMENTAL_UPGRADE_SYSTEM"] == "oci://registry/os:v2"
    assert upgrade.env["ELEMENTAL_UPGRADE_SNAPSHOT_LABELS"].startswith("correlationID=")
    stored = store.get_host("default", "edge-1")
    assert stored is not None and stored.phase == "Reconciling OS Version"
    assert agent_host.actions()[-1] == "reboot"


def test_run_reports_the_hosts_addresses_when_they_change(
    live_server: LiveServer, agent_host: AgentHost
) -> None:
    """The addresses reach the ElementalHost's status.addresses (read from the kernel's
    tables, here inside the --root), and again once they change; between, check-ins write
    nothing."""
    live_server.make_registration(name="addresses", config=dummy_registration_config())
    agent_host.write_config(agent_config_from_cli(live_server, "addresses"))
    assert agent_host.run("register", "--install").returncode == 0
    store = live_server.store()
    [host] = store.list_hosts("default")
    fib_trie = agent_host.file("/proc/net/fib_trie")
    fib_trie.parent.mkdir(parents=True)
    fib_trie.write_text(
        "Local:\n  +-- 192.0.2.0/24 2 0 2\n     |-- 192.0.2.7\n        /32 host LOCAL\n"
        "     |-- 127.0.0.1\n        /32 host LOCAL\n"
    )
    name = {"type": "Hostname", "address": host.name}
    running = agent_host.start("run")
    try:
        reported = wait_for(
            lambda: (h := store.get_host("default", host.name)) and h.addresses and h,
            what="the addresses reported",
        )
        assert reported.addresses == [name, {"type": "InternalIP", "address": "192.0.2.7"}]
        fib_trie.write_text("Local:\n  +-- 10.0.0.0/8 2 0 2\n     |-- 10.1.2.3\n        /32 host LOCAL\n")
        wait_for(
            lambda: (
                store.get_host("default", host.name).addresses  # type: ignore[union-attr]
                == [name, {"type": "InternalIP", "address": "10.1.2.3"}]
            ),
            what="the changed addresses reported",
        )
        changed = store.get_host("default", host.name)
        assert changed is not None
        # more check-ins (every 100 ms) with the same addresses: the record stays as it is
        served = sum(live_server.requests_served("PATCH", "host").values())
        wait_for(
            lambda: sum(live_server.requests_served("PATCH", "host").values()) >= served + 5,
            what="more check-ins",
        )
        assert store.get_host("default", host.name).version == changed.version  # type: ignore[union-attr]
    finally:
        stop(running)
