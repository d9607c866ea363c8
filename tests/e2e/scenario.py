"""The whole job, end to end: agents on hosts, the API, the operator, and Cluster API's part
played by the test. Used with admin credentials (test_capi_lifecycle) and with the
ServiceAccounts of the deployment manifests (tests/deploy)."""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

from elemental_core.vocabulary import GROUP, LABEL_BOOTSTRAPPED, LABEL_INSTALLED, LABEL_NEEDS_RESET, VERSION
from tests.agent.conftest import AgentHost, dummy_registration_config, stop
from tests.controlplane import ControlPlane
from tests.helpers import wait_for

CAPI = "cluster.x-k8s.io"
CAPI_VERSION = "v1beta2"  # Cluster API's objects as its v1.11+ controllers store them
WORK = "/var/lib/elemental/agent"
SENTINEL = "/run/cluster-api/bootstrap-success.complete"
BOOTSTRAP_FILE = "/etc/cloud/cloud.cfg.d/elemental-capi-bootstrap.cfg"
CLUSTER = "edge"


@dataclass
class Host:
    """A machine running the agent: its root, and its `run` process when running."""

    agent: AgentHost
    running: subprocess.Popen[str] | None = None

    def name(self) -> str:
        return self.agent.file("/etc/hostname").read_text().strip()

    def start_run(self) -> None:
        self.running = self.agent.start("run")

    def stop_run(self) -> None:
        if self.running is not None:
            stop(self.running)
            self.running = None


