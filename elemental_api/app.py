"""Builds the ASGI application: connexion binds openapi.yaml's operations to the handlers.

Middleware order (outermost first): metrics -> request limits and services -> connexion
(routing, security, validation) -> Flask handlers.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

import connexion
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from elemental_api import observability, problems, spec, validation
from elemental_api.services import SCOPE_KEY, Services
from elemental_api.store import Store, StoreUnavailable
from elemental_api.wsgi_bridge import BufferedWSGIBridge

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE_KEY = "elemental.body_too_large"
log = logging.getLogger(__name__)


class SnakeCaseResolver(Resolver):  # type: ignore[misc]
    """operationId `patchHost` in controller `elemental_api.handlers.hosts` -> `patch_host`."""

    def resolve_operation_id(self, operation: Any) -> str:
        operation_id: str = super().resolve_operation_id(operation)
        module, _, name = operation_id.rpartition(".")
        return f"{module}.{re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()}"


class RequestLimitsMiddleware:
    """Attaches the Services to the scope, refuses bodies over 1 MiB with 413, and reads a
    body sent without Content-Type as JSON: the Go agent sends none, and JSON is all this
    API speaks."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = self.services
        if any(ord(char) < 0x20 or char == "\x7f" for char in scope["path"]):
            # Routers disagree on such paths (connexion misses, Flask matches): refuse early.
            await _send_problem(send, 400, "Bad Request", "the request path contains control characters")
            return
        headers = dict(scope.get("headers", []))
        if b"content-type" not in headers and scope["method"] in ("POST", "PATCH", "PUT"):
            scope["headers"] = [*scope.get("headers", []), (b"content-type", b"application/json")]
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            await _send_problem(send, 413, "Payload Too Large", "request body is over 1 MiB")
            return
        received = 0

        async def limited_receive() -> Message:
            # Past the limit the app sees a disconnect; it answers nothing and we answer 413.
            nonlocal received
            if scope.get(TOO_LARGE_KEY):
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    scope[TOO_LARGE_KEY] = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not scope.get(TOO_LARGE_KEY):
                await send(message)

        await self.app(scope, limited_receive, guarded_send)
        if scope.get(TOO_LARGE_KEY):
            await _send_problem(send, 413, "Payload Too Large", "request body is over 1 MiB")


async def _send_problem(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ElementalFlaskApp(connexion.FlaskApp):  # type: ignore[misc]
    """connexion's FlaskApp with a cheaper bridge into Flask (see wsgi_bridge)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # connexion keeps its Flask bridge in _middleware_app.asgi_app; swap only the bridge.
        self._middleware_app.asgi_app = BufferedWSGIBridge(self._middleware_app.app.wsgi_app)


def create_app(store: Store, *, api_endpoint: str, validate_responses: bool = False) -> connexion.FlaskApp:
    services = Services(store=store, api_endpoint=api_endpoint)
    app = ElementalFlaskApp(__name__, specification_dir=str(SPEC_PATH.parent))
    app.add_api(
        SPEC_PATH.name,
        resolver=SnakeCaseResolver(),
        # Parameters keep the spec's names (registrationName, hostName): snake-casing every
        # name on every request showed in profiles.
        pythonic_params=False,
        validate_responses=validate_responses,
        strict_validation=True,
        validator_map=validation.validator_map(),
        swagger_ui_options=spec.SWAGGER_UI_OPTIONS,
    )
    spec.add_routes(app, api_endpoint)
    app.add_middleware(
        RequestLimitsMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION, services=services
    )
    app.add_middleware(observability.MetricsMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_error_handler(StoreUnavailable, _store_unavailable)
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


def _store_unavailable(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    log.warning("store unavailable", extra={"error": str(error)})
    return _problem_response(
        503,
        "Service Unavailable",
        "the store is unavailable, retry later",
        {"Retry-After": str(problems.RETRY_AFTER_SECONDS)},
    )


def _internal_error(request: ConnexionRequest, error: Exception) -> ConnexionResponse:
    if not request.scope.get(TOO_LARGE_KEY):  # a refused body's disconnect is no server error
        log.exception("unhandled error", exc_info=error)
    return _problem_response(500, "Internal Server Error", "the server could not handle this request")


def _problem_response(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status,
        content_type="application/problem+json",
        body=json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}),
        headers=headers or {},
    )
