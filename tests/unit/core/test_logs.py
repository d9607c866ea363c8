"""JSON log lines: one object per record, ids as fields, the logging set-up of the programs."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator

import pytest

from elemental_core.logs import JsonFormatter, configure_logging

NOISY = ("uvicorn.access", "connexion", "httpx", "kubernetes", "urllib3")


def record(msg: str = "host %s patched", *args: object, **fields: object) -> logging.LogRecord:
    made = logging.LogRecord("elemental.test", logging.WARNING, __file__, 1, msg, args or ("h1",), None)
    made.__dict__.update(fields)
    return made


def test_a_record_is_one_json_object_with_its_fields() -> None:
    made = record(namespace="ns", host="h1", phase=None)
    made.created = time.mktime((2026, 1, 2, 3, 4, 5, 0, 0, -1))
    line = JsonFormatter().format(made)
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-01-02T03:04:05",
        "level": "warning",
        "logger": "elemental.test",
        "msg": "host h1 patched",
        "namespace": "ns",
        "host": "h1",
    }


def test_values_json_cannot_encode_are_written_as_text() -> None:
    assert json.loads(JsonFormatter().format(record(error=ValueError("boom"))))["error"] == "boom"


def test_an_exception_is_one_field() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(made))
    assert entry["msg"] == "failed"
    assert entry["exception"].startswith("Traceback")
    assert entry["exception"].endswith("RuntimeError: boom")


def test_no_exception_no_field() -> None:
    assert "exception" not in json.loads(JsonFormatter().format(record()))


@pytest.fixture
def logging_state() -> Iterator[None]:
    """configure_logging sets process-wide state: put it back after the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    noisy = {name: logging.getLogger(name).level for name in NOISY}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in noisy.items():
        logging.getLogger(name).setLevel(noisy_level)


@pytest.mark.usefixtures("logging_state")
@pytest.mark.parametrize(("debug", "level"), [(False, logging.INFO), (True, logging.DEBUG)])
def test_configure_logging(debug: bool, level: int) -> None:
    configure_logging(debug)
    root = logging.getLogger()
    assert root.level == level
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    assert handler.stream is sys.stderr
    assert isinstance(handler.formatter, JsonFormatter)
    assert {name: logging.getLogger(name).level for name in NOISY} == dict.fromkeys(NOISY, logging.WARNING)


@pytest.mark.usefixtures("logging_state")
def test_configure_logging_by_default_is_not_debug() -> None:
    configure_logging()
    assert logging.getLogger().level == logging.INFO
