"""Item 8: the CLI validates names and label values with the API's rules, as full matches.
`re.match` with `$` let a trailing newline through: such a registration could never be
reached (no path can name it). And the CLI refuses what the stores refuse: provider-owned
keys in a registration's host labels or annotations."""

from __future__ import annotations

from pathlib import Path

import pytest

from elemental_api import cli
from elemental_api.store import open_store
from elemental_core import names

REFUSED = {
    "name-newline": ["reg\n"],
    "namespace-newline": ["reg", "-n", "default\n"],
    "label-value-newline": ["reg", "--host-label", "tier=gold\n"],
    "label-key-newline": ["reg", "--host-label", "tier\n=gold"],
    "provider-owned-label": ["reg", "--host-label", "cluster.x-k8s.io/cluster-name=prod"],
    "provider-owned-annotation": [
        "reg",
        "--host-annotation",
        "elementalhost.infrastructure.cluster.x-k8s.io/machine-name=m",
    ],
    "too-many-labels": ["reg", *(arg for i in range(65) for arg in ("--host-label", f"k{i}=v"))],
}


@pytest.mark.parametrize("argv", REFUSED.values(), ids=REFUSED.keys())
def test_registration_create_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["registration", "create", *argv, "--store", url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("elemental-api: ") and err.count("\n") == 1, err
    store = open_store(url)
    try:
        assert store.list_registrations() == []
    finally:
        store.close()


@pytest.mark.parametrize("value", ["a\n", "a\r", "-a", "a-", "", "a" * 254, "A"])
def test_name_rules_are_full_matches(value: str) -> None:
    assert names.name_problem(value) is not None
    assert names.name_problem(value, dns_label=True) is not None


@pytest.mark.parametrize("value", ["v\n", "v ", " v", "-v", "v" * 64, "v\x00"])
def test_label_value_rules_are_full_matches(value: str) -> None:
    assert names.label_value_problem(value) is not None
