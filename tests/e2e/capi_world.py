"""The world of tests/e2e/test_real_capi.py: management clusters running Cluster API's own
controllers, a workload cluster, hosts running the agent, and the roles the test plays
(the kubelet, a control-plane provider, a platform team running clusterctl).

- `Management`: a ControlPlane with the provider's CRDs as `clusterctl init` installs them
  (its labels added), CAPI's core manager and kube-controller-manager's garbage collector.
- `Objects`: reads and writes of the objects the test looks at, on one management cluster.
- `Fleet`: hosts with the dummy plugin, each living its life when `step()` is called: after a
  bootstrap it "reboots" (the bootstrap's sentinel is written, the kubelet registers its Node);
  asked to reboot (a remediation), its agent starts again; asked to reset, it resets, its disk
  is wiped, and it registers and installs again under a new name. A host can be paused (it
  stops checking in and later comes back), killed (it never comes back, until booted again),
  or have its agent replaced by the Go agent's check-ins (`GoShapedAgent`).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client as k8s
from kubernetes.client import ApiException

from elemental_core.tokens import SigningKey, issue_host_token
from elemental_core.vocabulary import GROUP, LABEL_INSTALLED, VERSION
from tests.agent.conftest import AgentHost, dummy_registration_config
from tests.capi.manager import ClusterAPIManager, KubeControllerManager
from tests.controlplane import REPO_ROOT, ControlPlane, load_yaml_documents
from tests.e2e.scenario import BOOTSTRAP_FILE, SENTINEL, WORK
from tests.helpers import wait_for

Obj = dict[str, Any]
CAPI = "cluster.x-k8s.io"
CAPI_VERSION = "v1beta2"
CONTROL_PLANE_GROUP = "controlplane.cluster.x-k8s.io"
PROVIDER_CRDS = REPO_ROOT / "operator" / "config" / "crd" / "bases"
# What `clusterctl init` adds to every object of a provider's components; `clusterctl move`
# discovers the kinds to move from the CRDs carrying the first one.
CLUSTERCTL_LABEL = "clusterctl.cluster.x-k8s.io"
# On an object (or its CRD): `clusterctl move` moves it even without an owner chain to a Cluster.
MOVE_LABEL = f"{CLUSTERCTL_LABEL}/move"
PROVIDER_LABEL = f"{CAPI}/provider"
LABEL_CLUSTER_NAME = f"{CAPI}/cluster-name"
LABEL_CONTROL_PLANE = f"{CAPI}/control-plane"
LABEL_DEPLOYMENT_NAME = f"{CAPI}/deployment-name"


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str


CLUSTERS = Kind(CAPI, CAPI_VERSION, "clusters")
MACHINE_DEPLOYMENTS = Kind(CAPI, CAPI_VERSION, "machinedeployments")
MACHINE_SETS = Kind(CAPI, CAPI_VERSION, "machinesets")
MACHINES = Kind(CAPI, CAPI_VERSION, "machines")
HEALTH_CHECKS = Kind(CAPI, CAPI_VERSION, "machinehealthchecks")
CONTROL_PLANES = Kind(CONTROL_PLANE_GROUP, "v1beta2", "testcontrolplanes")
ELEMENTAL_CLUSTERS = Kind(GROUP, VERSION, "elementalclusters")
ELEMENTAL_MACHINES = Kind(GROUP, VERSION, "elementalmachines")
ELEMENTAL_MACHINE_TEMPLATES = Kind(GROUP, VERSION, "elementalmachinetemplates")
ELEMENTAL_HOSTS = Kind(GROUP, VERSION, "elementalhosts")
ELEMENTAL_REGISTRATIONS = Kind(GROUP, VERSION, "elementalregistrations")
ELEMENTAL_REMEDIATIONS = Kind(GROUP, VERSION, "elementalremediations")
ELEMENTAL_REMEDIATION_TEMPLATES = Kind(GROUP, VERSION, "elementalremediationtemplates")
# Every namespaced kind the scenarios create or make CAPI and the operator create.
ALL_KINDS = (
    CLUSTERS,
    MACHINE_DEPLOYMENTS,
    MACHINE_SETS,
    MACHINES,
    HEALTH_CHECKS,
    CONTROL_PLANES,
    ELEMENTAL_CLUSTERS,
    ELEMENTAL_MACHINES,
    ELEMENTAL_MACHINE_TEMPLATES,
    ELEMENTAL_HOSTS,
    ELEMENTAL_REGISTRATIONS,
    ELEMENTAL_REMEDIATIONS,
    ELEMENTAL_REMEDIATION_TEMPLATES,
)

# A control-plane kind whose provider the test plays: CAPI reads its v1beta2 contract
# (status.initialization.controlPlaneInitialized) and owns it through the Cluster.
CONTROL_PLANE_CRD: Obj = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {
        "name": f"testcontrolplanes.{CONTROL_PLANE_GROUP}",
        "labels": {
            f"{CAPI}/v1beta2": "v1beta2",
            CLUSTERCTL_LABEL: "",
            PROVIDER_LABEL: "control-plane-test",
        },
    },
    "spec": {
        "group": CONTROL_PLANE_GROUP,
        "names": {
            "kind": "TestControlPlane",
            "listKind": "TestControlPlaneList",
            "plural": "testcontrolplanes",
        },
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1beta2",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


def provider_crds() -> list[Obj]:
    """The provider's CRDs labelled as `clusterctl init` installs them, and the test's
    control-plane kind."""
    crds = load_yaml_documents(sorted(PROVIDER_CRDS.glob("*.yaml")))
    for crd in crds:
        labels = crd["metadata"].setdefault("labels", {})
        labels.update({CLUSTERCTL_LABEL: "", PROVIDER_LABEL: "infrastructure-elemental"})
    return [*crds, copy.deepcopy(CONTROL_PLANE_CRD)]


def crd_labels(crds: list[Obj], plural: str) -> dict[str, str]:
    """The labels of the CRD of `plural` in GROUP (empty if there is none)."""
    for crd in crds:
        if crd["metadata"]["name"] == f"{plural}.{GROUP}":
            return dict(crd["metadata"].get("labels") or {})
    return {}


class Management:
    """A management cluster: control plane, the provider's CRDs, CAPI's manager, the GC."""

    def __init__(self, workdir: Path, name: str) -> None:
        self.name = name
        self.workdir = workdir
        crds = workdir / f"{name}-provider-crds.yaml"
        crds.write_text(yaml.safe_dump_all(provider_crds()))
        self.cp = ControlPlane(crd_paths=[crds])
        self.capi: ClusterAPIManager | None = None
        self.kcm: KubeControllerManager | None = None

    def __enter__(self) -> Management:
        try:
            self.cp.start()
            self.capi = ClusterAPIManager(self.cp, startup_timeout=240)
            self.capi.start()
            # After every CRD: the collector watches the kinds it finds at start.
            self.kcm = KubeControllerManager(self.cp, startup_timeout=120)
            self.kcm.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for component in (self.kcm, self.capi):
            if component is not None:
                component.stop()
                # Kept beside the test's other logs: the components delete their folders.
                if component.log_path.exists():
                    shutil.copy(component.log_path, self.workdir / f"{self.name}-{component.log_path.name}")
                component.close()
        self.cp.close()

    @property
    def manager(self) -> ClusterAPIManager:
        assert self.capi is not None
        return self.capi

    def objects(self, namespace: str) -> Objects:
        return Objects(self.cp, namespace)


class Objects:
    """The objects of one namespace of one cluster, as plain dicts."""

    def __init__(self, cp: ControlPlane, namespace: str) -> None:
        self.cp = cp
        self.namespace = namespace
        self.api = cp.api_client()
        self.custom = k8s.CustomObjectsApi(self.api)
        self.core = k8s.CoreV1Api(self.api)

    def close(self) -> None:
        self.api.close()

    def get(self, kind: Kind, name: str) -> Obj | None:
        try:
            obj: Obj = self.custom.get_namespaced_custom_object(
                kind.group, kind.version, self.namespace, kind.plural, name
            )
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return obj

    def items(self, kind: Kind, **selector: str) -> list[Obj]:
        label_selector = ",".join(f"{k}={v}" for k, v in selector.items())
        items: list[Obj] = self.custom.list_namespaced_custom_object(
            kind.group, kind.version, self.namespace, kind.plural, label_selector=label_selector
        )["items"]
        return items

    def create(self, kind: Kind, body: Obj) -> Obj:
        body = {"apiVersion": f"{kind.group}/{kind.version}", **body}
        created: Obj = self.custom.create_namespaced_custom_object(
            kind.group, kind.version, self.namespace, kind.plural, body
        )
        return created

    def patch(self, kind: Kind, name: str, patch: Obj) -> Obj:
        patched: Obj = self.custom.patch_namespaced_custom_object(
            kind.group, kind.version, self.namespace, kind.plural, name, patch
        )
        return patched

    def patch_status(self, kind: Kind, name: str, patch: Obj) -> Obj:
        patched: Obj = self.custom.patch_namespaced_custom_object_status(
            kind.group, kind.version, self.namespace, kind.plural, name, patch
        )
        return patched

    def delete(self, kind: Kind, name: str) -> None:
        with contextlib.suppress(k8s.ApiException):
            self.custom.delete_namespaced_custom_object(
                kind.group, kind.version, self.namespace, kind.plural, name
            )

    def create_secret(self, secret: k8s.V1Secret) -> None:
        self.core.create_namespaced_secret(self.namespace, secret)

    def secrets(self) -> list[str]:
        """The names of the Secrets here."""
        return [s.metadata.name for s in self.core.list_namespaced_secret(self.namespace).items]

    def events(self, involved_uid: str) -> list[str]:
        """The reasons of the Events here about one object (by uid: an object of the same name
        before it has its own), oldest first. core/v1 lists the events.k8s.io/v1 ones too."""
        selector = f"involvedObject.uid={involved_uid}"
        items = self.core.list_namespaced_event(self.namespace, field_selector=selector).items
        # Within one second, the name: the operator names its Events by the time in nanoseconds.
        items.sort(key=lambda e: (str(e.metadata.creation_timestamp), str(e.metadata.name)))
        return [str(e.reason) for e in items]

    def with_finalizers(self) -> list[str]:
        """`kind/name` of every object of ALL_KINDS here that still has a finalizer."""
        return [
            f"{kind.plural}/{obj['metadata']['name']}"
            for kind in ALL_KINDS
            for obj in self.items(kind)
            if obj["metadata"].get("finalizers")
        ]

    def remaining(self) -> list[str]:
        """`kind/name` of every object of ALL_KINDS left here."""
        return [f"{kind.plural}/{obj['metadata']['name']}" for kind in ALL_KINDS for obj in self.items(kind)]


def condition(obj: Obj | None, kind: str) -> Obj | None:
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            found: Obj = cond
            return found
    return None


def labels(obj: Obj | None) -> dict[str, str]:
    return dict(((obj or {}).get("metadata") or {}).get("labels") or {})


# -- the workload cluster: the kubelet's part --------------------------------------------------


class Kubelet:
    """What the kubelets of the hosts do in the workload cluster: register their Node."""

    def __init__(self, workload: ControlPlane) -> None:
        self.api = workload.api_client()
        self.core = k8s.CoreV1Api(self.api)

    def close(self) -> None:
        self.api.close()

    def register_node(self, name: str) -> None:
        with contextlib.suppress(ApiException):  # 409: a Node of that name was registered before
            self.core.create_node(k8s.V1Node(metadata=k8s.V1ObjectMeta(name=name)))
        self.set_ready(name, "True")

    def set_ready(self, name: str, status: str) -> None:
        ready = {
            "type": "Ready",
            "status": status,
            "reason": "KubeletReady" if status == "True" else "KubeletNotReady",
            "message": "set by the test",
            "lastHeartbeatTime": _now(),
            "lastTransitionTime": _now(),
        }
        self.core.patch_node_status(name, {"status": {"conditions": [ready]}})

    def node(self, name: str) -> k8s.V1Node | None:
        try:
            node: k8s.V1Node = self.core.read_node(name)
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return node


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- hosts -----------------------------------------------------------------------------------


# The Go agent's check-in once the host runs (json.Marshal of its HostPatchRequest: a zero
# lastTransitionTime is null), as tests/api/test_contract.py has it byte for byte.
GO_AGENT_CHECK_IN = (
    b'{"condition":{"type":"InstallationReady","status":"True","lastTransitionTime":null},'
    b'"phase":"Running","installed":true}'
)
GO_AGENT_INTERVAL = 0.5  # as the registrations here ask (`reconciliation`)


class GoShapedAgent:
    """The Go agent's check-ins for one host, in a thread: its exact PATCH body, signed with
    the host's own key, and only the response fields the Go agent knows are looked at (it
    ignores `rebootRequest`). Asked to reset (`needsReset`), it stops: the host's agent then
    does the reset (`asked_to_reset`)."""

    def __init__(self, agent: AgentHost, name: str) -> None:
        config = yaml.safe_load(agent.config_path.read_text())
        self.uri = str(config["registration"]["uri"]).rstrip("/")
        self.url = f"{self.uri}/hosts/{name}"
        self.name = name
        self.key = SigningKey.from_pem(agent.file(f"{WORK}/private.key").read_bytes())
        self.answers: list[Obj] = []  # every 200 answer, oldest first
        self.failures: list[str] = []
        self.asked_to_reset = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"go-agent-{name}", daemon=True)

    def start(self) -> GoShapedAgent:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                self._check_in(client)
                if self.asked_to_reset.is_set():
                    return
                self._stop.wait(GO_AGENT_INTERVAL)

    def _check_in(self, client: httpx.Client) -> None:
        token = issue_host_token(self.key, self.name, self.uri)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        try:
            response = client.patch(self.url, content=GO_AGENT_CHECK_IN, headers=headers)
        except httpx.HTTPError as error:
            self.failures.append(f"{type(error).__name__}: {error}")
            return
        if response.status_code != 200:
            self.failures.append(f"{response.status_code}: {response.text[:300]}")
            return
        answer: Obj = response.json()
        self.answers.append(answer)
        if answer.get("needsReset"):
            self.asked_to_reset.set()


@dataclass
class FleetHost:
    """A machine running the agent, and every name it registered under."""

    agent: AgentHost
    names: list[str] = field(default_factory=list)
    running: subprocess.Popen[bytes] | None = None
    resets: int = 0
    reboots: int = 0  # asked by a remediation, the agent rebooted and started again
    paused: bool = False
    killed: bool = False  # powered off for good, until booted again
    go_shaped: GoShapedAgent | None = None
    reboot_records: int = 0  # reboots recorded under the root so far and already lived

    @property
    def name(self) -> str:
        return self.names[-1]

    @property
    def log_path(self) -> Path:
        return self.agent.root.with_name(f"{self.agent.root.name}-agent.log")

    def current_name(self) -> str:
        return self.agent.file("/etc/hostname").read_text().strip()

    def start_run(self) -> None:
        """`elemental-agent run`, its output in a file (a pipe nobody reads would fill up)."""
        with self.log_path.open("ab") as log:
            self.running = subprocess.Popen(
                self.agent.argv("run"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.agent.env,
            )

    def stop_run(self) -> None:
        if self.running is not None and self.running.poll() is None:
            if self.paused:
                self.resume()
            self.running.terminate()
            try:
                self.running.wait(30)
            except subprocess.TimeoutExpired:
                self.running.kill()
                self.running.wait()
        self.running = None

    def pause(self) -> None:
        """The host stops checking in (hung), its agent frozen where it is."""
        assert self.running is not None and self.running.poll() is None, f"{self.name} is not running"
        self.running.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.running is not None and self.paused, f"{self.name} is not paused"
        self.running.send_signal(signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """The host dies and stays off: no agent, no check-in, until `boot_again`."""
        assert self.running is not None, f"{self.name} is not running"
        self.running.kill()
        self.running.wait()
        self.running = None
        self.killed = True

    def boot_again(self) -> None:
        """Powered on again: the agent starts from what is on the disk."""
        assert self.killed, f"{self.name} was not killed"
        self.killed = False
        self.start_run()

    def check_in_as_go_agent(self) -> GoShapedAgent:
        """From now on the host checks in as the Go agent does (the Python agent stopped)."""
        self.stop_run()
        self.go_shaped = GoShapedAgent(self.agent, self.name).start()
        return self.go_shaped

    def recorded_reboots(self) -> int:
        """Reboots the agent asked of the host (the dummy plugin records them under the root)."""
        return self.agent.actions().count("reboot")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""


class Fleet:
    """Hosts of one registration; `step()` moves each along its life, never blocking long."""

    def __init__(self, workdir: Path, kubelet: Kubelet) -> None:
        self.workdir = workdir
        self.kubelet = kubelet
        self.hosts: list[FleetHost] = []
        self.log: list[str] = []

    def boot(self, registration: Obj, count: int) -> list[FleetHost]:
        """New machines with the registration's agent config: register --install, then run."""
        agent_config = {
            "registration": registration["spec"]["config"]["elemental"]["registration"],
            "agent": registration["spec"]["config"]["elemental"]["agent"],
        }
        booted = []
        for _ in range(count):
            root = self.workdir / f"host-{len(self.hosts)}"
            root.mkdir(parents=True)
            host = FleetHost(AgentHost(root=root, env=dict(os.environ)))
            host.agent.write_config(agent_config)
            self.hosts.append(host)
            self._register(host)
            booted.append(host)
        return booted

    def _register(self, host: FleetHost) -> None:
        done = host.agent.run("register", "--install", timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        host.names.append(host.current_name())
        host.reboot_records = host.recorded_reboots()
        host.start_run()
        self.log.append(f"{host.name} registered")

    def by_name(self, name: str) -> FleetHost:
        return next(h for h in self.hosts if name in h.names)

    def step(self) -> None:
        """Every host whose agent exited goes on: after a bootstrap it reboots into a Node;
        after a reboot it was asked for, its agent starts again; asked to reset, it resets and
        comes back under a new name. A Go-shaped host asked to reset hands over to its agent."""
        for host in self.hosts:
            if host.go_shaped is not None and host.go_shaped.asked_to_reset.is_set():
                host.go_shaped.stop()
                host.go_shaped = None
                host.start_run()  # its first check-in gets needsReset too, and it resets
                self.log.append(f"{host.name} (Go-shaped) asked to reset")
                continue
            if host.running is None or host.running.poll() is None:
                continue
            code = host.running.returncode
            host.running = None
            rebooted = host.recorded_reboots() > host.reboot_records
            host.reboot_records = host.recorded_reboots()
            if host.agent.file(f"{WORK}/needs.reset").exists():
                self._reset(host)
            elif host.agent.file(BOOTSTRAP_FILE).exists() and not host.agent.file(SENTINEL).exists():
                self._reboot_into_node(host)
            elif rebooted and code == 0:
                host.reboots += 1
                if self.kubelet.node(host.name) is not None:
                    self.kubelet.set_ready(host.name, "True")  # its kubelet is back with it
                host.start_run()
                self.log.append(f"{host.name} rebooted")
            else:
                raise AssertionError(f"agent of {host.name} exited ({code}) unasked:\n{host.log_tail()}")

    def _reboot_into_node(self, host: FleetHost) -> None:
        sentinel = host.agent.file(SENTINEL)
        sentinel.parent.mkdir(parents=True, exist_ok=True)
        sentinel.write_text("success\n")  # what the bootstrap does on a real host
        self.kubelet.register_node(host.name)
        host.start_run()
        self.log.append(f"{host.name} bootstrapped")

    def _reset(self, host: FleetHost) -> None:
        host.agent.file(f"{WORK}/needs.reset").unlink()  # the host's own preparation
        done = host.agent.run("reset", timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        # The reset reinstalls the host: the bootstrap and what it left are gone.
        for leftover in (BOOTSTRAP_FILE, SENTINEL):
            host.agent.file(leftover).unlink(missing_ok=True)
        host.resets += 1
        self.log.append(f"{host.name} reset")
        self._register(host)

    def stop_all(self) -> None:
        for host in self.hosts:
            if host.go_shaped is not None:
                host.go_shaped.stop()
            host.stop_run()


def installed(objects: Objects, name: str) -> Obj | None:
    host = objects.get(ELEMENTAL_HOSTS, name)
    return host if labels(host).get(LABEL_INSTALLED) == "true" else None


# -- Cluster API objects ---------------------------------------------------------------------


def registration_body(name: str) -> Obj:
    config = dummy_registration_config(reconciliation=500_000_000)  # check in every 0.5 s
    config["elemental"]["agent"]["insecureAllowHttp"] = True
    return {
        "kind": "ElementalRegistration",
        "metadata": {"name": name},
        "spec": {"config": config, "hostLabels": {"site": "lab"}},
    }


def issued_registration(objects: Objects, name: str) -> Obj:
    def issued() -> Obj | None:
        registration = objects.get(ELEMENTAL_REGISTRATIONS, name)
        spec = (registration or {}).get("spec") or {}
        token = spec.get("config", {}).get("elemental", {}).get("registration", {}).get("token")
        return registration if token else None

    found: Obj = wait_for(issued, what=f"the operator to issue registration {name}'s token", timeout=120)
    return found


def cluster_body(name: str, *, control_plane: bool) -> Obj:
    spec: Obj = {"infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalCluster", "name": name}}
    if control_plane:
        spec["controlPlaneRef"] = {"apiGroup": CONTROL_PLANE_GROUP, "kind": "TestControlPlane", "name": name}
    return {"kind": "Cluster", "metadata": {"name": name}, "spec": spec}


def elemental_cluster_body(name: str) -> Obj:
    return {
        "kind": "ElementalCluster",
        "metadata": {"name": name},
        "spec": {"controlPlaneEndpoint": {"host": "10.0.0.1", "port": 6443}},
    }


def machine_template_body(name: str) -> Obj:
    return {
        "kind": "ElementalMachineTemplate",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {}}},
    }


