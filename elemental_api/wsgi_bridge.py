"""Runs the Flask (WSGI) app under connexion's ASGI stack with one thread hand-off per request.

connexion 3 bridges to Flask with a2wsgi, which hops between the event loop and the worker
thread for the body read, for start_response and for every body chunk. Profiling a check-in
showed those hops as the largest cost after the signature check. The API's bodies are small
(1 MiB at most, enforced before this point), so this bridge reads the whole body on the loop,
runs the WSGI app once in a thread, and sends its buffered answer back.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import io
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ
from starlette.types import Receive, Scope, Send

# Threads that run the Flask handlers, per worker process. They share one GIL with the event
# loop: more than the store's blocking calls need only adds contention. The server picks the
# count per store (elemental_api.store.handler_threads_for); this default is for create_app's
# other callers (tests, the in-process benchmark).
DEFAULT_THREADS = 16

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BufferedWSGIBridge:
    def __init__(self, app: WSGIApp, threads: int = DEFAULT_THREADS) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wsgi")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # nobody to answer (or a refused body: the limits middleware answers)
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        environ: dict[str, Any] = dict(build_environ(scope, io.BytesIO(bytes(body))))  # type: ignore[arg-type]
        # connexion's request context lives in contextvars: the handler thread needs them.
        call = functools.partial(contextvars.copy_context().run, self._run, environ)
        status, headers, payload = await asyncio.get_running_loop().run_in_executor(self.executor, call)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def _run(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        started: list[Any] = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return chunks.append

        iterable = self.app(environ, start_response)
        try:
            chunks.extend(iterable)
        finally:
            close = getattr(iterable, "close", None)
            if close is not None:
                close()
        status, headers = started
        encoded = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        return int(status.split(" ", 1)[0]), encoded, b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    message = await receive()
    if message["type"] == "lifespan.startup":
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
    if message["type"] == "lifespan.shutdown":
        await send({"type": "lifespan.shutdown.complete"})
