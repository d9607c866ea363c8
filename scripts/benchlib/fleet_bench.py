"""Fleet benchmark (not a test): N hosts on the Kubernetes store against a real kube-apiserver.

1. storm: every host registers at once (POST, `--connections` client threads), then reports
   itself installed with its first check-in (PATCH); then the time until kube-apiserver has
   had no write for `--quiet` seconds (the operator and the API done reacting);
2. steady: every host checks in every `--period` seconds for `--steady` seconds;
3. machines: `--machines` Machines with their ElementalMachines (owner Cluster, as
   `scripts/bench operator` makes them) created at once, until each has its own host.

The API (`elemental-api serve --store kubernetes`) and the operator run as processes beside
the control plane; their peak RSS (VmHWM), kube-apiserver's requests by verb and resource
per phase (its own apiserver_request_total) and etcd's database size are reported, with the
load average. Every request carries a host token signed just before it is sent (a host
token lives 60 s). Prints Markdown tables and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from kubernetes import client as k8s

from elemental_api.store import open_store
from scripts.benchlib import liveness_bench, operator_bench
from scripts.benchlib.bench import CHECK_IN_BODY, ROOT, _free_port, _serve_command
from tests.controlplane import ControlPlane, free_port
from tests.helpers import HostIdentity, make_registration
from tests.kube_fixtures import crd_files

NS = "fleet"
CLUSTER = "c"
CAPI_GROUP, CAPI_VERSION = "cluster.x-k8s.io", "v1beta2"
INFRA_GROUP, INFRA_VERSION = "infrastructure.cluster.x-k8s.io", "v1beta1"
WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"}
INSTALL_BODY = {**json.loads(CHECK_IN_BODY), "installed": True}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--machines", type=int, default=None, help="default: a tenth of the hosts")
    parser.add_argument("--connections", type=int, default=32, help="client threads of the storm")
    parser.add_argument("--workers", type=int, default=2, help="the API's gunicorn workers")
    parser.add_argument("--period", type=float, default=10.0, help="check-in period, s (the Go agent's)")
    parser.add_argument("--steady", type=float, default=60.0, help="seconds of steady check-ins")
    parser.add_argument(
        "--quiet", type=float, default=5.0, help="seconds without a write that count as quiet"
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=60.0,
        help="the API's and the operator's (a host silent for two of them plus the grace is reported)",
    )
    parser.add_argument("--check-in-threads", type=int, default=16)
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    machines = args.machines if args.machines is not None else max(1, args.hosts // 10)
    report: dict[str, Any] = {
        "hosts": args.hosts,
        "machines": machines,
        "heartbeat_interval_s": args.heartbeat_interval,
        "nproc": os.cpu_count(),
    }
    report["cpu"] = _cpu_model()
    loads = LoadSampler()
    with ControlPlane(crd_paths=crd_files()) as control_plane, control_plane.api_client() as api:
        custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
        _make_cluster(core, custom)
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        kubeconfig = str(control_plane.kubeconfig_path)
        heartbeat = ("--heartbeat-interval", f"{args.heartbeat_interval:g}")
        with (
            _operator(kubeconfig, endpoint, *heartbeat) as operator,
            _api(port, kubeconfig, args.workers, *heartbeat) as api_server,
        ):
            store = open_store("kubernetes", kubeconfig=kubeconfig)
            try:
                registration, _ = make_registration(store, name="fleet", namespace=NS, endpoint=endpoint)
            finally:
                store.close()
            hosts = [HostIdentity(registration, f"host-{i:05d}") for i in range(args.hosts)]
            loads.start()

            print("storm", file=sys.stderr)
            before = _requests(control_plane)
            storm = _storm(endpoint, hosts, args.connections)
            quiet_after, writes_seen = _wait_quiet(control_plane, args.quiet, storm.started)
            storm_requests = _requests(control_plane) - before
            report["storm"] = {
                **storm.figures(),
                "quiet_after_s": round(quiet_after, 1),
                "writes_until_quiet": writes_seen,
                "requests": _by_verb_and_resource(storm_requests),
                "load": loads.take(),
            }

            print("steady check-ins", file=sys.stderr)
            before = _requests(control_plane)
            settings = argparse.Namespace(
                period=args.period, duration=args.steady, threads=args.check_in_threads
            )
            began = time.monotonic()
            sent = liveness_bench._simulate(endpoint, hosts, settings)
            # Longer than --steady when the client falls behind: rates are over the real time.
            elapsed = time.monotonic() - began
            steady_requests = _requests(control_plane) - before
            report["steady"] = {
                "seconds": args.steady,
                "elapsed_s": round(elapsed, 1),
                "period_s": args.period,
                "check_ins": dict(sent),
                "check_ins_per_s": round(sum(v for k, v in sent.items() if k != "late") / elapsed, 1),
                "requests_per_s": _per_second(steady_requests, elapsed),
                "load": loads.take(),
            }

            print("machines", file=sys.stderr)
            before = _requests(control_plane)
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: _create_machine(custom, core, i), range(machines)))
            created = time.monotonic() - started
            claimed = _wait_associated(custom, machines)
            associated = time.monotonic() - started
            machine_requests = _requests(control_plane) - before
            assert len(set(claimed)) == machines, "two machines share a host"
            report["machines_phase"] = {
                "create_all_s": round(created, 1),
                "all_associated_s": round(associated, 1),
                "requests": _by_verb_and_resource(machine_requests),
                "load": loads.take(),
            }
            report["memory_mib"] = {
                "api": _tree_memory(api_server.pid),
                "operator": round(operator_bench.peak_memory_kib(operator.pid) / 1024),
            }
            report["etcd"] = _etcd_size(control_plane)
            loads.stop()
    _print(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


@dataclass
class _Storm:
    started: float
    registered_s: float = 0.0
    installed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def figures(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        count = len(ordered)

        def percentile(p: float) -> float:
            return round(ordered[min(count - 1, int(count * p))], 1) if ordered else float("nan")

        return {
            "register_all_s": round(self.registered_s, 2),
            "registrations_per_s": round(count / self.registered_s, 1) if self.registered_s else 0,
            "register_p50_ms": percentile(0.5),
            "register_p99_ms": percentile(0.99),
            "installed_all_s": round(self.installed_s, 2),
            "outcomes": dict(self.outcomes),
        }


def _storm(endpoint: str, hosts: list[HostIdentity], connections: int) -> _Storm:
    """Every host POSTs at once; then each reports itself installed (its first check-in,
    retried while the other worker's cache does not hold it yet, as the agent retries)."""
    storm = _Storm(started=time.monotonic())
    lock = threading.Lock()
    local = threading.local()

    def client() -> httpx.Client:
        if getattr(local, "client", None) is None:
            local.client = httpx.Client(base_url=endpoint, timeout=60)
        return local.client  # type: ignore[no-any-return]

    def register(host: HostIdentity) -> None:
        body, headers = host.create_body(), host.create_headers()
        began = time.perf_counter()
        try:
            status = client().post(host.hosts_path, json=body, headers=headers).status_code
            outcome = "registered" if status == 201 else f"register http {status}"
        except httpx.HTTPError as error:
            outcome = f"register {type(error).__name__}"
        with lock:
            storm.latencies_ms.append((time.perf_counter() - began) * 1000)
            storm.outcomes[outcome] += 1

    def install(host: HostIdentity) -> None:
        deadline = time.monotonic() + 60
        outcome = "install timed out"
        while time.monotonic() < deadline:
            try:
                status = client().patch(host.path, json=INSTALL_BODY, headers=host.auth()).status_code
            except httpx.HTTPError as error:
                outcome = f"install {type(error).__name__}"
                continue
            if status == 200:
                outcome = "installed"
                break
            outcome = f"install http {status}"
            time.sleep(0.2)
        with lock:
            storm.outcomes[outcome] += 1

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(register, hosts))
        storm.registered_s = time.monotonic() - storm.started
        list(pool.map(install, hosts))
        storm.installed_s = time.monotonic() - storm.started
    return storm


