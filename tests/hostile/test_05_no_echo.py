"""Item 5: a rejected input is neither echoed back nor logged in full. A 900 KB value came
back whole in the 400's `detail`, and as one 900 KB warning line in the server log."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest

from elemental_api import problems
from elemental_core import logs
from tests.helpers import HostIdentity, assert_problem

BIG = 900 * 1024
# "A few dozen characters": no answer or log line repeats a run of the input longer than this.
MAX_ECHO = 48


def longest_run(text: str, char: str) -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


HOSTILE_PATCHES = {
    "label-value": {"labels": {"k": "Z" * BIG}},
    "label-key": {"labels": {"Z" * BIG: "v"}},
    "annotation-key": {"annotations": {"Z" * BIG: "v"}},
    "phase": {"phase": "Z" * BIG},
    "in-place-update": {"inPlaceUpdate": "Z" * BIG},
    "condition-type": {"condition": {"type": "Z" * BIG, "status": "True"}},
    "condition-status": {"condition": {"type": "Ready", "status": "Z" * BIG}},
    "installed": {"installed": "Z" * BIG},
    "provider-key": {"labels": {"cluster.x-k8s.io/" + "Z" * 40: "v"}},
}


@pytest.mark.parametrize("body", HOSTILE_PATCHES.values(), ids=HOSTILE_PATCHES.keys())
def test_rejected_input_is_not_echoed_nor_logged(
    client: Any, registered: HostIdentity, caplog: pytest.LogCaptureFixture, body: dict[str, Any]
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.patch(registered.path, json=body, headers=registered.auth())
    detail = assert_problem(response, 400)["detail"]
    assert len(detail) <= problems.MAX_DETAIL_CHARS
    assert longest_run(response.text, "Z") <= MAX_ECHO, response.text
    formatter = logs.JsonFormatter()
    for record in caplog.records:
        line = formatter.format(record)
        assert longest_run(line, "Z") <= MAX_ECHO, line[:300]
        assert len(line) <= logs.MAX_LINE_CHARS


def test_an_unknown_query_parameter_is_not_echoed(client: Any, registered: HostIdentity) -> None:
    response = client.patch(registered.path, params={"Z" * 5000: "1"}, json={}, headers=registered.auth())
    assert_problem(response, 400)
    assert longest_run(response.text, "Z") <= MAX_ECHO


def test_a_hostile_path_name_is_not_echoed(client: Any, registered: HostIdentity) -> None:
    host = HostIdentity(registered.registration, "z" * 300)
    response = client.patch(host.path, json={}, headers=host.auth())
    assert 400 <= response.status_code < 500
    assert longest_run(response.text, "z") <= MAX_ECHO


def test_a_log_line_is_bounded_whatever_a_record_carries() -> None:
    """The formatter is the last guard: a careless `extra` or message can't make a huge line."""
    record = logging.makeLogRecord(
        {
            "msg": "M" * BIG,
            "levelname": "WARNING",
            "name": "test",
            **{f"field{i}": "F" * BIG for i in range(40)},
            "huge_int": 10**5000,
            "escapes": "\x00" * BIG,
        }
    )
    line = logs.JsonFormatter().format(record)
    assert len(line) <= logs.MAX_LINE_CHARS
    entry = json.loads(line)
    assert entry["msg"].startswith("MMMM")


def test_the_problem_builder_bounds_any_detail() -> None:
    body = json.loads(problems.body(400, "value " + "Z" * BIG + " and " + "\x1b[31m" * 10))
    assert len(body["detail"]) <= problems.MAX_DETAIL_CHARS
    assert longest_run(body["detail"], "Z") <= problems.MAX_WORD_CHARS
    assert "\x1b" not in body["detail"]
