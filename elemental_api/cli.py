"""`elemental-api`: serve the API, and manage registrations and hosts in a store."""

from __future__ import annotations

import sys
from importlib.util import find_spec

# The `api` extra: installed without it, name the command that installs it, not a traceback.
if _missing := [
    name
    for name in ("connexion", "gunicorn", "uvicorn", "prometheus_client", "kubernetes")
    if find_spec(name) is None
]:
    print(f"elemental-api: needs {', '.join(_missing)}: pip install 'elemental-capi[api]'", file=sys.stderr)
    raise SystemExit(2)

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from elemental_api import tls
from elemental_api.store import (
    DEFAULT_STORE_URL,
    HANDLER_THREADS_ENV,
    KUBERNETES_HANDLER_THREADS,
    SQLITE_HANDLER_THREADS,
    AlreadyExists,
    Store,
    StoreError,
    open_store,
)
from elemental_core import hosts, names, registrations
from elemental_core.records import Bootstrap, Host, Registration
from elemental_core.settings import api_endpoint_from, count_setting, seconds_setting
from elemental_kube.settings import add_client_arguments, client_settings
from elemental_models.api import ApiRegistrationResponse

DEFAULT_PORT = 9090


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    args.opened_stores = []
    try:
        result: int = args.run(args)
        return result
    except CliError as error:
        print(f"elemental-api: {error}", file=sys.stderr)
        return 1
    except StoreError as error:
        print(f"elemental-api: store error: {error}", file=sys.stderr)
        return 1
    finally:
        for store in args.opened_stores:
            store.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elemental-api", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (gunicorn, foreground)")
    _store_flags(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default 9090)")
    serve.add_argument(
        "--api-endpoint",
        help="URL agents reach this API at (default: ELEMENTAL_API_PROTOCOL://ELEMENTAL_API_ENDPOINT, else http://HOST:PORT)",
    )
    serve.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    serve.add_argument(
        "--handler-threads",
        default=os.environ.get(HANDLER_THREADS_ENV),
        metavar="N",
        help=f"request handler threads per worker (default: ${HANDLER_THREADS_ENV}, else "
        f"{SQLITE_HANDLER_THREADS} on SQLite, {KUBERNETES_HANDLER_THREADS} on kubernetes)",
    )
    serve.add_argument(
        "--heartbeat-interval",
        default=os.environ.get(hosts.HEARTBEAT_INTERVAL_ENV),
        metavar="SECONDS",
        help="a host's last-seen time is rewritten on a check-in once it is this old: at most one "
        f"write per host per interval (default: ${hosts.HEARTBEAT_INTERVAL_ENV}, else "
        f"{hosts.DEFAULT_HEARTBEAT_INTERVAL:.0f})",
    )
    add_client_arguments(serve)
    serve.add_argument(
        "--tls-cert",
        help="PEM certificate: serve https, picking up a renewed file without a restart "
        "(default: $ELEMENTAL_API_TLS_CERTIFICATE when $ELEMENTAL_API_ENABLE_TLS is true)",
    )
    serve.add_argument(
        "--tls-key",
        help="PEM private key of --tls-cert (default: $ELEMENTAL_API_TLS_PRIVATE_KEY, as --tls-cert)",
    )
    serve.add_argument(
        "--debug",
        action="store_true",
        default=os.environ.get("ELEMENTAL_ENABLE_DEBUG") == "true",
        help="debug logs (default: $ELEMENTAL_ENABLE_DEBUG is true)",
    )
    serve.set_defaults(run=_serve)

    registration = commands.add_parser("registration", help="manage ElementalRegistrations")
    reg_commands = registration.add_subparsers(dest="action", required=True)
    create = reg_commands.add_parser("create", help="create a registration with its key and token")
    _named(create)
    create.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="on Kubernetes, how long to wait for the operator to complete it (default 30)",
    )
    create.add_argument(
        "--token-duration",
        type=int,
        default=0,
        metavar="SECONDS",
        help="registration token lifetime (default: no expiry)",
    )
    create.add_argument(
        "--host-label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="label every host of this registration gets (repeatable)",
    )
    create.add_argument(
        "--host-annotation",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="annotation every host gets (repeatable)",
    )
    create.add_argument(
        "--api-endpoint",
        default=None,
        help="URL agents reach the API at (default $ELEMENTAL_API_PROTOCOL://$ELEMENTAL_API_ENDPOINT, "
        "else http://127.0.0.1:9090)",
    )
    create.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="YAML of the registration's config (as ElementalRegistration spec.config: "
        "elemental.agent, elemental.install, elemental.reset, cloudConfig)",
    )
    create.add_argument(
        "--ca-cert",
        default=None,
        metavar="FILE",
        help="PEM CA certificate(s) agents trust the API's TLS certificate with "
        "(elemental.registration.caCert; overrides --config's)",
    )
    create.set_defaults(run=_registration_create)
    for action, run, text in (
        ("show", _registration_show, "print a registration (JSON)"),
        ("agent-config", _registration_agent_config, "print the agent's config.yaml for a registration"),
    ):
        sub = reg_commands.add_parser(action, help=text)
        _named(sub)
        sub.set_defaults(run=run)
    reg_list = reg_commands.add_parser("list", help="list registrations")
    _namespaced(reg_list)
    reg_list.set_defaults(run=_registration_list)

    host = commands.add_parser("host", help="manage ElementalHosts")
    host_commands = host.add_subparsers(dest="action", required=True)
    host_list = host_commands.add_parser("list", help="list hosts")
    _namespaced(host_list)
    host_list.set_defaults(run=_host_list)
    for action, run, text in (
        ("show", _host_show, "print a host (JSON)"),
        ("delete", _host_delete, "mark a host for deletion: it resets, then goes away"),
    ):
        sub = host_commands.add_parser(action, help=text)
        _named(sub)
        sub.set_defaults(run=run)
    bootstrap = host_commands.add_parser("bootstrap", help="attach bootstrap data to a host")
    _named(bootstrap)
    bootstrap.add_argument("--file", required=True, help="file with the bootstrap data")
    bootstrap.add_argument("--format", choices=["cloud-config", "ignition"], default="cloud-config")
    bootstrap.set_defaults(run=_host_bootstrap)
    return parser


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        default=os.environ.get("ELEMENTAL_STORE", DEFAULT_STORE_URL),
        help=f"sqlite:///PATH or kubernetes (default {DEFAULT_STORE_URL})",
    )
    parser.add_argument("--kubeconfig", default=None, help="kubeconfig for --store kubernetes")


