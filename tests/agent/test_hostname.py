"""The name a host registers under."""

from __future__ import annotations

import uuid

from elemental_agent.config import HostnameConfig
from elemental_agent.hostname import choose_hostname, is_random


def test_use_existing_takes_the_machine_hostname_with_the_prefix() -> None:
    assert choose_hostname(HostnameConfig(use_existing=True), lambda: "node-7") == "node-7"
    assert (
        choose_hostname(HostnameConfig(use_existing=True, prefix="edge-"), lambda: "node-7") == "edge-node-7"
    )
    assert not is_random(HostnameConfig(use_existing=True))


def test_otherwise_a_random_uuid_with_the_prefix() -> None:
    def current() -> str:
        raise AssertionError("the machine's hostname is not asked for")

    first = choose_hostname(HostnameConfig(prefix="m-"), current)
    second = choose_hostname(HostnameConfig(prefix="m-"), current)
    assert first.startswith("m-") and second.startswith("m-")
    assert first != second
    assert str(uuid.UUID(first.removeprefix("m-"))) == first.removeprefix("m-")
    assert uuid.UUID(choose_hostname(HostnameConfig(), current))
    assert is_random(HostnameConfig())