@dataclass
class Scenario:
    admin: k8s.ApiClient
    namespace: str
    downstream: ControlPlane
    workdir: Path
    hosts: list[Host] = field(default_factory=list)

    @property
    def custom(self) -> k8s.CustomObjectsApi:
        return k8s.CustomObjectsApi(self.admin)

    @property
    def core(self) -> k8s.CoreV1Api:
        return k8s.CoreV1Api(self.admin)

    # -- objects ----------------------------------------------------------------------------

    def elemental(self, plural: str, name: str) -> dict[str, Any] | None:
        try:
            obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
            return obj
        except k8s.ApiException as error:
            if error.status == 404:
                return None
            raise

    def elemental_hosts(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.custom.list_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "elementalhosts"
        )["items"]
        return items

    def create(self, group: str, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        version = CAPI_VERSION if group == CAPI else VERSION
        obj: dict[str, Any] = self.custom.create_namespaced_custom_object(
            group, version, self.namespace, plural, body
        )
        return obj

    # -- steps ------------------------------------------------------------------------------

    def create_registration(self) -> dict[str, Any]:
        """An ElementalRegistration for dummy-plugin agents; the operator completes it."""
        config = dummy_registration_config(reconciliation=200_000_000)
        config["elemental"]["agent"]["insecureAllowHttp"] = True
        self.create(
            GROUP,
            "elementalregistrations",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ElementalRegistration",
                "metadata": {"name": "edge-hosts"},
                "spec": {"config": config, "hostLabels": {"site": "lab"}},
            },
        )
        return wait_for(
            lambda: (
                (r := self.elemental("elementalregistrations", "edge-hosts"))
                and r["spec"]["config"]["elemental"].get("registration", {}).get("token")
                and r
            ),
            what="the operator to issue the registration token",
            timeout=60,
        )

    def boot_hosts(self, registration: dict[str, Any], count: int) -> None:
        """New machines with the agent config from the registration: register --install."""
        agent_config = {
            "registration": registration["spec"]["config"]["elemental"]["registration"],
            "agent": registration["spec"]["config"]["elemental"]["agent"],
        }
        for index in range(len(self.hosts), len(self.hosts) + count):
            root = self.workdir / f"host-{index}"
            root.mkdir(parents=True)
            agent = AgentHost(root=root, env=dict(os.environ))
            agent.write_config(agent_config)
            self.hosts.append(Host(agent))
        for host in self.hosts[-count:]:
            self.register_and_install(host)

    def register_and_install(self, host: Host) -> None:
        done = host.agent.run("register", "--install", timeout=60)
        assert done.returncode == 0, done.stderr

    def wait_installed(self, host: Host) -> dict[str, Any]:
        return wait_for(
            lambda: (
                (h := self.elemental("elementalhosts", host.name()))
                and (h["metadata"].get("labels") or {}).get(LABEL_INSTALLED) == "true"
                and h
            ),
            what=f"host {host.name()} installed",
            timeout=60,
        )

    def play_capi_cluster(self, kubeconfig: bytes) -> None:
        """What CAPI and a control-plane provider would have done for a cluster."""
        cluster = self.create(
            CAPI,
            "clusters",
            {
                "apiVersion": f"{CAPI}/{CAPI_VERSION}",
                "kind": "Cluster",
                "metadata": {"name": CLUSTER},
                "spec": {
                    "controlPlaneRef": {
                        "apiGroup": "controlplane.cluster.x-k8s.io",
                        "kind": "KThreesControlPlane",
                        "name": CLUSTER,
                    },
                    "infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalCluster", "name": CLUSTER},
                },
            },
        )
        # What CAPI's Cluster controller reports once the infrastructure is provisioned and
        # the control-plane provider says it is initialized (v1beta2: status.initialization).
        self.custom.patch_namespaced_custom_object_status(
            CAPI,
            CAPI_VERSION,
            self.namespace,
            "clusters",
            CLUSTER,
            {
                "status": {
                    "initialization": {"infrastructureProvisioned": True, "controlPlaneInitialized": True},
                    "conditions": [
                        {
                            "type": "ControlPlaneInitialized",
                            "status": "True",
                            "reason": "Initialized",
                            "message": "",
                            "lastTransitionTime": "2026-01-01T00:00:00Z",
                        }
                    ],
                },
            },
        )
        self.create(
            GROUP,
            "elementalclusters",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ElementalCluster",
                "metadata": {"name": CLUSTER, "ownerReferences": [_owner(cluster)]},
                "spec": {"controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443}},
            },
        )
        self.core.create_namespaced_secret(self.namespace, kubeconfig_secret(CLUSTER, kubeconfig))

    def play_capi_machine(self, name: str, selector: dict[str, Any] | None = None) -> None:
        """A Machine with its bootstrap Secret, and its ElementalMachine."""
        bootstrap = f"#cloud-config\nruncmd:\n- echo {name}\n"
        self.core.create_namespaced_secret(
            self.namespace,
            bootstrap_secret(f"{name}-bootstrap", CLUSTER, bootstrap),
        )
        machine = self.create(
            CAPI,
            "machines",
            {
                "apiVersion": f"{CAPI}/{CAPI_VERSION}",
                "kind": "Machine",
                "metadata": {"name": name, "labels": {LABEL_CLUSTER_NAME: CLUSTER}},
                "spec": {
                    "clusterName": CLUSTER,
                    "bootstrap": {"dataSecretName": f"{name}-bootstrap"},
                    "infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalMachine", "name": name},
                },
            },
        )
        spec: dict[str, Any] = {"selector": selector} if selector else {}
        self.create(
            GROUP,
            "elementalmachines",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ElementalMachine",
                "metadata": {
                    "name": name,
                    "labels": {LABEL_CLUSTER_NAME: CLUSTER},
                    "ownerReferences": [_owner(machine)],
                },
                "spec": spec,
            },
        )

    def bootstrap(self, host: Host) -> None:
        """The agent applies the bootstrap and "reboots"; the bootstrap writes the sentinel."""
        wait_for(
            lambda: host.agent.file(BOOTSTRAP_FILE).exists(), what=f"{host.name()} bootstrap file", timeout=90
        )
        assert host.running is not None
        host.running.communicate(timeout=30)  # the agent exits after its (recorded) reboot
        host.running = None
        sentinel = host.agent.file(SENTINEL)
        sentinel.parent.mkdir(parents=True, exist_ok=True)
        sentinel.write_text("success\n")
        host.start_run()
        wait_for(
            lambda: (
                (h := self.elemental("elementalhosts", host.name()))
                and (h["metadata"].get("labels") or {}).get(LABEL_BOOTSTRAPPED) == "true"
            ),
            what=f"{host.name()} bootstrapped",
            timeout=60,
        )

    def machine_ready(self, name: str) -> dict[str, Any]:
        return wait_for(
            lambda: (
                (m := self.elemental("elementalmachines", name))
                and (m.get("status") or {}).get("ready")
                and m
            ),
            what=f"ElementalMachine {name} ready",
            timeout=90,
        )

    def reset_after_machine_deletion(self, machine: str) -> Host:
        """CAPI deletes the Machine and its ElementalMachine: the host resets and goes away."""
        em = self.elemental("elementalmachines", machine)
        assert em is not None
        host_name = em["spec"]["hostRef"]["name"]
        host = next(h for h in self.hosts if h.name() == host_name)
        self.custom.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "elementalmachines", machine
        )
        self.custom.delete_namespaced_custom_object(CAPI, CAPI_VERSION, self.namespace, "machines", machine)
        wait_for(
            lambda: (
                (h := self.elemental("elementalhosts", host_name))
                and (h["metadata"].get("labels") or {}).get(LABEL_NEEDS_RESET) == "true"
            ),
            what=f"{host_name} asked to reset",
            timeout=60,
        )
        assert host.running is not None
        host.running.communicate(timeout=60)  # `run` triggers the reset and exits
        host.running = None
        needs_reset = host.agent.file(f"{WORK}/needs.reset")
        assert needs_reset.exists()
        needs_reset.unlink()  # the host's own preparation for the reset
        done = host.agent.run("reset", timeout=60)
        assert done.returncode == 0, done.stderr
        wait_for(
            lambda: self.elemental("elementalhosts", host_name) is None, what=f"{host_name} gone", timeout=60
        )
        assert wait_for(
            lambda: self.elemental("elementalmachines", machine) is None, what=f"{machine} gone", timeout=60
        )
        return host

    def stop_all(self) -> None:
        for host in self.hosts:
            host.stop_run()