def _namespaced(parser: argparse.ArgumentParser) -> None:
    _store_flags(parser)
    parser.add_argument("-n", "--namespace", default="default", help="namespace (default: default)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="all namespaces")


def _named(parser: argparse.ArgumentParser) -> None:
    _store_flags(parser)
    parser.add_argument("name")
    parser.add_argument("-n", "--namespace", default="default", help="namespace (default: default)")


def _open(args: argparse.Namespace) -> Store:
    try:
        store = open_store(args.store, kubeconfig=args.kubeconfig, watch=False)
    except ValueError as error:
        raise CliError(str(error)) from error
    args.opened_stores.append(store)
    return store


def _serve(args: argparse.Namespace) -> int:
    from elemental_api.server import ServeOptions, serve

    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together")
    tls_names = ("--tls-cert", "--tls-key")
    if args.tls_cert is None and (from_environment := tls.paths_from_environment()):
        args.tls_cert, args.tls_key = from_environment
        tls_names = (tls.CERTIFICATE_ENV, tls.PRIVATE_KEY_ENV)
    if not 1 <= args.port <= 65535:
        raise CliError(f"--port {args.port} must be between 1 and 65535")
    if args.workers < 1:
        raise CliError(f"--workers {args.workers} must be at least 1")
    heartbeat_interval = _heartbeat_interval(args.heartbeat_interval)
    handler_threads = _handler_threads(args.handler_threads)
    try:
        kube_settings = client_settings(args)
    except ValueError as error:
        raise CliError(str(error)) from error
    for flag, path in zip(tls_names, (args.tls_cert, args.tls_key), strict=True):
        if path is not None:
            try:
                Path(path).read_bytes()
            except OSError as error:
                raise CliError(f"{flag} {path}: {error.strerror or error}") from error
    if args.tls_cert is not None:
        try:
            tls.server_context(args.tls_cert, args.tls_key)
        except OSError as error:
            raise CliError(f"{tls_names[0]} and {tls_names[1]} do not load: {error}") from error
    scheme = "https" if args.tls_cert else "http"
    # Fail here, with a clear message, rather than in every worker; and close before the fork.
    probe = _open(args)
    args.opened_stores.remove(probe)
    probe.close()
    serve(
        ServeOptions(
            host=args.host,
            port=args.port,
            store_url=args.store,
            api_endpoint=args.api_endpoint
            or _api_endpoint_from_env()
            or f"{scheme}://{args.host}:{args.port}",
            workers=args.workers,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            kubeconfig=args.kubeconfig,
            debug=args.debug,
            heartbeat_interval=heartbeat_interval,
            kube=kube_settings,
            handler_threads=handler_threads,
        )
    )
    return 0


def _handler_threads(value: str | None) -> int | None:
    """--handler-threads (or its variable): at least 1; None (0 here): the store's default."""
    try:
        return count_setting("--handler-threads", value, 0) or None
    except ValueError as error:
        raise CliError(str(error)) from error


def _heartbeat_interval(value: str | None) -> float:
    """--heartbeat-interval (or its variable): seconds, more than zero."""
    try:
        return seconds_setting("--heartbeat-interval", value, hosts.DEFAULT_HEARTBEAT_INTERVAL)
    except ValueError as error:
        raise CliError(str(error)) from error


def _registration_create(args: argparse.Namespace) -> int:
    _check_name("registration name", args.name)
    _check_name("namespace", args.namespace, label=True)
    if args.token_duration < 0:
        raise CliError("--token-duration must be 0 (no expiry) or a number of seconds")
    host_labels = _pairs("--host-label", args.host_label)
    for label, value in host_labels.items():
        problem = names.label_value_problem(value)
        if problem:
            raise CliError(f"--host-label {label}: value {names.quote(value)} is invalid: {problem}")
    host_annotations = _pairs("--host-annotation", args.host_annotation)
    try:  # the rules the stores apply too: no provider-owned keys, bounded counts
        names.check_registration_metadata(host_labels, host_annotations)
    except names.InvalidMetadata as error:
        raise CliError(str(error)) from error
    endpoint = args.api_endpoint or _api_endpoint_from_env() or f"http://127.0.0.1:{DEFAULT_PORT}"
    registration = registrations.new_registration(
        namespace=args.namespace,
        name=args.name,
        api_endpoint=endpoint,
        token_duration_seconds=args.token_duration,
        host_labels=host_labels,
        host_annotations=host_annotations,
        config=_with_ca_cert(_registration_config(args.config), args.ca_cert),
    )
    store = _open(args)
    try:
        created = store.create_registration(registration)
    except AlreadyExists as error:
        raise CliError(f"registration {args.namespace}/{args.name} already exists") from error
    print(f"registration {args.namespace}/{args.name} created; URI {created.uri}")
    if not created.token and not _wait_for_token(store, args):
        print(
            f"elemental-api: the registration has no token yet after {args.wait:g}s: it is completed "
            "by elemental-operator (is it running?); `registration agent-config` works once it is",
            file=sys.stderr,
        )
        return 1
    return 0


def _api_endpoint_from_env() -> str | None:
    try:
        return api_endpoint_from(os.environ)
    except ValueError as error:
        raise CliError(str(error)) from error


def _wait_for_token(store: Store, args: argparse.Namespace) -> bool:
    """On Kubernetes the operator completes a new registration: wait (bounded) for it."""
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        current = store.get_registration(args.namespace, args.name)
        if current is not None and current.token:
            return True
        time.sleep(0.2)
    return False


def _registration_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        config = yaml.safe_load(Path(path).read_text())
    except (OSError, UnicodeError, yaml.YAMLError) as error:
        raise CliError(f"--config {path}: {error}") from error
    if config is None:
        return {}
    try:
        ApiRegistrationResponse.model_validate({"config": config})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"][1:]) or "config"
        raise CliError(f"--config {path}: {where}: {first['msg']}") from None
    if not isinstance(config, dict):
        raise CliError(f"--config {path}: must be a YAML mapping")
    return config


def _with_ca_cert(config: dict[str, Any], path: str | None) -> dict[str, Any]:
    if path is None:
        return config
    try:
        pem = Path(path).read_text()
    except (OSError, UnicodeError) as error:
        raise CliError(f"--ca-cert {path}: {error}") from error
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise CliError(f"--ca-cert {path}: not a PEM certificate (no BEGIN CERTIFICATE line)")
    elemental = config.setdefault("elemental", {})
    if not isinstance(elemental, dict) or not isinstance(elemental.setdefault("registration", {}), dict):
        raise CliError("--config: elemental.registration must be a mapping")
    elemental["registration"]["caCert"] = pem
    return config


def _registration_show(args: argparse.Namespace) -> int:
    _print_json(_registration_view(_get_registration(args)))
    return 0


def _registration_agent_config(args: argparse.Namespace) -> int:
    config = registrations.agent_config(_get_registration(args))
    print(yaml.safe_dump(config, sort_keys=False), end="")
    return 0


def _registration_list(args: argparse.Namespace) -> int:
    namespace = None if args.all_namespaces else args.namespace
    for registration in _open(args).list_registrations(namespace):
        print(f"{registration.namespace}\t{registration.name}\t{registration.uri}")
    return 0


def _host_list(args: argparse.Namespace) -> int:
    namespace = None if args.all_namespaces else args.namespace
    print("NAMESPACE\tNAME\tREGISTRATION\tPHASE\tINSTALLED\tBOOTSTRAPPED\tNEEDS-RESET")
    for host in _open(args).list_hosts(namespace):
        view = hosts.host_response(host)
        columns = (host.namespace, host.name, host.registration, host.phase or "-")
        print(
            "\t".join(_printable(column) for column in columns)
            + f"\t{view.installed}\t{view.bootstrapped}\t{view.needsReset}"
        )
    return 0


def _host_show(args: argparse.Namespace) -> int:
    _print_json(_host_view(_get_host(_open(args), args)))
    return 0


def _host_delete(args: argparse.Namespace) -> int:
    store = _open(args)
    store.request_host_deletion(_get_host(store, args))
    print(f"host {args.namespace}/{args.name} marked for deletion; it goes away once it has reset")
    return 0


def _host_bootstrap(args: argparse.Namespace) -> int:
    path = Path(args.file)
    try:
        data = path.read_text()
    except (OSError, UnicodeError) as error:
        raise CliError(f"--file {path}: {error}") from error
    store = _open(args)
    store.attach_bootstrap(_get_host(store, args), Bootstrap(config=data, format=args.format))
    print(f"bootstrap data ({args.format}) attached to host {args.namespace}/{args.name}")
    return 0


def _get_registration(args: argparse.Namespace) -> Registration:
    registration = _open(args).get_registration(args.namespace, args.name)
    if registration is None:
        raise CliError(f"registration {args.namespace}/{args.name} not found")
    return registration


def _get_host(store: Store, args: argparse.Namespace) -> Host:
    host = store.get_host(args.namespace, args.name)
    if host is None:
        raise CliError(f"host {args.namespace}/{args.name} not found")
    return host


def _registration_view(registration: Registration) -> dict[str, Any]:
    return {
        "namespace": registration.namespace,
        "name": registration.name,
        "hostLabels": registration.host_labels,
        "hostAnnotations": registration.host_annotations,
        "config": registration.config,
    }


def _host_view(host: Host) -> dict[str, Any]:
    return {
        "namespace": host.namespace,
        "name": host.name,
        "registration": host.registration,
        "phase": host.phase,
        "labels": host.labels,
        "annotations": host.annotations,
        "conditions": host.conditions,
        "lastSeen": host.last_seen,
        "bootstrapSecret": host.bootstrap_secret.name if host.bootstrap_secret else None,
        "deleting": host.deleting,
        "created": host.created,
    }


def _pairs(flag: str, values: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise CliError(f"{flag} {value!r} must be KEY=VALUE")
        problem = names.key_problem(key)
        if problem:
            raise CliError(f"{flag} key {names.quote(key)} is invalid: {problem}")
        result[key] = val
    return result


def _check_name(what: str, value: str, label: bool = False) -> None:
    problem = names.name_problem(value, dns_label=label)
    if problem:
        raise CliError(f"{what} {names.quote(value)} {problem}")


def _print_json(value: Any) -> None:
    # ensure_ascii: every control character (a host's terminal escapes) comes out escaped.
    print(json.dumps(value, indent=2, sort_keys=False, ensure_ascii=True))


def _printable(text: str) -> str:
    """Text a host reported, for a terminal: control characters (and tabs, the columns'
    separator) escaped, never printed raw."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


if __name__ == "__main__":
    sys.exit(main())
