"""Benchmarks of the Elemental API (not tests): check-in and registration throughput.

Each target is served by gunicorn on loopback and driven by wrk with pre-generated requests
(every request carries its own freshly signed token). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from elemental_api.store import open_store
from tests.helpers import HostIdentity, make_registration

ROOT = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("requests.lua")
CHECK_IN_BODY = json.dumps(
    {
        "phase": "Running",
        "condition": {"type": "BootstrapReady", "status": "True", "lastTransitionTime": None},
    }
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=100, help="registered hosts checking in")
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (it shares the 2 cores)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--targets", default="floor,checkin,register,checkin-kube", help="comma-separated")
    parser.add_argument("--rate-guess", type=int, default=3000, help="requests/s to pre-generate for")
    parser.add_argument(
        "--api-source", default=str(ROOT), help="checkout whose elemental_api the server runs (A/B runs)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("scripts/bench needs wrk (apt-get install wrk)", file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="elemental-bench-") as tmp:
        work = Path(tmp)
        for target in args.targets.split(","):
            rows.append(RUNNERS[target](args, work))
    print("\n| target | requests/s | p50 ms | p99 ms | non-2xx | requests |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['target']} | {row['rps']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} | "
            f"{row['non2xx']} | {row['requests']} |"
        )
    return 0


def run_checkin(args: argparse.Namespace, work: Path) -> dict[str, object]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    store_url = f"sqlite:///{work / 'checkin.db'}"
    store = open_store(store_url)
    registration, _ = make_registration(store, name="bench", endpoint=endpoint)
    hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
    with _server(_serve_command(port, store_url, args.workers), port, env=_api_env(args)):
        _register(endpoint, hosts)
        lines = _check_ins(hosts, args.rate_guess * args.duration)
        result = _wrk(args, work, endpoint, lines)
    store.close()
    return {"target": f"check-in, API ({args.workers} workers, {args.hosts} hosts)", **result}


def run_register(args: argparse.Namespace, work: Path) -> dict[str, object]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    store_url = f"sqlite:///{work / 'register.db'}"
    store = open_store(store_url)
    registration, _ = make_registration(store, name="bench", endpoint=endpoint)
    count = min(args.rate_guess, 1500) * args.duration
    lines = []
    for i in range(count):
        host = HostIdentity(registration, f"new-{i}")
        lines.append(
            f"POST\t{host.hosts_path}\t{host.token()}\t{registration.token}\t{json.dumps(host.create_body())}"
        )
    with _server(_serve_command(port, store_url, args.workers), port, env=_api_env(args)):
        result = _wrk(args, work, endpoint, iter(lines))
    store.close()
    return {"target": f"registration (POST hosts, {args.workers} workers)", **result}


def run_floor(args: argparse.Namespace, work: Path) -> dict[str, object]:
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    store = open_store(f"sqlite:///{work / 'floor.db'}")
    registration, _ = make_registration(store, name="bench", endpoint=endpoint)
    hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
    keys = work / "floor-keys.json"
    keys.write_text(json.dumps({h.name: h.key.public_pem() for h in hosts}))
    env = {
        "BENCH_FLOOR_KEYS": str(keys),
        "BENCH_FLOOR_URI": registration.uri,
        "PYTHONPATH": str(Path(__file__).parent),
    }
    command = [
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "floor_app:app",
    ]
    with _server(command, port, env=env, health="/nothing"):
        lines = _check_ins(hosts, args.rate_guess * args.duration)
        result = _wrk(args, work, endpoint, lines)
    store.close()
    return {"target": f"floor: bare Flask + same JWT check ({args.workers} gthread workers)", **result}


def run_checkin_kube(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """Check-ins on the Kubernetes store, counting the requests that reach kube-apiserver."""
    from elemental_operator.controllers.base import Settings
    from tests.controlplane import ControlPlane
    from tests.inprocess_operator import RunningOperator
    from tests.kube_fixtures import crd_files

    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with ControlPlane(crd_paths=crd_files()) as control_plane:
        kubeconfig = str(control_plane.kubeconfig_path)
        # The operator completes registrations on Kubernetes (token, signing key Secret): the
        # registration controller alone, so no other controller's requests enter the count.
        operator = RunningOperator(
            control_plane, Settings(api_endpoint=endpoint), controllers=frozenset({"elementalregistration"})
        ).start()
        store = open_store("kubernetes", kubeconfig=kubeconfig)
        try:
            registration, _ = make_registration(store, name="bench", endpoint=endpoint)
            hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
            command = _serve_command(port, "kubernetes", args.workers, "--kubeconfig", kubeconfig)
            with _server(command, port, env=_api_env(args)):
                _register(endpoint, hosts)
                time.sleep(1)  # let the watch events of the set-up writes settle
                lines = _check_ins(hosts, args.rate_guess * args.duration)
                before = _apiserver_requests(control_plane)
                result = _wrk(args, work, endpoint, lines)
                after = _apiserver_requests(control_plane)
        finally:
            store.close()
            operator.stop()
    if before == 0:
        raise RuntimeError("kube-apiserver metrics show no requests at all: the count is broken")
    per_check_in = (after - before) / max(int(result["requests"]), 1)
    return {
        "target": f"check-in, API on kubernetes store ({args.workers} workers, {args.hosts} hosts); "
        f"kube-apiserver requests per check-in: {per_check_in:.4f}",
        **result,
    }


def _apiserver_requests(control_plane: object) -> float:
    """apiserver_request_total over all verbs and resources, excluding watch streams' own
    bookkeeping: what the API sent to kube-apiserver."""
    from tests.controlplane import ControlPlane

    assert isinstance(control_plane, ControlPlane)
    return sum(
        count
        for labels, count in control_plane.request_counts()
        if labels.get("resource", "").startswith("elemental")
    )


RUNNERS = {
    "checkin": run_checkin,
    "register": run_register,
    "floor": run_floor,
    "checkin-kube": run_checkin_kube,
}


def _serve_command(port: int, store_url: str, workers: int, *extra: str) -> list[str]:
    endpoint = f"http://127.0.0.1:{port}"
    return [
        "elemental-api",
        "serve",
        "--port",
        str(port),
        "--store",
        store_url,
        "--workers",
        str(workers),
        "--api-endpoint",
        endpoint,
        *extra,
    ]


def _api_env(args: argparse.Namespace) -> dict[str, str]:
    """The API server imports elemental_api from --api-source (the benchmark's own set-up
    code comes from this checkout)."""
    return {"PYTHONPATH": args.api_source}


def _register(endpoint: str, hosts: list[HostIdentity]) -> None:
    """Registers the hosts and checks each in once, so later check-ins change nothing."""
    with httpx.Client(base_url=endpoint) as client:
        for host in hosts:
            client.post(
                host.hosts_path, json=host.create_body(), headers=host.create_headers()
            ).raise_for_status()
            client.patch(host.path, content=CHECK_IN_BODY, headers=host.auth()).raise_for_status()


def _check_ins(hosts: list[HostIdentity], count: int) -> Iterator[str]:
    """wrk lines: no-op check-ins, each with its own freshly signed host token."""
    return (f"PATCH\t{h.path}\t{h.token()}\t\t{CHECK_IN_BODY}" for h in _cycle(hosts, count))


def _cycle(hosts: list[HostIdentity], count: int) -> Iterator[HostIdentity]:
    for i in range(count):
        yield hosts[i % len(hosts)]


def _wrk(args: argparse.Namespace, work: Path, endpoint: str, lines: Iterator[str]) -> dict[str, float | int]:
    requests_file = work / "requests.tsv"
    with requests_file.open("w") as out:
        for line in lines:
            out.write(line + "\n")
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{args.duration}s",
        "--latency",
        "-s",
        str(LUA),
        endpoint,
        "--",
        str(requests_file),
        str(args.threads),
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return _parse_wrk(output)


def _parse_wrk(output: str) -> dict[str, float | int]:
    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    non2xx_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if errors:
        print(f"wrk socket errors: {errors.group(1)}", file=sys.stderr)
    return {
        "rps": rps,
        "p50": latency("50%"),
        "p99": latency("99%"),
        "non2xx": int(non2xx_match.group(1)) if non2xx_match else 0,
        "requests": total,
    }


@contextmanager
def _server(
    command: list[str], port: int, env: dict[str, str] | None = None, health: str = "/healthz"
) -> Iterator[None]:
    bin_dir = Path(sys.executable).parent
    full_env = {**os.environ, **(env or {}), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"server did not start, see {log.name}")
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
