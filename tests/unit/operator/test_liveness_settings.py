"""`elemental-operator run`'s liveness settings: --heartbeat-interval and --heartbeat-grace,
else ELEMENTAL_HEARTBEAT_INTERVAL and ELEMENTAL_HEARTBEAT_GRACE, else 60 and 30 seconds
(the interval's default is the API's)."""

from __future__ import annotations

import pytest

from elemental_core.hosts import DEFAULT_HEARTBEAT_INTERVAL
from elemental_operator.cli import argument_parser, manager_options
from elemental_operator.controllers.base import Settings


def settings(*argv: str) -> Settings:
    args = argument_parser().parse_args(["run", "--api-endpoint", "https://e.example", *argv])
    return manager_options(args).settings


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ELEMENTAL_HEARTBEAT_INTERVAL", "ELEMENTAL_HEARTBEAT_GRACE"):
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_judge_liveness_with_the_apis_interval() -> None:
    chosen = settings()
    assert (chosen.heartbeat_interval, chosen.heartbeat_grace) == (DEFAULT_HEARTBEAT_INTERVAL, 30.0)


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEMENTAL_HEARTBEAT_INTERVAL", "20")
    monkeypatch.setenv("ELEMENTAL_HEARTBEAT_GRACE", "5")
    assert (settings().heartbeat_interval, settings().heartbeat_grace) == (20.0, 5.0)
    chosen = settings("--heartbeat-interval", "2.5", "--heartbeat-grace", "0")
    assert (chosen.heartbeat_interval, chosen.heartbeat_grace) == (2.5, 0.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--heartbeat-interval", "0"], "--heartbeat-interval '0' must be a number of seconds above 0"),
        (["--heartbeat-interval", "-1"], "above 0"),
        (["--heartbeat-interval", "a minute"], "above 0"),
        (["--heartbeat-interval", "inf"], "above 0"),
        (["--heartbeat-grace", "-1"], "--heartbeat-grace '-1' must be a number of seconds"),
        (["--heartbeat-grace", "nan"], "--heartbeat-grace 'nan'"),
    ],
)
def test_nonsense_is_refused(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        settings(*argv)
