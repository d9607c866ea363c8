"""The first thing every request meets (ASGI middleware, outside connexion): what routers,
parsers and validators downstream would misread is answered here, as problem+json.

* paths: control characters -> 400; `//` or an encoded `/` -> 404 (Flask would merge the
  slashes and match a route outside connexion's context); a known path with a method it
  does not have -> 405 with the path's real `Allow`; no redirect ever leaves (they are built
  from the request's Host header): a 404 instead;
* WebSocket handshakes are closed (the API speaks no WebSocket);
* Content-Type: one header at most (400); `application/json`, in any case, with no
  parameter but `charset=utf-8`, is passed on as `application/json`; a body without one
  is read as JSON; anything else on a body -> 415;
* bodies, with Content-Length or chunked, are read whole before the app runs: over 1 MiB
  -> 413, not complete within BODY_TIMEOUT_SECONDS -> 408; the app then sees one body
  with its true Content-Length.

Being first, it also counts and times every HTTP request, its own refusals included
(elemental_api.observability): one middleware, one route match per request.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from elemental_api import observability, problems
from elemental_api.services import SCOPE_KEY, Services

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 30.0
BODY_METHODS = frozenset({"POST", "PATCH", "PUT"})
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_RFC9110_TCHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"\s*({_RFC9110_TCHARS}/{_RFC9110_TCHARS})\s*((?:;.*)?)", re.DOTALL)
_PARAMETER = re.compile(rf"\s*;\s*({_RFC9110_TCHARS})=({_RFC9110_TCHARS}|\"(?:[^\"\\]|\\.)*\")\s*", re.DOTALL)
_ENCODED_SLASH = re.compile(rb"%2f|%5c", re.IGNORECASE)


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    label: str  # the metrics' route label: registration, hosts, host, bootstrap

    @property
    def allow(self) -> str:
        return ", ".join(sorted(self.methods))


def spec_routes(spec_path: Path) -> list[Route]:
    """The API's paths and their methods, as openapi.yaml declares them."""
    spec = yaml.safe_load(spec_path.read_text())
    prefix = spec["servers"][0]["url"].rstrip("/")
    routes = []
    for template, item in spec["paths"].items():
        regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(prefix + template))
        methods = frozenset(m.upper() for m in item if m in _HTTP_METHODS)
        routes.append(Route(re.compile(regex), methods, _label(template)))
    return routes


def _label(template: str) -> str:
    """`.../hosts` -> `hosts`; `.../hosts/{hostName}` -> `host` (one item of the collection)."""
    segments = template.rstrip("/").split("/")
    if segments[-1].startswith("{"):
        return segments[-2].removesuffix("s")
    return segments[-1]


class RequestGuard:
    def __init__(self, app: ASGIApp, services: Services, routes: list[Route]) -> None:
        self.app = app
        self.services = services
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accepting: HTTP 403
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        route = next((r for r in self.routes if r.pattern.fullmatch(scope["path"])), None)
        answer = _Answer(send)
        try:
            await self._guard(scope, receive, answer, route)
        finally:
            label = observability.OTHER_ROUTE if route is None else route.label
            observability.record(scope["method"], label, answer.status, time.perf_counter() - started)

    async def _guard(self, scope: Scope, receive: Receive, answer: _Answer, route: Route | None) -> None:
        scope[SCOPE_KEY] = self.services
        refusal = _refusal(scope, route)
        if refusal is not None:
            await problems.send(answer, *refusal)
            return
        body, refusal = await _read_body(scope, receive)
        if refusal is not None:
            await problems.send(answer, *refusal)
            return
        _set_body_headers(scope, len(body))
        await self.app(scope, _replay(body, receive), answer)


class _Answer:
    """The `send` the app gets: notes the status for the metrics (500 until one is sent), and
    turns a router's redirect (trailing slash, merged slashes) into a plain 404."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._redirect_replaced = False
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
            self._redirect_replaced = True
            self.status = 404
            await problems.send(self._send, 404, "no such path")
            return
        if self._redirect_replaced:
            return  # the redirect's own body
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


def _refusal(scope: Scope, route: Route | None) -> tuple[int, str, dict[str, str]] | tuple[int, str] | None:
    path: str = scope["path"]
    if any(ord(char) < 0x20 or char == "\x7f" for char in path):
        return 400, "the request path contains control characters"
    if "//" in path or _ENCODED_SLASH.search(scope.get("raw_path") or b""):
        return 404, "no such path"
    method = scope["method"]
    if (
        route is not None
        and method not in route.methods
        and not (method == "HEAD" and "GET" in route.methods)
    ):
        return 405, f"{method} is not allowed here", {"Allow": route.allow}
    return _content_type_refusal(scope)


def _content_type_refusal(scope: Scope) -> tuple[int, str] | None:
    """Checks Content-Type and rewrites it to what connexion reads safely."""
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
    declared = [value for name, value in headers if name == b"content-type"]
    if len(declared) > 1:
        return 400, "the request has more than one Content-Type header"
    others = [(name, value) for name, value in headers if name != b"content-type"]
    if scope["method"] not in BODY_METHODS:
        scope["headers"] = others  # no body to describe (the spec has none on these)
        return None
    if declared and not _is_json(declared[0]):
        return 415, "Content-Type must be application/json (UTF-8)"
    scope["headers"] = [*others, (b"content-type", b"application/json")]
    return None


def _is_json(value: bytes) -> bool:
    try:
        text = value.decode("ascii")
    except UnicodeDecodeError:
        return False
    match = _MEDIA_TYPE.fullmatch(text)
    if match is None or match.group(1).lower() != "application/json":
        return False
    parameters, rest = [], match.group(2)
    while rest.strip():
        parameter = _PARAMETER.match(rest)
        if parameter is None:
            return False
        parameters.append((parameter.group(1).lower(), parameter.group(2).strip('"').lower()))
        rest = rest[parameter.end() :]
    return all(parameter == ("charset", "utf-8") for parameter in parameters)


async def _read_body(scope: Scope, receive: Receive) -> tuple[bytes, tuple[int, str] | None]:
    headers = dict(scope.get("headers", []))
    declared = headers.get(b"content-length")
    if declared is None and b"transfer-encoding" not in headers:
        return b"", None
    if declared is not None and not declared.isdigit():
        return b"", (400, "the Content-Length header is not a number")
    if declared is not None and (len(declared) > 9 or int(declared) > MAX_BODY_BYTES):
        return b"", (413, "request body is over 1 MiB")
    body = bytearray()
    deadline = time.monotonic() + BODY_TIMEOUT_SECONDS
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
        except TimeoutError:
            return b"", (408, f"the request body did not arrive within {BODY_TIMEOUT_SECONDS:g} s")
        if message["type"] == "http.disconnect":
            return b"", (400, "the client went away before sending its whole body")
        body += message.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return b"", (413, "request body is over 1 MiB")
        if not message.get("more_body", False):
            return bytes(body), None


def _set_body_headers(scope: Scope, length: int) -> None:
    """The body is whole now: its true length, and no Transfer-Encoding (connexion needs a
    Content-Length, and refused chunked bodies as missing)."""
    headers = [
        (k, v) for k, v in scope.get("headers", []) if k not in (b"content-length", b"transfer-encoding")
    ]
    if length or scope["method"] in BODY_METHODS:
        headers.append((b"content-length", str(length).encode()))
    scope["headers"] = headers


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
