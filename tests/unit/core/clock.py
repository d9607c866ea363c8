"""Checks on times the core reads from the clock itself: within the window a call ran in."""

from __future__ import annotations

import datetime
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Window:
    start: float = 0.0
    end: float = 0.0

    def holds_seconds(self, seconds: float) -> bool:
        """Whether a whole-second timestamp was read inside the window."""
        return math.floor(self.start) <= seconds <= self.end

    def holds_rfc3339(self, value: str) -> bool:
        """Whether an RFC 3339 UTC timestamp (seconds, `Z`) was read inside the window."""
        parsed = datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
        return self.holds_seconds(parsed.timestamp())


@contextmanager
def window() -> Iterator[Window]:
    span = Window(start=time.time())
    yield span
    span.end = time.time()


@contextmanager
def local_zone(tz: str) -> Iterator[None]:
    """The process's local time zone set to a POSIX TZ (no tz database needed), then put back."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()
