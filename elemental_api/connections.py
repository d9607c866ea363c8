"""uvicorn's HTTP protocol with a deadline and a size limit for a request's headers.

uvicorn times out idle keep-alive connections, but not a client that sends its request
line and headers a byte at a time: such connections were held open for ever, and enough
of them exhaust a worker. Here a connection whose request headers are not complete
HEADER_TIMEOUT_SECONDS after it opened (or after its previous answer) is closed. Nor does
uvicorn's httptools parser bound the headers' size: past MAX_HEADER_BYTES the answer is 431
and the connection is closed. The body has its own deadline and limit (elemental_api.guard).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from elemental_api import problems

HEADER_TIMEOUT_SECONDS = 10.0
MAX_HEADER_BYTES = 64 * 1024


class HeaderDeadlineProtocol(HttpToolsProtocol):
    _header_deadline: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def data_received(self, data: bytes) -> None:
        awaiting_headers = self._header_deadline is not None
        super().data_received(data)
        if awaiting_headers and self._header_deadline is not None:  # still no complete headers
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._disarm()
                self._refuse_headers()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        idle = self.cycle is None or self.cycle.response_complete  # no pipelined request under way
        if idle and not self.transport.is_closing():
            self._arm()  # the next request's headers are due in time too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_bytes = 0
        self._header_deadline = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _refuse_headers(self) -> None:
        if self.transport.is_closing():
            return
        body = problems.body(431, "the request headers are over 64 KiB")
        head = (
            "HTTP/1.1 431 Request Header Fields Too Large\r\n"
            f"content-type: {problems.CONTENT_TYPE}\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n\r\n"
        )
        self.transport.write(head.encode() + body)
        self.transport.close()

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took too long")
            self.transport.close()
