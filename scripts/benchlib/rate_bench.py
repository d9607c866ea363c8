"""Check-ins at a fixed rate (open loop), and at saturation with the CPU they cost.

`rate`: each check-in has a scheduled send time (start + i / rate) and is sent then whatever
the answers before it did; its latency runs from that scheduled time, so a server that falls
behind shows its queue in the percentiles (no coordinated omission). Requests are pre-built
(each with its own freshly signed host token) and sent over a pool of keep-alive connections;
when every connection is busy the next request waits for one, and that wait is latency too.

`saturate`: wrk as in bench.py (closed loop, 32 connections), with the CPU the API's processes
and the whole machine spent per check-in.

Both read CPU time from /proc: the server's processes (gunicorn's master and its workers) for
the API's cores, /proc/stat for the whole machine's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from elemental_api.store import open_store
from scripts.benchlib import bench
from tests.helpers import HostIdentity, make_registration

ROOT = Path(__file__).resolve().parents[2]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_SECONDS = 1
TOKEN_LIFETIME_SECONDS = 540  # the API takes at most 10 minutes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="mode", required=True)
    rate = sub.add_parser("rate", help="fixed-rate check-ins")
    rate.add_argument("--rate", default="1000", help="check-ins/s, comma-separated for several runs")
    rate.add_argument("--connections", type=int, default=64, help="keep-alive connections in the pool")
    saturate = sub.add_parser("saturate", help="wrk at saturation, with CPU per check-in")
    saturate.add_argument("--connections", type=int, default=32)
    saturate.add_argument("--floor", action="store_true", help="the bare Flask floor instead of the API")
    for each in (rate, saturate):
        each.add_argument("--duration", type=int, default=30, help="seconds per run")
        each.add_argument("--store", choices=("sqlite", "kubernetes"), default="sqlite")
        each.add_argument("--hosts", type=int, default=100, help="registered hosts checking in")
        each.add_argument("--workers", type=int, default=2, help="gunicorn workers")
        each.add_argument("--repeat", type=int, default=1, help="runs of each rate, on the same server")
        each.add_argument(
            "--api-source", default=str(ROOT), help="checkout whose elemental_api the server runs (A/B runs)"
        )
        each.add_argument("--threads", type=int, default=1, help="wrk threads (saturate)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elemental-rate-") as tmp, ExitStack() as stack:
        target = stack.enter_context(_target(args, Path(tmp)))
        print(_machine())
        if args.mode == "rate":
            print(
                "| store | rate/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | API cores | "
                "API CPU ms/check-in | machine CPU ms/check-in | load avg |"
            )
            print("| --- " * 12 + "|")
            for value in args.rate.split(","):
                for _ in range(args.repeat):
                    print(_rate_row(args, target, int(value)), flush=True)
        else:
            print(
                "| target | requests/s | p50 ms | p99 ms | non-2xx | API cores | API CPU ms/req | "
                "machine CPU ms/req | load avg |"
            )
            print("| --- " * 9 + "|")
            for _ in range(args.repeat):
                print(_saturate_row(args, target, Path(tmp)), flush=True)
    return 0


@dataclass
class Target:
    endpoint: str
    hosts: list[HostIdentity]
    server: subprocess.Popen[bytes]
    label: str


@contextmanager
def _target(args: argparse.Namespace, work: Path) -> Iterator[Target]:
    """A registration with its hosts, and the server (API or floor) they check in with."""
    port = bench._free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        if args.store == "kubernetes":
            from elemental_operator.controllers.base import Settings
            from tests.controlplane import ControlPlane
            from tests.inprocess_operator import RunningOperator
            from tests.kube_fixtures import crd_files

            control_plane = stack.enter_context(ControlPlane(crd_paths=crd_files()))
            kubeconfig = str(control_plane.kubeconfig_path)
            # The operator completes registrations on Kubernetes (token, signing key Secret).
            settings = Settings(api_endpoint=endpoint, requeue_period=0.5)
            operator = RunningOperator(
                control_plane, settings, controllers=frozenset({"elementalregistration"})
            )
            stack.callback(operator.start().stop)
            store = open_store("kubernetes", kubeconfig=kubeconfig)
            command = bench._serve_command(port, "kubernetes", args.workers, "--kubeconfig", kubeconfig)
        else:
            store_url = f"sqlite:///{work / 'rate.db'}"
            store = open_store(store_url)
            command = bench._serve_command(port, store_url, args.workers)
        stack.callback(store.close)
        registration, _ = make_registration(store, name="bench", endpoint=endpoint)
        hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
        env = {"PYTHONPATH": args.api_source}
        health = "/healthz"
        label = f"API on {args.store}"
        if getattr(args, "floor", False):
            keys = work / "floor-keys.json"
            keys.write_text(json.dumps({h.name: h.key.public_pem() for h in hosts}))
            env = {
                "BENCH_FLOOR_KEYS": str(keys),
                "BENCH_FLOOR_URI": registration.uri,
                "PYTHONPATH": f"{Path(__file__).parent}:{args.api_source}",
            }
            command = ["gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                       "--worker-class", "gthread", "--threads", "4", "floor_app:app"]  # fmt: skip
            health = "/nothing"
            label = "floor: bare Flask + same JWT check"
        server = stack.enter_context(_server(command, port, env, health))
        if not getattr(args, "floor", False):
            bench._register(endpoint, hosts)
            time.sleep(1)  # let the set-up writes (and on Kubernetes their watch events) settle
        yield Target(endpoint, hosts, server, label)


@contextmanager
def _server(
    command: list[str], port: int, env: dict[str, str], health: str
) -> Iterator[subprocess.Popen[bytes]]:
    bin_dir = Path(sys.executable).parent
    full_env = {**os.environ, **env, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start, see {log.name}") from None
                time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


# --- CPU accounting -----------------------------------------------------------------------


def _process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime + stime of each live process."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def _machine_busy_seconds() -> float:
    """All CPUs' non-idle time so far (/proc/stat: everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK_TICKS


