"""What a request needs beyond its own data: the store and the API's settings.

The app puts one Services object into each request's ASGI scope, so several apps (one per
test, say) can live in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elemental_api.store import Store

SCOPE_KEY = "elemental.services"


@dataclass(frozen=True)
class Services:
    store: Store
    api_endpoint: str


def from_scope(scope: Any) -> Services:
    services: Services = scope[SCOPE_KEY]
    return services
