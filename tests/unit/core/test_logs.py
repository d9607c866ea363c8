"""JSON log lines: one object per record, ids as fields, the logging set-up of the programs."""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Iterator

import pytest

from elemental_core.logs import (
    MAX_EXCEPTION_CHARS,
    MAX_EXTRA_FIELDS,
    MAX_FIELD_CHARS,
    MAX_LINE_CHARS,
    MAX_MESSAGE_CHARS,
    JsonFormatter,
    _cut_head,
    configure_logging,
)

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


# -- bounded lines ---------------------------------------------------------------------------------


def plain(msg: str, **fields: object) -> logging.LogRecord:
    """A record whose message is `msg` as it is (no %-arguments)."""
    made = logging.LogRecord("elemental.test", logging.WARNING, __file__, 1, msg, None, None)
    made.__dict__.update(fields)
    return made


def entry_of(made: logging.LogRecord) -> dict[str, object]:
    line = JsonFormatter().format(made)
    assert len(line) <= MAX_LINE_CHARS
    decoded: dict[str, object] = json.loads(line)
    return decoded


@pytest.mark.parametrize(
    ("value", "logged"),
    [
        (True, True),
        (False, False),
        (1.5, 1.5),
        (math.nan, "nan"),
        (math.inf, "inf"),
        (-math.inf, "-inf"),
        (7, 7),
        (2**63, 2**63),
        (-(2**63), -(2**63)),
        (2**63 + 1, "<integer of 64 bits>"),
        (-(2**63) - 1, "<integer of 64 bits>"),
        (10**5000, f"<integer of {(10**5000).bit_length()} bits>"),
        ("x" * MAX_FIELD_CHARS, "x" * MAX_FIELD_CHARS),
        ("x" * (MAX_FIELD_CHARS + 1), "x" * MAX_FIELD_CHARS + "... (1 more characters)"),
        (["y" * 600], "['" + "y" * 510 + "... (92 more characters)"),
    ],
    ids=lambda value: type(value).__name__,
)
def test_a_field_is_kept_as_a_json_value_of_bounded_size(value: object, logged: object) -> None:
    assert entry_of(record(field=value))["field"] == logged


def test_the_message_and_the_logger_name_are_cut() -> None:
    made = plain("m" * (MAX_MESSAGE_CHARS + 2))
    made.name = "n" * (MAX_FIELD_CHARS + 3)
    entry = entry_of(made)
    assert entry["msg"] == "m" * MAX_MESSAGE_CHARS + "... (2 more characters)"
    assert entry["logger"] == "n" * MAX_FIELD_CHARS + "... (3 more characters)"
    assert entry_of(plain("m" * MAX_MESSAGE_CHARS))["msg"] == "m" * MAX_MESSAGE_CHARS


def test_a_field_name_is_cut_at_64_characters() -> None:
    entry = entry_of(record(**{"k" * 64: 1, "j" * 65: 2}))
    assert entry["k" * 64] == 1
    assert entry["j" * 64 + "... (1 more characters)"] == 2


def test_fields_past_the_sixteenth_are_counted_not_written() -> None:
    sixteen = {f"f{i:02}": i for i in range(MAX_EXTRA_FIELDS)}
    assert "fields_dropped" not in entry_of(record(**sixteen))
    entry = entry_of(record(**sixteen, g1=1, g2=2, g3=None))  # None is no field
    assert {k for k in entry if k.startswith(("f", "g"))} == {*sixteen, "fields_dropped"}
    assert entry["fields_dropped"] == 2


def test_an_exception_keeps_its_tail() -> None:
    try:
        raise RuntimeError("x" * MAX_EXCEPTION_CHARS + "END")
    except RuntimeError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    full = JsonFormatter().formatException(made.exc_info)  # type: ignore[arg-type]
    tail = full[-MAX_EXCEPTION_CHARS:]
    assert tail.endswith("xEND")
    assert entry_of(made)["exception"] == f"({len(full) - MAX_EXCEPTION_CHARS} characters before) ...{tail}"


def test_cutting_from_the_head_keeps_text_at_the_limit() -> None:
    assert _cut_head("abcd", 4) == "abcd"
    assert _cut_head("abcde", 4) == "(1 characters before) ...bcde"


def escaping(fields: int, chars: int = MAX_FIELD_CHARS) -> dict[str, object]:
    """Fields of control characters: each is six characters once JSON-escaped."""
    return {f"e{i:02}": "\x01" * chars for i in range(fields)}


def line_of(msg: str, **fields: object) -> str:
    made = plain(msg, **fields)
    made.created = 0.0
    return JsonFormatter().format(made)


def test_a_line_of_exactly_the_limit_is_kept_whole() -> None:
    fields = escaping(10)
    room = MAX_LINE_CHARS - len(line_of("", **fields))
    fields["tail"] = "\x01" * ((room - 500) // 6)  # leaves room for a message of about 500
    msg = "m" * (MAX_LINE_CHARS - len(line_of("", **fields)))
    line = line_of(msg, **fields)
    assert len(line) == MAX_LINE_CHARS
    assert json.loads(line)["msg"] == msg
    assert len(line_of(msg + "m", **fields)) < MAX_LINE_CHARS  # one more: every text is cut


def test_an_escaping_heavy_line_has_every_text_cut_further() -> None:
    entry = entry_of(plain("\x01" * 600, count=3, **escaping(15)))
    short = MAX_FIELD_CHARS // 6
    assert entry["count"] == 3
    assert entry["e00"] == "\x01" * short + f"... ({MAX_FIELD_CHARS - short} more characters)"
    assert entry["msg"] == "\x01" * short + f"... ({600 - short} more characters)"
    assert entry["level"] == "warning"
