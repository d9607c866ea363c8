"""A work queue per controller, as controller-runtime's: a key is queued at most once, is
never processed by two workers at once, and failures are retried with capped exponential
back-off, a bounded number of times: then the key waits for its object to change (an
informer event, or the relist after a lost watch, queues it again)."""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque

Key = tuple[str, str]
BASE_DELAY = 0.05
MAX_DELAY = 60.0
# 0.05 s doubling up to 60 s: 15 retries span about six minutes.
MAX_RETRIES = 15


class WorkQueue:
    def __init__(
        self, *, base_delay: float = BASE_DELAY, max_delay: float = MAX_DELAY, max_retries: int = MAX_RETRIES
    ) -> None:
        self.base_delay, self.max_delay, self.max_retries = base_delay, max_delay, max_retries
        self._cond = threading.Condition()
        self._queue: deque[Key] = deque()
        self._dirty: set[Key] = set()
        self._processing: set[Key] = set()
        self._delayed: list[tuple[float, int, Key]] = []
        self._failures: dict[Key, int] = {}
        self._counter = 0
        self._shutdown = False

    def add(self, key: Key) -> None:
        with self._cond:
            if self._shutdown or key in self._dirty:
                return
            self._dirty.add(key)
            if key not in self._processing:  # re-queued by done() otherwise
                self._queue.append(key)
                self._cond.notify()

    def add_after(self, key: Key, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            self._counter += 1
            heapq.heappush(self._delayed, (time.monotonic() + delay, self._counter, key))
            self._cond.notify()

    def add_rate_limited(self, key: Key) -> float | None:
        """Re-queues a failed key after base_delay, doubling per consecutive failure up to
        max_delay; the delay, or None once the key has failed max_retries times in a row
        (it is not re-queued, and its count starts afresh)."""
        with self._cond:
            failures = self._failures.get(key, 0)
            if failures >= self.max_retries:
                del self._failures[key]
                return None
            self._failures[key] = failures + 1
        delay = min(self.base_delay * (2**failures), self.max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: Key) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def get(self, timeout: float = 1.0) -> Key | None:
        """The next key to process, or None on timeout or shutdown."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._promote_delayed()
            while not self._queue:
                remaining = deadline - time.monotonic()
                if self._shutdown or remaining <= 0:
                    return None
                if self._delayed:
                    remaining = min(remaining, max(self._delayed[0][0] - time.monotonic(), 0))
                self._cond.wait(remaining)
                self._promote_delayed()
            key = self._queue.popleft()
            self._dirty.discard(key)
            self._processing.add(key)
            return key

    def done(self, key: Key) -> None:
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty:  # changed while being processed: go again
                self._queue.append(key)
                self._cond.notify()

    def depth(self) -> int:
        with self._cond:
            return len(self._queue) + len(self._delayed)

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def _promote_delayed(self) -> None:
        now = time.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            if key not in self._dirty:
                self._dirty.add(key)
                if key not in self._processing:
                    self._queue.append(key)
