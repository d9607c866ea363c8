"""Prometheus metrics for the API (its logs are elemental_core.logs)."""

from __future__ import annotations

import os
import re
import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter("elemental_api_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram(
    "elemental_api_request_duration_seconds",
    "API request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

_ROUTES = (
    (re.compile(r"^/elemental/v1/namespaces/[^/]+/registrations/[^/]+/hosts/[^/]+/bootstrap$"), "bootstrap"),
    (re.compile(r"^/elemental/v1/namespaces/[^/]+/registrations/[^/]+/hosts/[^/]+$"), "host"),
    (re.compile(r"^/elemental/v1/namespaces/[^/]+/registrations/[^/]+/hosts$"), "hosts"),
    (re.compile(r"^/elemental/v1/namespaces/[^/]+/registrations/[^/]+$"), "registration"),
)


def route_of(path: str) -> str:
    for pattern, name in _ROUTES:
        if pattern.match(path):
            return name
    return "other"


def metrics_text() -> bytes:
    """The metrics of this process, or of all gunicorn workers when multiprocess is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()


class MetricsMiddleware:
    """Counts and times every HTTP request (outermost, so errors are counted too)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_of(scope["path"])
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
