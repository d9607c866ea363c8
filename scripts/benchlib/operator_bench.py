"""Operator benchmark: `--hosts` installed hosts (default: as many as machines), then
`--count` machines created at once; the time until every ElementalMachine is associated with
its own host, the operator's peak memory, the kube-apiserver requests it sent per reconcile,
and how many host claims kube-apiserver refused with 409 (two machines reaching for one
host). Prints a Markdown table row."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from kubernetes import client as k8s

from tests.controlplane import ControlPlane, free_port
from tests.kube_fixtures import crd_files

G, CAPI, V = "infrastructure.cluster.x-k8s.io", "cluster.x-k8s.io", "v1beta1"
CAPI_V = "v1beta2"  # the operator reads Cluster and Machine at v1beta2
NS = "bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="machines")
    parser.add_argument("--hosts", type=int, default=None, help="installed hosts (default: --count)")
    parser.add_argument("--workers", type=int, default=2, help="operator's ElementalMachine workers")
    args = parser.parse_args()
    host_count = args.count if args.hosts is None else args.hosts
    if host_count < args.count:
        parser.error("--hosts must be at least --count (every machine gets its own host)")
    with ControlPlane(crd_paths=crd_files()) as control_plane, control_plane.api_client() as api:
        custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
        core.create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=NS)))
        custom.create_namespaced_custom_object(
            CAPI,
            CAPI_V,
            NS,
            "clusters",
            {
                "apiVersion": f"{CAPI}/{CAPI_V}",
                "kind": "Cluster",
                "metadata": {"name": "c"},
                "spec": {"infrastructureRef": {"apiGroup": G, "kind": "ElementalCluster", "name": "c"}},
            },
        )
        provisioned = {"status": {"initialization": {"infrastructureProvisioned": True}}}
        custom.patch_namespaced_custom_object_status(CAPI, CAPI_V, NS, "clusters", "c", provisioned)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: create_host(custom, i), range(host_count)))
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="operator-bench-", suffix=".log", delete=False)  # noqa: SIM115
        operator = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "elemental-operator"),
                "run",
                "--kubeconfig",
                str(control_plane.kubeconfig_path),
                "--api-endpoint",
                "https://elemental.example",
                "--health-bind-address",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(port)
            wait_quiet(port)  # hosts get their finalizers and conditions first
            before = metrics(port)
            conflicts_before = claim_conflicts(control_plane)
            started = time.monotonic()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: create_machine(custom, i), range(args.count)))
            created = time.monotonic() - started
            hosts = wait_associated(custom, args.count)
            elapsed = time.monotonic() - started
            after = metrics(port)
            conflicts = claim_conflicts(control_plane) - conflicts_before
            peak_mib = peak_memory_kib(operator.pid) / 1024
        finally:
            operator.send_signal(signal.SIGTERM)
            operator.wait(30)
    assert len(set(hosts)) == args.count, "two machines share a host"
    requests = after["requests"] - before["requests"]
    reconciles = after["reconciles"] - before["reconciles"]
    print(
        "| hosts | machines | create all (s) | all associated after (s) | operator peak RSS (MiB) "
        "| kube-apiserver requests | reconciles | requests per reconcile | host claims refused (409) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {host_count} | {args.count} | {created:.1f} | {elapsed:.1f} | {peak_mib:.0f} | {requests:.0f} "
        f"| {reconciles:.0f} | {requests / max(reconciles, 1):.2f} | {conflicts} |"
    )
    return 0


def create_host(custom: k8s.CustomObjectsApi, index: int) -> None:
    custom.create_namespaced_custom_object(
        G,
        V,
        NS,
        "elementalhosts",
        {
            "apiVersion": f"{G}/{V}",
            "kind": "ElementalHost",
            "metadata": {
                "name": f"host-{index:04d}",
                "labels": {"elementalhost.infrastructure.cluster.x-k8s.io/installed": "true"},
            },
            "spec": {"pubKey": "unused"},
        },
    )


def create_machine(custom: k8s.CustomObjectsApi, index: int) -> None:
    name = f"m-{index:04d}"
    machine = custom.create_namespaced_custom_object(
        CAPI,
        CAPI_V,
        NS,
        "machines",
        {
            "apiVersion": f"{CAPI}/{CAPI_V}",
            "kind": "Machine",
            "metadata": {"name": name, "labels": {"cluster.x-k8s.io/cluster-name": "c"}},
            "spec": {
                "clusterName": "c",
                "bootstrap": {"dataSecretName": f"{name}-bootstrap"},
                "infrastructureRef": {"apiGroup": G, "kind": "ElementalMachine", "name": name},
            },
        },
    )
    custom.create_namespaced_custom_object(
        G,
        V,
        NS,
        "elementalmachines",
        {
            "apiVersion": f"{G}/{V}",
            "kind": "ElementalMachine",
            "metadata": {
                "name": name,
                "labels": {"cluster.x-k8s.io/cluster-name": "c"},
                "ownerReferences": [
                    {
                        "apiVersion": f"{CAPI}/{CAPI_V}",
                        "kind": "Machine",
                        "name": name,
                        "uid": machine["metadata"]["uid"],
                    }
                ],
            },
            "spec": {},
        },
    )


def wait_associated(custom: k8s.CustomObjectsApi, count: int, timeout: float = 1800) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = custom.list_namespaced_custom_object(G, V, NS, "elementalmachines")["items"]
        refs = [i["spec"]["hostRef"]["name"] for i in items if (i.get("spec") or {}).get("hostRef")]
        if len(refs) == count:
            return refs
        time.sleep(0.5)
    raise RuntimeError("not all machines associated in time")


def claim_conflicts(control_plane: ControlPlane) -> int:
    """PATCHes of an ElementalHost (not its status) that kube-apiserver refused with 409."""
    return sum(
        int(count)
        for labels, count in control_plane.request_counts()
        if labels.get("verb") == "PATCH"
        and labels.get("resource") == "elementalhosts"
        and not labels.get("subresource")
        and labels.get("code") == "409"
    )


def wait_ready(port: int) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("operator not ready")


def wait_quiet(port: int) -> None:
    """Until the reconcile count stops moving for two seconds."""
    last = -1.0
    while True:
        current = metrics(port)["reconciles"]
        if current == last:
            return
        last = current
        time.sleep(2)


def metrics(port: int) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    requests = sum(
        float(v) for v in re.findall(r"^elemental_operator_api_requests_total\{[^}]*\} (\S+)", text, re.M)
    )
    reconciles = sum(
        float(v) for v in re.findall(r"^elemental_operator_reconcile_total\{[^}]*\} (\S+)", text, re.M)
    )
    return {"requests": requests, "reconciles": reconciles}


def peak_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
