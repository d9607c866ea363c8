"""Item 7: every value that becomes a label obeys the label rules, in the spec itself (so
generated clients know); `phase` is printable text of bounded length (the Go agent's phases
are upstream's names, all of them printable ASCII); the CLI never prints control characters
raw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from elemental_api import cli
from elemental_core.vocabulary import LABEL_IN_PLACE_UPDATE, PHASES
from elemental_models.api import ApiHostPatchRequest
from tests.helpers import HostIdentity, assert_problem
from tests.hostile.conftest import Unchanged

ROOT = Path(__file__).resolve().parents[2]
BAD_IN_PLACE_UPDATES = {
    "not-a-label-value": "not a label value!",
    "empty": "",
    "nul": "a\x00b",
    "newline": "done\n",
}
BAD_PHASES = {
    "terminal-escape": "\x1b[2J\x1b[31mRunning",
    "nul": "Run\x00ning",
    "newline": "Running\n",
    "tab": "a\tb",
}


@pytest.mark.parametrize("value", BAD_IN_PLACE_UPDATES.values(), ids=BAD_IN_PLACE_UPDATES.keys())
def test_in_place_update_must_be_a_label_value(
    client: Any, registered: HostIdentity, unchanged: Unchanged, value: str
) -> None:
    response = client.patch(registered.path, json={"inPlaceUpdate": value}, headers=registered.auth())
    assert_problem(response, 400, "inPlaceUpdate")


@pytest.mark.parametrize("value", BAD_PHASES.values(), ids=BAD_PHASES.keys())
def test_phase_must_be_printable(
    client: Any, registered: HostIdentity, unchanged: Unchanged, value: str
) -> None:
    response = client.patch(registered.path, json={"phase": value}, headers=registered.auth())
    assert_problem(response, 400, "phase")


def test_every_documented_phase_and_in_place_update_is_accepted(
    client: Any, registered: HostIdentity, store: Any
) -> None:
    for phase in PHASES:
        response = client.patch(registered.path, json={"phase": phase}, headers=registered.auth())
        assert response.status_code == 200, (phase, response.text)
    for value in ("pending", "done"):
        response = client.patch(registered.path, json={"inPlaceUpdate": value}, headers=registered.auth())
        assert response.status_code == 200, response.text
    stored = store.get_host("default", registered.name)
    assert stored.labels[LABEL_IN_PLACE_UPDATE] == "done" and stored.phase == PHASES[-1]


def test_the_rules_are_in_the_spec_and_the_generated_models() -> None:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    patch = spec["components"]["schemas"]["ApiHostPatchRequest"]["properties"]
    assert "pattern" in patch["inPlaceUpdate"] and "pattern" in patch["phase"]
    for field, value in (("inPlaceUpdate", "not a label value!"), ("phase", "\x1b[31m")):
        with pytest.raises(ValidationError):
            ApiHostPatchRequest.model_validate({field: value})


def test_host_list_escapes_control_characters(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A phase stored before the rule (or written by anyone with access to the store)."""
    from elemental_api.store import open_store
    from elemental_core.records import Host

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = open_store(url)
    try:
        host = store.create_host(Host(namespace="default", name="h", registration="reg"))
        host.phase = "\x1b[2J\x1b]0;owned\x07Running\r\n"
        store.update_host(host)
    finally:
        store.close()
    for argv in (["host", "list"], ["host", "show", "h"]):
        assert cli.main([*argv, "--store", url]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\r" not in out
        assert "Running" in out
