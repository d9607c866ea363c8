"""Structured JSON logs and Prometheus metrics for the API.

Logs carry ids (namespace, registration, host), never tokens, keys or bootstrap data.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STANDARD_RECORD_FIELDS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(
            (k, v) for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_FIELDS and v is not None
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(debug: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("uvicorn.access", "connexion", "httpx", "kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


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