def machine_deployment_body(name: str, cluster: str, template: str, secret: str, replicas: int) -> Obj:
    return {
        "kind": "MachineDeployment",
        "metadata": {"name": name},
        "spec": {
            "clusterName": cluster,
            "replicas": replicas,
            "selector": {"matchLabels": {LABEL_DEPLOYMENT_NAME: name}},
            "template": {
                "metadata": {"labels": {LABEL_DEPLOYMENT_NAME: name}},
                "spec": {
                    "clusterName": cluster,
                    "bootstrap": {"dataSecretName": secret},
                    "infrastructureRef": {
                        "apiGroup": GROUP,
                        "kind": "ElementalMachineTemplate",
                        "name": template,
                    },
                },
            },
        },
    }


def control_plane_machine_body(name: str, cluster: str, secret: str) -> Obj:
    """A stand-alone control-plane Machine (no control-plane provider owns it)."""
    return {
        "kind": "Machine",
        "metadata": {"name": name, "labels": {LABEL_CLUSTER_NAME: cluster, LABEL_CONTROL_PLANE: ""}},
        "spec": {
            "clusterName": cluster,
            "bootstrap": {"dataSecretName": secret},
            "infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalMachine", "name": name},
        },
    }


def health_check_body(
    name: str,
    cluster: str,
    deployment: str,
    *,
    node_conditions: list[Obj] | None = None,
    machine_conditions: list[Obj] | None = None,
    remediation_template: str | None = None,
) -> Obj:
    """A MachineHealthCheck of a MachineDeployment's Machines: unhealthy when its Node is
    Ready False for 1 s unless other checks are given; remediated by their owner (the
    MachineSet replaces them) unless an ElementalRemediationTemplate is named."""
    checks: Obj = {}
    if node_conditions is None and machine_conditions is None:
        node_conditions = [{"type": "Ready", "status": "False", "timeoutSeconds": 1}]
    if node_conditions:
        checks["unhealthyNodeConditions"] = node_conditions
    if machine_conditions:
        checks["unhealthyMachineConditions"] = machine_conditions
    spec: Obj = {
        "clusterName": cluster,
        "selector": {"matchLabels": {LABEL_DEPLOYMENT_NAME: deployment}},
        "checks": checks,
    }
    if remediation_template is not None:
        spec["remediation"] = {
            "templateRef": {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "ElementalRemediationTemplate",
                "name": remediation_template,
            }
        }
    return {"kind": "MachineHealthCheck", "metadata": {"name": name}, "spec": spec}


