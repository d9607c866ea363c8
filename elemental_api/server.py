"""Runs the API under gunicorn (uvicorn workers) in the foreground, with graceful shutdown."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import signal
import ssl
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gunicorn.app.base import BaseApplication
from uvicorn.config import Config

from elemental_api.connections import HeaderDeadlineProtocol
from elemental_api.tls import ReloadingContext
from elemental_core.hosts import DEFAULT_HEARTBEAT_INTERVAL
from elemental_kube.settings import ClientSettings

with warnings.catch_warnings():
    # uvicorn.workers warns it moved to the `uvicorn-worker` package; it still works in 0.54.
    warnings.simplefilter("ignore", DeprecationWarning)
    from uvicorn.workers import UvicornWorker


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 9090
    store_url: str = "sqlite:///elemental.db"
    api_endpoint: str = ""
    workers: int = 2
    tls_cert: str | None = None
    tls_key: str | None = None
    kubeconfig: str | None = None
    debug: bool = False
    validate_responses: bool = False
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    kube: ClientSettings = field(default_factory=ClientSettings)  # the Kubernetes store's client
    handler_threads: int | None = None  # per worker; None: the store's (handler_threads_for)


class _Worker(UvicornWorker):
    """uvicorn's gunicorn worker: no WebSocket (an upgrade request is answered as plain HTTP),
    a deadline for request headers (connections.py), and stopping on the master's SIGQUIT.

    gunicorn's master answers SIGINT and SIGQUIT by sending its workers SIGQUIT; uvicorn's
    worker only marks itself not alive then, which its server never looks at, so the master
    waited the whole graceful_timeout and SIGKILLed the workers. Here SIGQUIT starts uvicorn's
    shutdown, as SIGTERM does: no new connections, in-flight requests finish.
    """

    CONFIG_KWARGS: dict[str, Any] = {"loop": "auto", "http": HeaderDeadlineProtocol, "ws": "none"}  # noqa: RUF012 - uvicorn declares it so

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.is_ssl:
            # Instead of uvicorn's fixed context: one that picks up a renewed certificate.
            self.config.ssl_context_factory = _reloading_ssl_context

    def _install_sigquit_handler(self) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGQUIT, signal.raise_signal, signal.SIGTERM)


def _reloading_ssl_context(config: Config, default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    assert config.ssl_certfile is not None and config.ssl_keyfile is not None
    return ReloadingContext(os.fspath(config.ssl_certfile), os.fspath(config.ssl_keyfile)).context


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        o = self.options
        settings: dict[str, Any] = {
            "bind": f"{o.host}:{o.port}",
            "workers": o.workers,
            "worker_class": _Worker,
            "graceful_timeout": 20,
            "timeout": 60,
            "keepalive": 5,
            "accesslog": None,
            "loglevel": "debug" if o.debug else "info",
            "child_exit": _child_exit,
            # gunicorn's runtime control socket defaults to one path per user
            # ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl): a second server would take it
            # over and unlink it on exit. The API needs no runtime control channel.
            "control_socket_disable": True,
        }
        if o.tls_cert and o.tls_key:
            settings.update(certfile=o.tls_cert, keyfile=o.tls_key)
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork: every worker opens its own store connection.
        from elemental_api.app import create_app
        from elemental_api.store import handler_threads_for, open_store
        from elemental_core.logs import configure_logging

        configure_logging(self.options.debug)
        store = open_store(
            self.options.store_url, kubeconfig=self.options.kubeconfig, kube_settings=self.options.kube
        )
        app = create_app(
            store,
            api_endpoint=self.options.api_endpoint,
            validate_responses=self.options.validate_responses,
            heartbeat_interval=self.options.heartbeat_interval,
            handler_threads=self.options.handler_threads or handler_threads_for(self.options.store_url),
        )
        _freeze_start_up_objects()
        return app


def _freeze_start_up_objects() -> None:
    """Takes what the worker built to start (modules, the spec, the app) out of the garbage
    collector's sight. It lives as long as the worker, yet every full collection walked it
    again: a 55-85 ms pause of all the worker's requests, about every 2 s under a
    registration burst; ~2 ms once frozen (docs/BENCHMARKS.md, "Handler threads and full
    collections")."""
    gc.collect()
    gc.freeze()


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def serve(options: ServeOptions) -> None:
    """Blocks until SIGTERM/SIGINT; gunicorn lets in-flight requests finish."""
    # Metrics from all workers are merged through files (prometheus_client multiprocess mode).
    owned_metrics_dir = None
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        owned_metrics_dir = tempfile.mkdtemp(prefix="elemental-api-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = owned_metrics_dir
    master = os.getpid()
    try:
        _Gunicorn(options).run()
    finally:
        # Workers leave run() too (SystemExit after the fork): only the master cleans up.
        if owned_metrics_dir and os.getpid() == master:
            shutil.rmtree(owned_metrics_dir, ignore_errors=True)
