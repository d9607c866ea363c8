"""CPU time per check-in (or per registration) of the API's ASGI app in this one process, no
network, no server.

For A/B runs of small changes on a shared machine: the server benchmarks' throughput moves by
more than such a change with the machine's load, while the CPU time a fixed number of
check-ins costs moves much less. Everything from connexion's middleware to the store runs
(the Flask hand-off thread too); uvicorn's HTTP parsing and the sockets do not. Run with the
checkout to measure first on PYTHONPATH (`scripts/bench inprocess --api-source DIR`).
`--registrations`: new hosts POSTed instead (each with the registration token, as agents send it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from elemental_api.app import create_app
from elemental_api.store import handler_threads_for, open_store
from tests.helpers import HostIdentity, make_registration

CONDITION = {"type": "BootstrapReady", "status": "True", "lastTransitionTime": None}
CHECK_IN_BODY = json.dumps({"phase": "Running", "condition": CONDITION}).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4000, help="check-ins per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--registrations", action="store_true", help="time registrations instead")
    args = parser.parse_args()
    if args.registrations:
        return _registrations(args)
    with tempfile.TemporaryDirectory(prefix="elemental-inprocess-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        registration, _ = make_registration(store, name="bench", endpoint="http://bench")
        hosts = [HostIdentity(registration, f"host-{i}") for i in range(args.hosts)]
        app = create_app(store, api_endpoint="http://bench")
        with app.test_client() as client:
            for host in hosts:
                client.post(host.hosts_path, json=host.create_body(), headers=host.create_headers())
                client.patch(host.path, content=CHECK_IN_BODY, headers=host.auth()).raise_for_status()
        per_check_in = []
        for _ in range(args.rounds):
            calls = [_check_in_scope(hosts[i % len(hosts)]) for i in range(args.count)]
            per_check_in.append(_cpu_ms_each(app, calls, args.concurrency, expected=200))
        store.close()
    rounds = " ".join(f"{value:.3f}" for value in per_check_in)
    print(f"CPU ms per check-in: median {statistics.median(per_check_in):.3f} (rounds: {rounds})")
    return 0


def _registrations(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="elemental-inprocess-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = open_store(url)
        registration, _ = make_registration(store, name="bench", endpoint="http://bench")
        # the server's thread count for this store (writes wait on its lock: see the fifth sitting)
        app = create_app(store, api_endpoint="http://bench", handler_threads=handler_threads_for(url))
        gc.collect()
        gc.freeze()  # as a server worker does once it is built (elemental_api/server.py)
        per_registration = []
        for round_number in range(args.rounds):
            hosts = [HostIdentity(registration, f"host-{round_number}-{i}") for i in range(args.count)]
            calls = [_registration_scope(host) for host in hosts]
            per_registration.append(_cpu_ms_each(app, calls, args.concurrency, expected=201))
        store.close()
    rounds = " ".join(f"{value:.3f}" for value in per_registration)
    print(f"CPU ms per registration: median {statistics.median(per_registration):.3f} (rounds: {rounds})")
    return 0


Request = tuple[dict[str, Any], bytes]  # an ASGI scope and its body


def _cpu_ms_each(app: Any, calls: list[Request], concurrency: int, expected: int) -> float:
    """Process CPU time per request of one round, in ms; every answer must be `expected`."""
    started = time.process_time()
    statuses = asyncio.run(_drive(app, calls, concurrency))
    spent = time.process_time() - started
    if set(statuses) != {expected}:
        raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}")
    return spent / len(calls) * 1000


def _registration_scope(host: HostIdentity) -> tuple[dict[str, Any], bytes]:
    body = json.dumps(host.create_body()).encode()
    tokens = host.create_headers()
    headers = [
        (b"authorization", tokens["Authorization"].encode()),
        (b"registration-authorization", tokens["Registration-Authorization"].encode()),
    ]
    return _scope("POST", host.hosts_path, headers, body), body


def _check_in_scope(host: HostIdentity) -> tuple[dict[str, Any], bytes]:
    headers = [(b"authorization", f"Bearer {host.token()}".encode())]
    return _scope("PATCH", host.path, headers, CHECK_IN_BODY), CHECK_IN_BODY


def _scope(method: str, path: str, auth: list[tuple[bytes, bytes]], body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 9090),
        "client": ("127.0.0.1", 40000),
        "headers": [
            (b"host", b"bench"),
            *auth,
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }


async def _drive(app: Any, requests: list[tuple[dict[str, Any], bytes]], concurrency: int) -> list[int]:
    statuses: list[int] = []
    pending = iter(requests)

    async def one(scope: dict[str, Any], body: bytes) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)

    async def lane() -> None:
        for scope, body in pending:
            await one(scope, body)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return statuses


if __name__ == "__main__":
    sys.exit(main())
