"""What one hand-off from the event loop to a handler thread and back costs, with no work.

The API runs its Flask app on handler threads (elemental_api/wsgi_bridge.py hands each
request over with `run_in_executor`). This times that round trip for a function that does
nothing, against the leanest hand-off Python offers (a SimpleQueue to the threads and
`call_soon_threadsafe` back, no concurrent.futures.Future): the difference is what a
hand-written hand-off could save per request. CPU µs per round trip, 8 requests in flight,
4 threads, on uvloop as under uvicorn.
"""

from __future__ import annotations

import argparse
import asyncio
import queue
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import uvloop

THREADS = 4
IN_FLIGHT = 8


def nothing(value: int) -> int:
    return value


class QueueHandOff:
    """Threads that take (loop, future, argument) from one queue and set the future."""

    def __init__(self, threads: int) -> None:
        self.queue: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, asyncio.Future[int], int]]
        self.queue = queue.SimpleQueue()
        for _ in range(threads):
            threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            loop, future, value = self.queue.get()
            loop.call_soon_threadsafe(_settle, future, nothing(value))


def _settle(future: asyncio.Future[int], value: int) -> None:
    if not future.done():
        future.set_result(value)


async def _in_lanes(calls: int, one: Callable[[int], Awaitable[object]]) -> None:
    async def lane(count: int) -> None:
        for value in range(count):
            await one(value)

    await asyncio.gather(*(lane(calls // IN_FLIGHT) for _ in range(IN_FLIGHT)))


def _run_in_executor(executor: ThreadPoolExecutor, calls: int) -> None:
    async def one(value: int) -> object:
        return await asyncio.get_running_loop().run_in_executor(executor, nothing, value)

    uvloop.run(_in_lanes(calls, one))


def _queue(hand_off: QueueHandOff, calls: int) -> None:
    async def one(value: int) -> object:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        hand_off.queue.put((loop, future, value))
        return await future

    uvloop.run(_in_lanes(calls, one))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20000, help="round trips per run")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    executor, hand_off = ThreadPoolExecutor(THREADS), QueueHandOff(THREADS)
    ways: dict[str, Callable[[], Any]] = {
        "run_in_executor (the API's)": lambda: _run_in_executor(executor, args.calls),
        "SimpleQueue + call_soon_threadsafe": lambda: _queue(hand_off, args.calls),
    }
    results: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):  # interleaved, so a change of the machine hits both alike
        for name, run in ways.items():
            started = time.process_time()
            run()
            results[name].append((time.process_time() - started) / args.calls * 1e6)
    for name, values in results.items():
        rounds = " ".join(f"{v:.1f}" for v in values)
        print(f"{name:<36} median {statistics.median(values):5.1f} µs CPU per round trip (rounds: {rounds})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
