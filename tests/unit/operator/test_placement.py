"""The order in which a machine tries the free hosts: its own, stable, and spread."""

from __future__ import annotations

import os
import subprocess
import sys

from elemental_operator.placement import preference_order

HOSTS = [f"host-{i:03}" for i in range(100)]


def test_every_free_host_is_tried_once() -> None:
    order = preference_order("em-7", HOSTS)
    assert sorted(order) == HOSTS


def test_the_order_is_a_rotation_of_the_given_one() -> None:
    order = preference_order("em-7", HOSTS)
    start = HOSTS.index(order[0])
    assert order == HOSTS[start:] + HOSTS[:start]


def test_no_free_host_is_no_candidate() -> None:
    assert preference_order("em-7", []) == []


def test_machines_reconciled_together_start_on_different_hosts() -> None:
    # Without a per-machine start all 100 would reach for host-000 first.
    first_choices = {preference_order(f"em-{i}", HOSTS)[0] for i in range(100)}
    assert len(first_choices) >= 50


def test_the_order_is_the_same_in_every_process() -> None:
    # A retry (or a second operator) must try the same hosts: no per-process hash seed.
    script = (
        "from elemental_operator.placement import preference_order as p; print(p('em-7', list('abcdefghij')))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1
