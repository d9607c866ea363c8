"""CPU time per check-in of the API's ASGI app in this one process, no network, no server.

For A/B runs of small changes on a shared machine: the server benchmarks' throughput moves by
more than such a change with the machine's load, while the CPU time a fixed number of
check-ins costs moves much less. Everything from connexion's middleware to the store runs
(the Flask hand-off thread too); uvicorn's HTTP parsing and the sockets do not. Run with the
checkout to measure first on PYTHONPATH (`scripts/bench inprocess --api-source DIR`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from elemental_api.app import create_app
from elemental_api.store import open_store
from tests.helpers import HostIdentity, make_registration

CONDITION = {"type": "BootstrapReady", "status": "True", "lastTransitionTime": None}
CHECK_IN_BODY = json.dumps({"phase": "Running", "condition": CONDITION}).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4000, help="check-ins per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
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
            calls = [_scope(hosts[i % len(hosts)]) for i in range(args.count)]
            started = time.process_time()
            statuses = asyncio.run(_drive(app, calls, args.concurrency))
            per_check_in.append((time.process_time() - started) / args.count * 1000)
            if set(statuses) != {200}:
                raise RuntimeError(f"unexpected statuses {sorted(set(statuses))}")
        store.close()
    rounds = " ".join(f"{value:.3f}" for value in per_check_in)
    print(f"CPU ms per check-in: median {statistics.median(per_check_in):.3f} (rounds: {rounds})")
    return 0


def _scope(host: HostIdentity) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": host.path,
        "raw_path": host.path.encode(),
        "root_path": "",
        "query_string": b"",
        "server": ("127.0.0.1", 9090),
        "client": ("127.0.0.1", 40000),
        "headers": [
            (b"host", b"bench"),
            (b"authorization", f"Bearer {host.token()}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(CHECK_IN_BODY)).encode()),
        ],
    }


async def _drive(app: Any, scopes: list[dict[str, Any]], concurrency: int) -> list[int]:
    statuses: list[int] = []
    pending = iter(scopes)

    async def one(scope: dict[str, Any]) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": CHECK_IN_BODY, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)

    async def lane() -> None:
        for scope in pending:
            await one(scope)

    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return statuses


if __name__ == "__main__":
    sys.exit(main())
