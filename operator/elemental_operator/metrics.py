"""Prometheus metrics of the operator."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

RECONCILES = Counter("elemental_operator_reconcile_total", "Reconciles", ["controller", "result"])
RECONCILE_ERRORS = Counter("elemental_operator_reconcile_errors_total", "Failed reconciles", ["controller"])
RECONCILE_SECONDS = Histogram(
    "elemental_operator_reconcile_duration_seconds",
    "Reconcile duration",
    ["controller"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
QUEUE_DEPTH = Gauge("elemental_operator_workqueue_depth", "Keys waiting", ["controller"])
API_REQUESTS = Counter("elemental_operator_api_requests_total", "Requests sent to kube-apiserver", ["verb"])
LEADER = Gauge("elemental_operator_leader", "1 while this replica holds the leader lease")
