"""The one builder of error answers (application/problem+json, RFC 7807).

Handlers and security raise the exceptions below; app.py renders those, connexion's own
problems and every error its middleware answers early through `render`. The detail is a
short sentence: at most MAX_DETAIL_CHARS, and no word of it longer than MAX_WORD_CHARS, so
an answer never repeats more than a few dozen characters of what the client sent.
"""

from __future__ import annotations

import http
import json
import re

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionResponse
from starlette.types import Send

RETRY_AFTER_SECONDS = 5
MAX_DETAIL_CHARS = 160
MAX_WORD_CHARS = 40
CONTENT_TYPE = "application/problem+json"
_TITLES = {413: "Payload Too Large"}  # the RFC 9110 name, which Python's HTTPStatus predates
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")


def title(status: int) -> str:
    if status in _TITLES:
        return _TITLES[status]
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def short_detail(detail: object) -> str:
    """`detail` as a bounded sentence: long words cut, the whole cut, control characters gone."""
    text = "".join(c if c.isprintable() else " " for c in str(detail or ""))
    text = _LONG_WORD.sub(lambda word: word.group()[: MAX_WORD_CHARS - 3] + "...", text).strip()
    if len(text) > MAX_DETAIL_CHARS:
        text = text[: MAX_DETAIL_CHARS - 3] + "..."
    return text or title(400).lower()


def body(status: int, detail: object) -> bytes:
    return json.dumps(
        {"type": "about:blank", "title": title(status), "status": status, "detail": short_detail(detail)}
    ).encode()


def response(status: int, detail: object, headers: dict[str, str] | None = None) -> ConnexionResponse:
    """The answer, for connexion's error handlers."""
    return ConnexionResponse(
        status_code=status, content_type=CONTENT_TYPE, body=body(status, detail), headers=headers or {}
    )


async def send(asgi_send: Send, status: int, detail: object, headers: dict[str, str] | None = None) -> None:
    """The answer, sent from ASGI middleware (before or instead of the app)."""
    payload = body(status, detail)
    await asgi_send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", CONTENT_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
            ],
        }
    )
    await asgi_send({"type": "http.response.body", "body": payload})


def error(status: int, detail: str, headers: dict[str, str] | None = None) -> ProblemException:
    """What handlers raise; rendered by `response`."""
    return ProblemException(status=status, title=title(status), detail=detail, headers=headers)


def bad_request(detail: str) -> ProblemException:
    return error(400, detail)


def unauthorized(detail: str) -> ProblemException:
    return error(401, detail)


def forbidden(detail: str) -> ProblemException:
    return error(403, detail)


def not_found(detail: str) -> ProblemException:
    return error(404, detail)


def conflict(detail: str) -> ProblemException:
    return error(409, detail)


def too_large(detail: str) -> ProblemException:
    return error(413, detail)


def unavailable(detail: str = "the store is unavailable, retry later") -> ProblemException:
    return error(503, detail, {"Retry-After": str(RETRY_AFTER_SECONDS)})
