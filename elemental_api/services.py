"""What a request needs beyond its own data: the store and the API's settings.

The app puts one Services object into each request's ASGI scope, so several apps (one per
test, say) can live in one process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from elemental_api.store import Store
from elemental_core.hosts import DEFAULT_HEARTBEAT_INTERVAL

SCOPE_KEY = "elemental.services"


@dataclass(frozen=True)
class Services:
    store: Store
    api_endpoint: str
    # A host's last-seen time is rewritten once it is this many seconds old.
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    clock: Callable[[], float] = time.time  # seconds since the epoch (tests set the time)


def from_scope(scope: Any) -> Services:
    services: Services = scope[SCOPE_KEY]
    return services
