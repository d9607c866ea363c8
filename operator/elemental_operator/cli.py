"""`elemental-operator run`: the Cluster API controllers for Elemental."""

from __future__ import annotations

import sys
from importlib.util import find_spec

# The `operator` extra: installed without it, name the command that installs it, not a traceback.
if _missing := [name for name in ("kubernetes", "prometheus_client") if find_spec(name) is None]:
    print(
        f"elemental-operator: needs {', '.join(_missing)}: pip install 'elemental-capi[operator]'",
        file=sys.stderr,
    )
    raise SystemExit(2)

import argparse
import logging
import os
import signal
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from elemental_core.hosts import (
    DEFAULT_HEARTBEAT_GRACE,
    DEFAULT_HEARTBEAT_INTERVAL,
    HEARTBEAT_GRACE_ENV,
    HEARTBEAT_INTERVAL_ENV,
)
from elemental_core.logs import configure_logging
from elemental_core.settings import count_setting, seconds_setting
from elemental_kube.settings import add_client_arguments, client_settings
from elemental_operator.controllers.base import Settings
from elemental_operator.manager import Manager, ManagerOptions, connect

log = logging.getLogger(__name__)
WORKERS_ENV = "ELEMENTAL_OPERATOR_WORKERS"
DEFAULT_WORKERS = 2


def main(argv: Sequence[str] | None = None) -> int:
    args = argument_parser().parse_args(argv)
    try:
        options = manager_options(args)
        kube_settings = client_settings(args)
    except (ValueError, OSError) as error:
        print(f"elemental-operator: {error}", file=sys.stderr)
        return 2
    configure_logging(args.debug)
    manager = Manager(connect(args.kubeconfig, kube_settings), options)

    def shutdown(signum: int, frame: FrameType | None) -> None:
        log.info("shutting down", extra={"signal": signum})
        manager.stop_event.set()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    return manager.run()


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elemental-operator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the controllers (foreground)")
    run.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig (default: in-cluster, then ~/.kube/config)",
    )
    run.add_argument(
        "--api-endpoint",
        default=None,
        help="URL of the Elemental API for new registrations "
        "(default: $ELEMENTAL_API_PROTOCOL://$ELEMENTAL_API_ENDPOINT)",
    )
    run.add_argument(
        "--default-ca-file",
        default=None,
        help="CA certificate put into new registrations "
        "(default: $ELEMENTAL_API_TLS_CA when $ELEMENTAL_ENABLE_DEFAULT_CA=true)",
    )
    run.add_argument(
        "--requeue-period",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds between periodic checks while waiting (default 10)",
    )
    run.add_argument(
        "--heartbeat-interval",
        default=os.environ.get(HEARTBEAT_INTERVAL_ENV),
        metavar="S",
        help="the API's heartbeat interval: a host is reported unreachable (HostReachable False) "
        "once its last recorded check-in is older than two intervals plus the grace "
        f"(default: ${HEARTBEAT_INTERVAL_ENV}, else {DEFAULT_HEARTBEAT_INTERVAL:g}; set the API's the same)",
    )
    run.add_argument(
        "--heartbeat-grace",
        default=os.environ.get(HEARTBEAT_GRACE_ENV),
        metavar="S",
        help=f"seconds of grace beyond two heartbeat intervals (default: ${HEARTBEAT_GRACE_ENV}, "
        f"else {DEFAULT_HEARTBEAT_GRACE:g})",
    )
    run.add_argument("--leader-elect", action="store_true", help="use a Lease so only one replica acts")
    run.add_argument("--leader-elect-namespace", default=os.environ.get("POD_NAMESPACE", "default"))
    run.add_argument(
        "--health-bind-address",
        default="127.0.0.1:8081",
        help="address of /healthz, /readyz and /metrics (default 127.0.0.1:8081)",
    )
    run.add_argument(
        "--workers",
        default=os.environ.get(WORKERS_ENV),
        metavar="N",
        help=f"ElementalMachine workers (default: ${WORKERS_ENV}, else {DEFAULT_WORKERS}); "
        "each other controller has one",
    )
    add_client_arguments(run)
    run.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        metavar="NS",
        help="reconcile only objects in this namespace (repeatable; default: every namespace)",
    )
    run.add_argument(
        "--debug", action="store_true", default=os.environ.get("ELEMENTAL_ENABLE_DEBUG") == "true"
    )
    return parser


def manager_options(args: argparse.Namespace) -> ManagerOptions:
    """The Manager's options from the command line and upstream's environment variables
    (ValueError or OSError when they do not make sense)."""
    host, _, port = args.health_bind_address.rpartition(":")
    return ManagerOptions(
        settings=_settings(args),
        leader_elect=args.leader_elect,
        leader_namespace=args.leader_elect_namespace,
        health_address=(host or "0.0.0.0", int(port)),  # noqa: S104 - the address is the user's choice
        workers=count_setting("--workers", args.workers, DEFAULT_WORKERS),
        namespaces=frozenset(args.namespaces) if args.namespaces else None,
    )


def _settings(args: argparse.Namespace) -> Settings:
    endpoint = args.api_endpoint
    if endpoint is None and os.environ.get("ELEMENTAL_API_ENDPOINT"):
        protocol = os.environ.get("ELEMENTAL_API_PROTOCOL", "https")
        if protocol not in ("http", "https"):
            raise ValueError(f"ELEMENTAL_API_PROTOCOL must be http or https, not {protocol!r}")
        endpoint = f"{protocol}://{os.environ['ELEMENTAL_API_ENDPOINT']}"
    if endpoint is None:
        raise ValueError("--api-endpoint or ELEMENTAL_API_ENDPOINT is required")
    ca_file = args.default_ca_file
    if ca_file is None and os.environ.get("ELEMENTAL_ENABLE_DEFAULT_CA") == "true":
        ca_file = os.environ.get("ELEMENTAL_API_TLS_CA")
        if not ca_file:
            raise ValueError("ELEMENTAL_ENABLE_DEFAULT_CA=true needs ELEMENTAL_API_TLS_CA")
    default_ca = Path(ca_file).read_text() if ca_file else ""
    interval = seconds_setting("--heartbeat-interval", args.heartbeat_interval, DEFAULT_HEARTBEAT_INTERVAL)
    grace = seconds_setting("--heartbeat-grace", args.heartbeat_grace, DEFAULT_HEARTBEAT_GRACE, zero=True)
    return Settings(
        api_endpoint=endpoint,
        default_ca=default_ca,
        requeue_period=args.requeue_period,
        heartbeat_interval=interval,
        heartbeat_grace=grace,
    )


if __name__ == "__main__":
    sys.exit(main())