def _owner(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# Secrets Cluster API reads or writes for a cluster: its type, and the cluster-name label
# that CAPI's Secret cache selects on (a Secret without it is invisible to CAPI's manager).
CAPI_SECRET_TYPE = "cluster.x-k8s.io/secret"
LABEL_CLUSTER_NAME = "cluster.x-k8s.io/cluster-name"


def kubeconfig_secret(cluster: str, kubeconfig: bytes) -> k8s.V1Secret:
    """`<cluster>-kubeconfig`, as a control-plane provider writes it."""
    return k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name=f"{cluster}-kubeconfig", labels={LABEL_CLUSTER_NAME: cluster}),
        data={"value": _b64(kubeconfig)},
        type=CAPI_SECRET_TYPE,
    )


def bootstrap_secret(name: str, cluster: str, cloud_config: str) -> k8s.V1Secret:
    """Bootstrap data as a bootstrap provider writes it (the Machine names it in dataSecretName)."""
    return k8s.V1Secret(
        metadata=k8s.V1ObjectMeta(name=name, labels={LABEL_CLUSTER_NAME: cluster}),
        data={"value": _b64(cloud_config.encode()), "format": _b64(b"cloud-config")},
        type=CAPI_SECRET_TYPE,
    )


def node(name: str) -> k8s.V1Node:
    return k8s.V1Node(metadata=k8s.V1ObjectMeta(name=name))


def kubeconfig_bytes(control_plane: ControlPlane) -> bytes:
    return Path(control_plane.kubeconfig_path).read_bytes()
