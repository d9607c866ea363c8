"""Structured JSON logs for the three programs: one line per record, ids as fields.

Callers log ids (namespace, registration, host), never tokens, keys, bootstrap data or
request bodies. A record's fields are cut to a bounded size, so no input can make a huge line.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

_STANDARD_RECORD_FIELDS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# A line's size is bounded whatever a record carries: each field is cut, and so is their number.
MAX_FIELD_CHARS = 512
MAX_MESSAGE_CHARS = 1024
MAX_EXCEPTION_CHARS = 8 * 1024
MAX_EXTRA_FIELDS = 16
MAX_LINE_CHARS = 32 * 1024  # with JSON escaping (at most 6 characters per character) included


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": _cut(record.name, MAX_FIELD_CHARS),
            "msg": _cut(record.getMessage(), MAX_MESSAGE_CHARS),
        }
        extra = [
            (k, v) for k, v in record.__dict__.items() if k not in _STANDARD_RECORD_FIELDS and v is not None
        ]
        for key, value in extra[:MAX_EXTRA_FIELDS]:
            entry[_cut(str(key), 64)] = _field(value)
        if len(extra) > MAX_EXTRA_FIELDS:
            entry["fields_dropped"] = len(extra) - MAX_EXTRA_FIELDS
        if record.exc_info:
            # The tail: the innermost frames and the error itself are what tell.
            entry["exception"] = _cut_head(self.formatException(record.exc_info), MAX_EXCEPTION_CHARS)
        line = json.dumps(entry)  # every value is text, a number or a boolean (_field)
        if len(line) > MAX_LINE_CHARS:  # only escaping-heavy text gets here
            short = {k: _cut(v, MAX_FIELD_CHARS // 6) if isinstance(v, str) else v for k, v in entry.items()}
            line = json.dumps(short)
        return line


def _field(value: Any) -> Any:
    """Numbers and booleans as they are; anything else as text of bounded size."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):  # NaN and infinities are not JSON
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):  # str() of a huge one would be slow, or refused past 4300 digits
        return value if abs(value) <= 2**63 else f"<integer of {value.bit_length()} bits>"
    return _cut(str(value), MAX_FIELD_CHARS)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def _cut_head(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"({len(text) - limit} characters before) ...{text[-limit:]}"


def configure_logging(debug: bool = False) -> None:
    handler = logging.StreamHandler()  # stderr
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for noisy in ("uvicorn.access", "connexion", "httpx", "kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
