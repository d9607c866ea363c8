"""The Kubernetes client's settings, on the operator's command line (the API's are in
tests/test_cli.py): --kube-qps, --kube-burst, --kube-connections, else ELEMENTAL_KUBE_QPS,
_BURST, _CONNECTIONS, else no client-side limit and 32 connections; --workers, else
ELEMENTAL_OPERATOR_WORKERS, else 2. Then the rate limiter itself and how a client uses it."""

from __future__ import annotations

from pathlib import Path

import pytest
import urllib3

from elemental_kube import client as kube_client
from elemental_kube.client import RateLimiter, api_client
from elemental_kube.settings import ClientSettings, client_settings
from elemental_operator.cli import argument_parser, manager_options

VARIABLES = (
    "ELEMENTAL_KUBE_QPS",
    "ELEMENTAL_KUBE_BURST",
    "ELEMENTAL_KUBE_CONNECTIONS",
    "ELEMENTAL_OPERATOR_WORKERS",
)


def parsed(*argv: str) -> ClientSettings:
    return client_settings(
        argument_parser().parse_args(["run", "--api-endpoint", "https://e.example", *argv])
    )


def workers(*argv: str) -> int:
    args = argument_parser().parse_args(["run", "--api-endpoint", "https://e.example", *argv])
    return manager_options(args).workers


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_set_no_client_side_limit_and_32_connections() -> None:
    assert parsed() == ClientSettings(qps=0.0, burst=0, connections=32)
    assert workers() == 2


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ELEMENTAL_KUBE_QPS", "50")
    monkeypatch.setenv("ELEMENTAL_KUBE_BURST", "100")
    monkeypatch.setenv("ELEMENTAL_KUBE_CONNECTIONS", "8")
    monkeypatch.setenv("ELEMENTAL_OPERATOR_WORKERS", "6")
    assert parsed() == ClientSettings(qps=50.0, burst=100, connections=8)
    assert workers() == 6
    chosen = parsed("--kube-qps", "2.5", "--kube-burst", "5", "--kube-connections", "64")
    assert chosen == ClientSettings(qps=2.5, burst=5, connections=64)
    assert workers("--workers", "4") == 4


@pytest.mark.parametrize(
    ("argv", "environment", "message"),
    [
        (["--kube-qps", "fast"], {}, "--kube-qps 'fast' must be a number"),
        (["--kube-qps", "-1"], {}, "QPS -1 must be 0 (no limit) or more"),
        (["--kube-qps", "inf"], {}, "QPS inf must be 0"),
        (["--kube-qps", "nan"], {}, "QPS nan must be 0"),
        (["--kube-burst", "-2"], {}, "burst -2 must be 0"),
        (["--kube-connections", "0"], {}, "connections 0 must be at least 1"),
        ([], {"ELEMENTAL_KUBE_BURST": "1.5"}, "ELEMENTAL_KUBE_BURST '1.5' must be a number"),
    ],
)
def test_settings_that_make_no_sense_are_refused(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], environment: dict[str, str], message: str
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parsed(*argv)


@pytest.mark.parametrize("value", ["0", "two", "-3"])
def test_workers_below_one_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match="--workers"):
        workers("--workers", value)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_limiter_lets_a_burst_through_then_spaces_requests_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(qps=10, burst=3, clock=lambda: clock.now, sleep=clock.sleep)
    for _ in range(3):
        limiter.wait()
    assert clock.slept == []
    limiter.wait()
    limiter.wait()
    assert clock.slept == [0.1, 0.1]
    clock.now += 10  # idle: the bucket fills up again, to the burst and no further
    for _ in range(3):
        limiter.wait()
    limiter.wait()
    assert clock.slept == [0.1, 0.1, 0.1]


def test_waiters_that_arrive_together_each_reserve_their_own_turn() -> None:
    clock = Clock()
    delays: list[float] = []
    limiter = RateLimiter(qps=4, burst=1, clock=lambda: clock.now, sleep=delays.append)
    for _ in range(4):  # the clock does not move: all four ask at once
        limiter.wait()
    assert delays == [0.25, 0.5, 0.75]


def test_the_burst_defaults_to_one_seconds_worth() -> None:
    clock = Clock()
    limiter = RateLimiter(qps=5, burst=0, clock=lambda: clock.now, sleep=clock.sleep)
    for _ in range(5):
        limiter.wait()
    assert clock.slept == []
    limiter.wait()
    assert clock.slept == [0.2]


def _kubeconfig(tmp_path: Path) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""
    )
    return str(path)


def test_a_client_keeps_the_connections_it_is_given(tmp_path: Path) -> None:
    api = api_client(_kubeconfig(tmp_path), field_manager="test", settings=ClientSettings(connections=7))
    assert api.rest_client.pool_manager.connection_pool_kw["maxsize"] == 7
    default = api_client(_kubeconfig(tmp_path), field_manager="test")
    assert default.rest_client.pool_manager.connection_pool_kw["maxsize"] == 32


def test_every_request_of_a_limited_client_takes_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[RateLimiter] = []

    def take(limiter: RateLimiter) -> None:
        taken.append(limiter)

    monkeypatch.setattr(kube_client.RateLimiter, "wait", take)
    limited = api_client(_kubeconfig(tmp_path), field_manager="test", settings=ClientSettings(qps=5))
    unlimited = api_client(_kubeconfig(tmp_path), field_manager="test")
    for api in (limited, unlimited):
        with pytest.raises(urllib3.exceptions.HTTPError):  # nothing listens there
            api.rest_client.request("GET", "http://127.0.0.1:9/version", _request_timeout=1)
    assert len(taken) == 1