def remediation_template_body(
    name: str, *, retry_limit: int, reboot_timeout: int, recovery_timeout: int
) -> Obj:
    """An ElementalRemediationTemplate: reboot `retry_limit` times, then replace the Machine."""
    strategy = {
        "type": "Reboot",
        "retryLimit": retry_limit,
        "rebootTimeoutSeconds": reboot_timeout,
        "recoveryTimeoutSeconds": recovery_timeout,
    }
    return {
        "kind": "ElementalRemediationTemplate",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"strategy": strategy}}},
    }


def running_machines(objects: Objects, deployment: str | None = None) -> list[Obj]:
    """Machines in phase Running with a nodeRef (of one MachineDeployment when named)."""
    selector = {LABEL_DEPLOYMENT_NAME: deployment} if deployment else {}
    return [
        m
        for m in objects.items(MACHINES, **selector)
        if (m.get("status") or {}).get("phase") == "Running"
        and ((m.get("status") or {}).get("nodeRef") or {}).get("name")
        and not m["metadata"].get("deletionTimestamp")
    ]


def host_of(objects: Objects, machine: Obj) -> str | None:
    """The ElementalHost name behind a Machine (its ElementalMachine's hostRef)."""
    em = objects.get(ELEMENTAL_MACHINES, machine["spec"]["infrastructureRef"]["name"])
    ref = ((em or {}).get("spec") or {}).get("hostRef") or {}
    name: str | None = ref.get("name")
    return name


@contextlib.contextmanager
def opened(objects: Objects) -> Iterator[Objects]:
    try:
        yield objects
    finally:
        objects.close()
