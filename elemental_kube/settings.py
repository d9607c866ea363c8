"""The Kubernetes clients' settings (rate limit, connection pool) and their flags: no
client imported, so a command line that only parses them loads no Kubernetes client."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

QPS_ENV = "ELEMENTAL_KUBE_QPS"
BURST_ENV = "ELEMENTAL_KUBE_BURST"
CONNECTIONS_ENV = "ELEMENTAL_KUBE_CONNECTIONS"
# Enough for every thread of a program to keep its connection (the API's 16 handler threads
# per worker, the operator's workers and informers): the client's own default, 5 per CPU,
# made each request beyond it open (and TLS-handshake) a connection it then threw away.
DEFAULT_CONNECTIONS = 32


@dataclass(frozen=True)
class ClientSettings:
    """How hard one program may drive kube-apiserver.

    qps: requests per second on average, client-side (0: no client-side limit; the server's
    API Priority and Fairness still applies); burst: requests that may go at once above it
    (0: one second's worth). connections: connections kept open to kube-apiserver."""

    qps: float = 0.0
    burst: int = 0
    connections: int = DEFAULT_CONNECTIONS

    def __post_init__(self) -> None:
        if not 0 <= self.qps < float("inf"):
            raise ValueError(f"kube-apiserver QPS {self.qps:g} must be 0 (no limit) or more")
        if self.burst < 0:
            raise ValueError(f"kube-apiserver burst {self.burst} must be 0 (one second's worth) or more")
        if self.connections < 1:
            raise ValueError(f"kube-apiserver connections {self.connections} must be at least 1")


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """--kube-qps, --kube-burst and --kube-connections (read by client_settings)."""
    parser.add_argument(
        "--kube-qps",
        metavar="N",
        help=f"requests/s to kube-apiserver, client-side (default: ${QPS_ENV}, else 0: no limit)",
    )
    parser.add_argument(
        "--kube-burst",
        metavar="N",
        help=f"requests above --kube-qps at once (default: ${BURST_ENV}, else one second's worth)",
    )
    parser.add_argument(
        "--kube-connections",
        metavar="N",
        help=f"connections kept to kube-apiserver (default: ${CONNECTIONS_ENV}, else {DEFAULT_CONNECTIONS})",
    )


def client_settings(args: argparse.Namespace) -> ClientSettings:
    """The settings of add_client_arguments' flags, else of their variables, else the
    defaults (ValueError naming the flag or variable when one makes no sense)."""
    defaults = ClientSettings()
    return ClientSettings(
        qps=_number("--kube-qps", QPS_ENV, args.kube_qps, float, defaults.qps),
        burst=_number("--kube-burst", BURST_ENV, args.kube_burst, int, defaults.burst),
        connections=_number(
            "--kube-connections", CONNECTIONS_ENV, args.kube_connections, int, defaults.connections
        ),
    )


def _number(flag: str, variable: str, value: str | None, kind: Callable[[str], Any], default: Any) -> Any:
    name, raw = (flag, value) if value is not None else (variable, os.environ.get(variable))
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} {raw!r} must be a number") from None