def _wait_quiet(
    control_plane: ControlPlane, quiet: float, since: float, timeout: float = 900
) -> tuple[float, int]:
    """Seconds from `since` to kube-apiserver's last write before `quiet` seconds without
    one, and the writes counted while waiting."""
    first = last_total = _writes(control_plane)
    last_change = time.monotonic()
    deadline = last_change + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        total = _writes(control_plane)
        if total != last_total:
            last_total, last_change = total, time.monotonic()
        elif time.monotonic() - last_change >= quiet:
            return last_change - since, last_total - first
    raise RuntimeError(f"kube-apiserver still written to after {timeout:.0f}s")


def _writes(control_plane: ControlPlane) -> int:
    # Lease renewals (leader election is off here, but kube-apiserver's own) are not the fleet's.
    return sum(
        v
        for k, v in _requests(control_plane).items()
        if k.split()[0] in WRITE_VERBS and not k.split()[1].startswith("leases")
    )


def _requests(control_plane: ControlPlane) -> Counter[str]:
    """apiserver_request_total over every resource, as "VERB resource[/subresource]", with
    the code added for refused requests ("PATCH elementalhosts/status 409": a conflict is a
    request kube-apiserver served too, but not a write)."""
    counts: Counter[str] = Counter()
    for labels, count in control_plane.request_counts():
        if not labels.get("resource"):
            continue
        where = labels["resource"] + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        refused = f" {labels['code']}" if int(labels.get("code", "200")) >= 400 else ""
        counts[f"{labels['verb']} {where}{refused}"] += int(count)
    return counts