@dataclass
class CpuWindow:
    server: subprocess.Popen[bytes]
    pids: list[int] = field(default_factory=list)
    before: dict[int, float] = field(default_factory=dict)
    machine_before: float = 0.0
    started: float = 0.0

    def __enter__(self) -> CpuWindow:
        self.pids = _process_tree(self.server.pid)
        self.before = _cpu_seconds(self.pids)
        self.machine_before = _machine_busy_seconds()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        after = _cpu_seconds(self.pids)
        self.elapsed = time.monotonic() - self.started
        self.api_seconds = sum(after[pid] - self.before[pid] for pid in after if pid in self.before)
        self.machine_seconds = _machine_busy_seconds() - self.machine_before
        self.load = os.getloadavg()[0]


# --- the open-loop generator --------------------------------------------------------------


def _request_bytes(host: HostIdentity) -> bytes:
    body = bench.CHECK_IN_BODY.encode()
    return (
        f"PATCH {host.path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {_token(host)}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _token(host: HostIdentity) -> str:
    """A host token as the agent signs it, but valid for TOKEN_LIFETIME_SECONDS: an overloaded
    server's queue must show as latency, not as tokens that expired while they waited."""
    now = int(time.time())
    claims = {"iat": now, "nbf": now - 2, "exp": now + TOKEN_LIFETIME_SECONDS, "iss": "elemental-agent"}
    return host.key.sign({**claims, "sub": host.name, "aud": [host.registration.uri]})


@dataclass
class RateResult:
    latencies: list[float]
    errors: int
    sent: int
    elapsed: float


async def _open_loop(endpoint: str, requests: list[bytes], rate: float, connections: int) -> RateResult:
    host, port = endpoint.removeprefix("http://").split(":")
    pool: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    errors = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: bytes, scheduled: float) -> None:
        nonlocal errors
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status = await _read_response(reader)
            latencies.append(time.monotonic() - scheduled)
            if status >= 300:
                errors += 1
            pool.put_nowait((reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            writer.close()
            pool.put_nowait(await asyncio.open_connection(host, int(port)))

    start = time.monotonic() + 0.05
    for i, request in enumerate(requests):
        scheduled = start + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(request, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*tasks)
    elapsed = time.monotonic() - start
    while not pool.empty():
        pool.get_nowait()[1].close()
    return RateResult(latencies, errors, len(requests), elapsed)


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))] * 1000


def _rate_row(args: argparse.Namespace, target: Target, rate: int) -> str:
    count = rate * (args.duration + WARM_UP_SECONDS)
    requests = [_request_bytes(target.hosts[i % len(target.hosts)]) for i in range(count)]
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    # A second at the rate first, not counted: new connections, the workers' first requests.
    runner(_open_loop(target.endpoint, requests[: rate * WARM_UP_SECONDS], rate, args.connections))
    requests = requests[rate * WARM_UP_SECONDS :]
    own_before = resource.getrusage(resource.RUSAGE_SELF)
    with CpuWindow(target.server) as cpu:
        result = runner(_open_loop(target.endpoint, requests, rate, args.connections))
    own_after = resource.getrusage(resource.RUSAGE_SELF)
    own = (own_after.ru_utime + own_after.ru_stime) - (own_before.ru_utime + own_before.ru_stime)
    latencies = sorted(result.latencies)
    done = len(latencies)
    return (
        f"| {args.store} | {rate} | {done / result.elapsed:.0f} | {_percentile(latencies, 0.5):.2f} | "
        f"{_percentile(latencies, 0.99):.2f} | {_percentile(latencies, 0.999):.2f} | "
        f"{(latencies[-1] * 1000 if latencies else float('nan')):.2f} | {result.errors} | "
        f"{cpu.api_seconds / cpu.elapsed:.2f} | {cpu.api_seconds / max(done, 1) * 1000:.3f} | "
        f"{cpu.machine_seconds / max(done, 1) * 1000:.3f} | {cpu.load:.2f} |"
        f" <!-- generator CPU {own / cpu.elapsed:.2f} cores -->"
    )


def _saturate_row(args: argparse.Namespace, target: Target, work: Path) -> str:
    requests_file = work / "requests.tsv"
    with requests_file.open("w") as out:
        for line in bench._check_ins(target.hosts, 5000 * args.duration):
            out.write(line + "\n")
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s"]
    script = ["-s", str(bench.LUA), target.endpoint, "--", str(requests_file), str(args.threads)]
    command += ["--latency", *script]
    with CpuWindow(target.server) as cpu:  # the window covers wrk's run only, not the signing
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = bench._parse_wrk(output)
    total = int(result["requests"])
    return (
        f"| {target.label} | {result['rps']:.0f} | {result['p50']:.2f} | {result['p99']:.2f} | "
        f"{result['non2xx']} | {cpu.api_seconds / cpu.elapsed:.2f} | {cpu.api_seconds / total * 1000:.3f} | "
        f"{cpu.machine_seconds / total * 1000:.3f} | {cpu.load:.2f} |"
    )


def _machine() -> str:
    model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), "unknown",
    )  # fmt: skip
    return f"\nmachine: {os.cpu_count()} CPUs, {model}; load average before: {os.getloadavg()[0]:.2f}\n"


if __name__ == "__main__":
    sys.exit(main())
