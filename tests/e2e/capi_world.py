"""The world of tests/e2e/test_real_capi.py: management clusters running Cluster API's own
controllers, a workload cluster, hosts running the agent, and the roles the test plays
(the kubelet, a control-plane provider, a platform team running clusterctl).

- `Management`: a ControlPlane with the provider's CRDs as `clusterctl init` installs them
  (its labels added), CAPI's core manager and kube-controller-manager's garbage collector.
- `Objects`: reads and writes of the objects the test looks at, on one management cluster.
- `Fleet`: hosts with the dummy plugin, each living its life when `step()` is called: after a
  bootstrap it "reboots" (the bootstrap's sentinel is written, the kubelet registers its Node);
  asked to reset, it resets, its disk is wiped, and it registers and installs again under a
  new name.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client import ApiException

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


@dataclass
class FleetHost:
    """A machine running the agent, and every name it registered under."""

    agent: AgentHost
    names: list[str] = field(default_factory=list)
    running: subprocess.Popen[bytes] | None = None
    resets: int = 0

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
            self.running.terminate()
            try:
                self.running.wait(30)
            except subprocess.TimeoutExpired:
                self.running.kill()
                self.running.wait()
        self.running = None

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
        host.start_run()
        self.log.append(f"{host.name} registered")

    def by_name(self, name: str) -> FleetHost:
        return next(h for h in self.hosts if name in h.names)

    def step(self) -> None:
        """Every host whose agent exited goes on: after a bootstrap it reboots into a Node;
        asked to reset, it resets and comes back under a new name."""
        for host in self.hosts:
            if host.running is None or host.running.poll() is None:
                continue
            code = host.running.returncode
            host.running = None
            if host.agent.file(f"{WORK}/needs.reset").exists():
                self._reset(host)
            elif host.agent.file(BOOTSTRAP_FILE).exists() and not host.agent.file(SENTINEL).exists():
                self._reboot_into_node(host)
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


def health_check_body(name: str, cluster: str, deployment: str) -> Obj:
    return {
        "kind": "MachineHealthCheck",
        "metadata": {"name": name},
        "spec": {
            "clusterName": cluster,
            "selector": {"matchLabels": {LABEL_DEPLOYMENT_NAME: deployment}},
            "checks": {
                "unhealthyNodeConditions": [{"type": "Ready", "status": "False", "timeoutSeconds": 1}]
            },
        },
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