def _by_verb_and_resource(requests: Counter[str]) -> dict[str, int]:
    return dict(sorted(((k, v) for k, v in requests.items() if v), key=lambda kv: -kv[1]))


def _per_second(requests: Counter[str], seconds: float) -> dict[str, float]:
    return {k: round(v / seconds, 2) for k, v in _by_verb_and_resource(requests).items()}


def _etcd_size(control_plane: ControlPlane) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{control_plane.etcd_client_port}/metrics", timeout=10).text
    sizes = {}
    for name in ("etcd_mvcc_db_total_size_in_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes"):
        found = re.search(rf"^{name} (\S+)$", text, re.M)
        sizes[name.removeprefix("etcd_mvcc_db_").replace("_in_bytes", "_mib")] = (
            round(float(found.group(1)) / 2**20, 1) if found else float("nan")
        )
    return sizes


def _tree_memory(pid: int) -> dict[str, int]:
    """Peak RSS (VmHWM, MiB) of a process and each of its children (the gunicorn workers)."""
    children_file = Path(f"/proc/{pid}/task/{pid}/children")
    children = [int(c) for c in children_file.read_text().split()] if children_file.exists() else []
    memory = {"master": round(operator_bench.peak_memory_kib(pid) / 1024)}
    for index, child in enumerate(children):
        memory[f"worker-{index}"] = round(operator_bench.peak_memory_kib(child) / 1024)
    memory["replica_total"] = sum(memory.values())
    return memory


class LoadSampler:
    """The 1-minute load average, sampled every 5 s; `take` returns a phase's min-max."""

    def __init__(self) -> None:
        self._samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(5):
            self._samples.append(os.getloadavg()[0])

    def take(self) -> str:
        samples, self._samples = self._samples or [os.getloadavg()[0]], []
        return f"{min(samples):.1f}-{max(samples):.1f}"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def _make_cluster(core: k8s.CoreV1Api, custom: k8s.CustomObjectsApi) -> None:
    """The Cluster, as Cluster API v1beta2 reports it once its infrastructure is provisioned."""
    core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=NS)))
    body = {
        "apiVersion": f"{CAPI_GROUP}/{CAPI_VERSION}",
        "kind": "Cluster",
        "metadata": {"name": CLUSTER},
        "spec": {"infrastructureRef": {"apiGroup": INFRA_GROUP, "kind": "ElementalCluster", "name": CLUSTER}},
    }
    custom.create_namespaced_custom_object(CAPI_GROUP, CAPI_VERSION, NS, "clusters", body)
    status = {"status": {"initialization": {"infrastructureProvisioned": True}}}
    custom.patch_namespaced_custom_object_status(CAPI_GROUP, CAPI_VERSION, NS, "clusters", CLUSTER, status)


