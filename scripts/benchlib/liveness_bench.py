"""Liveness benchmark (not a test): N simulated hosts checking in at their period (each its
own phase, every check-in with a freshly signed host token, as the agent sends it) through
the API on the Kubernetes store, with the operator's registration and host controllers
beside it. Counts what reaches kube-apiserver, from its own apiserver_request_total for the
Elemental resources, over a window that starts once every host is registered and
HostReachable: so the window holds the steady state, the API's last-seen writes and
whatever else check-ins cost. Prints a Markdown table."""

from __future__ import annotations

import argparse
import heapq
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from kubernetes import client as k8s

from elemental_api.store import open_store
from elemental_core.vocabulary import HOST_REACHABLE, HOSTS
from elemental_operator.controllers.base import Settings
from scripts.benchlib.bench import CHECK_IN_BODY, _free_port, _serve_command, _server
from tests.controlplane import ControlPlane
from tests.helpers import HostIdentity, make_registration, wait_for
from tests.inprocess_operator import RunningOperator
from tests.kube_fixtures import crd_files

NS = "default"
WRITE_VERBS = {"POST", "PUT", "PATCH", "DELETE", "DELETECOLLECTION"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=1000, help="simulated hosts")
    parser.add_argument("--interval", type=float, default=60.0, help="heartbeat interval, seconds")
    parser.add_argument("--grace", type=float, default=30.0, help="operator's heartbeat grace, seconds")
    parser.add_argument("--period", type=float, default=10.0, help="each host's check-in period, seconds")
    parser.add_argument("--duration", type=float, default=180.0, help="measured window, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=16, help="client threads sending check-ins")
    args = parser.parse_args()

    with ControlPlane(crd_paths=crd_files()) as control_plane:
        kubeconfig = str(control_plane.kubeconfig_path)
        port = _free_port()
        endpoint = f"http://127.0.0.1:{port}"
        settings = Settings(
            api_endpoint=endpoint,
            requeue_period=5.0,
            heartbeat_interval=args.interval,
            heartbeat_grace=args.grace,
        )
        operator = RunningOperator(
            control_plane, settings, controllers=frozenset({"elementalregistration", "elementalhost"})
        ).start()
        store = open_store("kubernetes", kubeconfig=kubeconfig)
        try:
            registration, _ = make_registration(store, name="bench", endpoint=endpoint)
            hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
            command = _serve_command(
                port, "kubernetes", args.workers, "--kubeconfig", kubeconfig,
                "--heartbeat-interval", str(args.interval),
            )  # fmt: skip
            with _server(command, port):
                started = time.monotonic()
                _register_all(endpoint, hosts, args.threads)
                print(f"registered {len(hosts)} hosts in {time.monotonic() - started:.1f}s", file=sys.stderr)
                _wait_reachable(control_plane, len(hosts))
                before = _requests(control_plane)
                sent = _simulate(endpoint, hosts, args)
                after = _requests(control_plane)
        finally:
            store.close()
            operator.stop()
    _report(args, sent, after - before)
    return 0


def _register_all(endpoint: str, hosts: list[HostIdentity], threads: int) -> None:
    """Each host registers and checks in once (its phase), as the agent does."""

    def register(host: HostIdentity) -> None:
        with httpx.Client(base_url=endpoint, timeout=30) as client:
            created = client.post(host.hosts_path, json=host.create_body(), headers=host.create_headers())
            created.raise_for_status()

            def first_check_in() -> bool:
                answer = client.patch(host.path, content=CHECK_IN_BODY, headers=host.auth())
                return answer.status_code == 200

            # The other worker's cache may not hold the new host yet: as the agent, try again.
            wait_for(first_check_in, 30, f"the first check-in of {host.name}")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(register, hosts))


def _wait_reachable(control_plane: ControlPlane, count: int) -> None:
    """Until the operator has written HostReachable True on every host: its transitions
    happen before the window, which then holds the steady state."""

    def all_reachable() -> bool:
        with control_plane.api_client() as api:
            listing: Any = k8s.CustomObjectsApi(api).list_namespaced_custom_object(
                HOSTS.group, HOSTS.version, NS, HOSTS.plural
            )
        reachable = sum(
            1
            for host in listing["items"]
            for c in (host.get("status") or {}).get("conditions") or []
            if c["type"] == HOST_REACHABLE and c["status"] == "True"
        )
        return reachable == count

    wait_for(all_reachable, 300, "every host HostReachable", interval=1.0)


def _simulate(endpoint: str, hosts: list[HostIdentity], args: argparse.Namespace) -> Counter[str]:
    """Every host checks in every `period` seconds, host i first at i/N of a period, for
    `duration` seconds; a check-in is sent when due (counted late when its thread pool
    was more than a second behind)."""
    sent: Counter[str] = Counter()
    lock = threading.Lock()
    local = threading.local()
    start = time.monotonic() + 1.0
    events = [(start + i * args.period / len(hosts), i) for i in range(len(hosts))]
    heapq.heapify(events)
    end = start + args.duration

    def check_in(due: float, host: HostIdentity) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=endpoint, timeout=30)
        late = time.monotonic() - due > 1.0
        try:
            status = client.patch(host.path, content=CHECK_IN_BODY, headers=host.auth()).status_code
            outcome = "ok" if status == 200 else f"http {status}"
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        with lock:
            sent[outcome] += 1
            sent["late"] += late

    with ThreadPoolExecutor(args.threads) as pool:
        while events and events[0][0] < end:
            due, index = heapq.heappop(events)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(check_in, due, hosts[index])
            heapq.heappush(events, (due + args.period, index))
    return sent


def _requests(control_plane: ControlPlane) -> Counter[str]:
    """apiserver_request_total for the Elemental resources, by verb/subresource/code."""
    counts: Counter[str] = Counter()
    for labels, count in control_plane.request_counts():
        if not labels.get("resource", "").startswith("elemental"):
            continue
        where = labels["resource"] + (f"/{labels['subresource']}" if labels.get("subresource") else "")
        counts[f"{labels['verb']} {where} {labels['code']}"] += int(count)
    if not counts:
        raise RuntimeError("kube-apiserver metrics show no Elemental requests at all: the count is broken")
    return counts


def _report(args: argparse.Namespace, sent: Counter[str], requests: Counter[str]) -> None:
    check_ins = sum(v for k, v in sent.items() if k != "late")
    total = sum(requests.values())
    writes = sum(v for k, v in requests.items() if k.split()[0] in WRITE_VERBS and k.endswith(" 200"))
    refused = sum(v for k, v in requests.items() if k.split()[0] in WRITE_VERBS and not k.endswith(" 200"))
    per_1000 = 1000 / args.hosts
    budget = args.hosts * args.duration / args.interval
    print(
        f"\n{args.hosts} hosts, check-in every {args.period:g}s, heartbeat interval {args.interval:g}s, "
        f"window {args.duration:g}s; check-ins: {dict(sent)}"
    )
    print("kube-apiserver requests in the window:", dict(requests) or "none")
    print("\n| hosts | period s | interval s | check-ins/s | kube-apiserver requests/s | writes/s "
          "| writes/s per 1,000 hosts | writes per host per interval | refused writes |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.hosts} | {args.period:g} | {args.interval:g} | {check_ins / args.duration:.1f} | "
        f"{total / args.duration:.2f} | {writes / args.duration:.2f} | "
        f"{writes / args.duration * per_1000:.2f} | {writes / budget:.3f} | {refused} |"
    )


if __name__ == "__main__":
    sys.exit(main())
