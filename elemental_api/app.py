"""Builds the ASGI application: connexion binds openapi.yaml's operations to the handlers.

Middleware order (outermost first): the request guard (elemental_api.guard: metrics, paths,
Content-Type, whole bodies within limits, services) -> connexion (routing, security,
validation) -> Flask handlers. Every error answer, whoever finds the error, is built by
elemental_api.problems.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import connexion
import flask
from connexion.exceptions import ProblemException
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from elemental_api import guard, observability, operations, problems, security_handlers, spec, validation
from elemental_api.services import Services
from elemental_api.store import Rejected, Store, StoreUnavailable
from elemental_api.wsgi_bridge import DEFAULT_THREADS, BufferedWSGIBridge
from elemental_core.hosts import DEFAULT_HEARTBEAT_INTERVAL

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
log = logging.getLogger(__name__)


class SnakeCaseResolver(Resolver):  # type: ignore[misc]
    """operationId `patchHost` in controller `elemental_api.handlers.hosts` -> `patch_host`."""

    def resolve_operation_id(self, operation: Any) -> str:
        operation_id: str = super().resolve_operation_id(operation)
        module, _, name = operation_id.rpartition(".")
        return f"{module}.{re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()}"


class ElementalFlaskApp(connexion.FlaskApp):  # type: ignore[misc]
    """connexion's FlaskApp with a cheaper bridge into Flask (see wsgi_bridge)."""

    def __init__(self, *args: Any, handler_threads: int = DEFAULT_THREADS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # connexion keeps its Flask bridge in _middleware_app.asgi_app; swap only the bridge.
        # The same object also gets the operations (when the middleware stack is built, at the
        # first request): its class gains only an add_api that decorates each handler once.
        self._middleware_app.__class__ = operations.FlaskASGIAppDecoratingOnce
        self._middleware_app.asgi_app = BufferedWSGIBridge(
            self._middleware_app.app.wsgi_app, threads=handler_threads
        )
        # Flask would merge `//` into `/` and match a route connexion missed (guard.py refuses
        # such paths first); nor may it answer with a redirect built from the Host header.
        self.app.url_map.merge_slashes = False
        self.app.url_map.strict_slashes = False


def create_app(
    store: Store,
    *,
    api_endpoint: str,
    validate_responses: bool = False,
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
    clock: Callable[[], float] = time.time,
    handler_threads: int = DEFAULT_THREADS,
) -> connexion.FlaskApp:
    services = Services(
        store=store, api_endpoint=api_endpoint, heartbeat_interval=heartbeat_interval, clock=clock
    )
    app = ElementalFlaskApp(
        __name__, specification_dir=str(SPEC_PATH.parent), handler_threads=handler_threads
    )
    app.add_api(
        SPEC_PATH.name,
        resolver=SnakeCaseResolver(),
        # Parameters keep the spec's names (registrationName, hostName): snake-casing every
        # name on every request showed in profiles.
        pythonic_params=False,
        validate_responses=validate_responses,
        strict_validation=True,
        validator_map=validation.validator_map(),
        security_map=security_handlers.SECURITY_MAP,
        # Compact JSON, as the Go API answers (connexion indents by 2: 247 bytes instead of 126
        # for a check-in's answer); Flask's provider still orders the keys.
        jsonifier=Jsonifier(flask.json, separators=(",", ":")),
        swagger_ui_options=spec.SWAGGER_UI_OPTIONS,
    )
    spec.add_routes(app, api_endpoint)
    app.add_middleware(
        guard.RequestGuard,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=services,
        routes=guard.spec_routes(SPEC_PATH),
    )
    app.add_error_handler(ProblemException, _problem)
    app.add_error_handler(HTTPException, _http_exception)
    app.add_error_handler(StoreUnavailable, _store_unavailable)
    app.add_error_handler(Rejected, _rejected)
    app.add_error_handler(Exception, _internal_error)
    _add_operational_routes(app, store)
    return app


def _add_operational_routes(app: connexion.FlaskApp, store: Store) -> None:
    def healthz() -> tuple[str, int]:
        return "ok", 200

    def readyz() -> tuple[str, int]:
        try:
            store.ping()
        except StoreUnavailable:
            return "store unavailable", 503
        return "ok", 200

    def metrics() -> tuple[bytes, int, dict[str, str]]:
        return observability.metrics_text(), 200, {"Content-Type": "text/plain; version=0.0.4"}

    app.add_url_rule("/healthz", "healthz", healthz)
    app.add_url_rule("/readyz", "readyz", readyz)
    app.add_url_rule("/metrics", "metrics", metrics)


def _problem(request: ConnexionRequest, error: ProblemException) -> ConnexionResponse:
    """Ours and connexion's (validation, security, media type): the detail is cut to size,
    and the log says what was refused, never the input."""
    log.info("request refused", extra={"status": error.status, "detail": problems.short_detail(error.detail)})
    return problems.response(error.status, error.detail, dict(error.headers or {}))


def _http_exception(request: ConnexionRequest, error: HTTPException) -> ConnexionResponse:
    """The routers' answers (no such path, no such method); never a redirect."""
    status = error.status_code
    if status == 404 or 300 <= status < 400:
        return problems.response(404, "no such path")
    return problems.response(status, error.detail, dict(error.headers or {}))


def _store_unavailable(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    log.warning("store unavailable", extra={"error": str(error)})
    return problems.response(
        503, "the store is unavailable, retry later", {"Retry-After": str(problems.RETRY_AFTER_SECONDS)}
    )


def _rejected(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    """kube-apiserver refused a write as invalid: the request asked for what the resource's
    schema does not allow. Its message quotes the input: logged (cut), not answered."""
    log.warning("store refused a change as invalid", extra={"error": str(error)})
    return problems.response(400, "the store refused the change as invalid")


def _internal_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    log.exception("unhandled error", exc_info=error)
    return problems.response(500, "the server could not handle this request")