def _create_machine(custom: k8s.CustomObjectsApi, core: k8s.CoreV1Api, index: int) -> None:
    """What a MachineDeployment's MachineSet makes: bootstrap data, a Machine, and its
    ElementalMachine owned by it."""
    name = f"md-{index:05d}"
    core.create_namespaced_secret(
        NS,
        k8s.V1Secret(
            metadata=k8s.V1ObjectMeta(name=f"{name}-bootstrap"),
            type="cluster.x-k8s.io/secret",
            string_data={"value": "#cloud-config\n", "format": "cloud-config"},
        ),
    )
    labels = {"cluster.x-k8s.io/cluster-name": CLUSTER}
    machine = custom.create_namespaced_custom_object(
        CAPI_GROUP,
        CAPI_VERSION,
        NS,
        "machines",
        {
            "apiVersion": f"{CAPI_GROUP}/{CAPI_VERSION}",
            "kind": "Machine",
            "metadata": {"name": name, "labels": labels},
            "spec": {
                "clusterName": CLUSTER,
                "bootstrap": {"dataSecretName": f"{name}-bootstrap"},
                "infrastructureRef": {"apiGroup": INFRA_GROUP, "kind": "ElementalMachine", "name": name},
            },
        },
    )
    owner = {
        "apiVersion": f"{CAPI_GROUP}/{CAPI_VERSION}",
        "kind": "Machine",
        "name": name,
        "uid": machine["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    custom.create_namespaced_custom_object(
        INFRA_GROUP,
        INFRA_VERSION,
        NS,
        "elementalmachines",
        {
            "apiVersion": f"{INFRA_GROUP}/{INFRA_VERSION}",
            "kind": "ElementalMachine",
            "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
            "spec": {},
        },
    )


def _wait_associated(custom: k8s.CustomObjectsApi, count: int, timeout: float = 900) -> list[str]:
    """The hosts of the ElementalMachines, once every one has its hostRef."""
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        listing: Any = custom.list_namespaced_custom_object(
            INFRA_GROUP, INFRA_VERSION, NS, "elementalmachines"
        )
        items = listing["items"]
        refs = [i["spec"]["hostRef"]["name"] for i in items if (i.get("spec") or {}).get("hostRef")]
        if len(refs) == count:
            return refs
        time.sleep(0.5)
    waiting = next((i for i in items if not (i.get("spec") or {}).get("hostRef")), {})
    raise RuntimeError(
        f"not every machine associated; one waiting: {(waiting.get('status') or {}).get('conditions')}"
    )


@contextmanager
def _operator(kubeconfig: str, endpoint: str, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="fleet-operator-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        str(Path(sys.executable).parent / "elemental-operator"), "run", "--kubeconfig", kubeconfig,
        "--api-endpoint", endpoint, "--health-bind-address", f"127.0.0.1:{port}", *extra,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        operator_bench.wait_ready(port)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


@contextmanager
def _api(port: int, kubeconfig: str, workers: int, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    log = tempfile.NamedTemporaryFile(prefix="fleet-api-", suffix=".log", delete=False)  # noqa: SIM115
    command = _serve_command(port, "kubernetes", workers, "--kubeconfig", kubeconfig, *extra)
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start, see {log.name}")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
        log.close()


def _print(report: dict[str, Any]) -> None:
    storm, steady, machines = report["storm"], report["steady"], report["machines_phase"]
    memory = report["memory_mib"]
    print(f"\nmachine: {report['nproc']} CPUs, {report['cpu']}")
    print("\n| hosts | register all (s) | registrations/s | p50 ms | p99 ms | installed all (s) "
          "| quiet after (s) | writes until quiet | outcomes |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {report['hosts']} | {storm['register_all_s']} | {storm['registrations_per_s']} "
        f"| {storm['register_p50_ms']} | {storm['register_p99_ms']} | {storm['installed_all_s']} "
        f"| {storm['quiet_after_s']} | {storm['writes_until_quiet']} | {storm['outcomes']} |"
    )
    print(f"storm kube-apiserver requests (load {storm['load']}): {storm['requests']}")
    print(
        f"\nsteady {steady['seconds']:g}s (took {steady['elapsed_s']:g}s), period {steady['period_s']:g}s: "
        f"{steady['check_ins_per_s']} "
        f"check-ins/s {steady['check_ins']} (load {steady['load']})"
    )
    print(f"steady kube-apiserver requests/s: {steady['requests_per_s']}")
    print(
        f"\n{report['machines']} machines: created in {machines['create_all_s']}s, all associated after "
        f"{machines['all_associated_s']}s (load {machines['load']})"
    )
    print(f"machines kube-apiserver requests: {machines['requests']}")
    print(f"\npeak RSS MiB: API {memory['api']}, operator {memory['operator']}; etcd {report['etcd']}")


if __name__ == "__main__":
    sys.exit(main())
