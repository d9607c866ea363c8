"""Prometheus metrics for the API (its logs are elemental_core.logs)."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess

REQUESTS = Counter("elemental_api_requests_total", "API requests", ["method", "route", "status"])
LATENCY = Histogram(
    "elemental_api_request_duration_seconds",
    "API request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

OTHER_ROUTE = "other"  # any path the spec does not declare (/metrics, /healthz, the UI, typos)


def record(method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request, counted and timed (by elemental_api.guard, which every request meets)."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def metrics_text() -> bytes:
    """The metrics of this process, or of all gunicorn workers when multiprocess is on."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
