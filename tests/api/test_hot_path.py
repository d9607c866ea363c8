"""The check-in path does per operation, once, what it need not do per request.

Each test here fails if its saving is undone (the behaviour itself is proven by the rest of
tests/api, tests/hostile and tests/contract, which run unchanged). The saving does not depend
on the store: these run on SQLite only.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import connexion.security
import pytest
from connexion.decorators import FlaskDecorator

from elemental_api import fast_validation, security_handlers, validation
from elemental_api.store import Store, open_store
from tests.helpers import HostIdentity, register

CHECK_IN = {"phase": "Running"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'elemental.db'}")
    yield opened
    opened.close()


def test_token_checks_are_not_inspected_per_request(
    client: Any, host: HostIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(client, host).status_code == 201
    inspected: list[Any] = []

    def counting(function: Any) -> Any:
        inspected.append(function)
        return real(function)

    real = connexion.security.inspect_function_arguments
    monkeypatch.setattr(connexion.security, "inspect_function_arguments", counting)
    monkeypatch.setattr(security_handlers, "inspect_function_arguments", counting)
    for _ in range(3):
        assert client.patch(host.path, json=CHECK_IN, headers=host.auth()).status_code == 200
    assert inspected == []


def test_a_registration_reads_its_registration_once(
    client: Any, store: Store, host: HostIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # createHost has two security schemes (the registration token and the host token), and
    # each needs the registration the path names.
    reads: list[tuple[str, str]] = []
    real = store.get_registration

    def counting(namespace: str, name: str) -> Any:
        reads.append((namespace, name))
        return real(namespace, name)

    monkeypatch.setattr(store, "get_registration", counting)
    assert register(client, host).status_code == 201
    assert reads == [(host.registration.namespace, host.registration.name)]
    second = HostIdentity(host.registration, "host-2")
    assert register(client, second).status_code == 201
    assert len(reads) == 2


def test_json_answers_are_compact(client: Any, host: HostIdentity) -> None:
    assert register(client, host).status_code == 201
    response = client.patch(host.path, json=CHECK_IN, headers=host.auth())
    assert response.status_code == 200
    assert response.text == json.dumps(response.json(), separators=(",", ":"), sort_keys=True) + "\n"


def test_handlers_are_decorated_once_per_operation(
    client: Any, host: HostIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(client, host).status_code == 201
    assert client.patch(host.path, json=CHECK_IN, headers=host.auth()).status_code == 200
    decorated: list[Any] = []
    real = FlaskDecorator.decorate

    def counting(self: Any, function: Any) -> Any:
        decorated.append(function)
        return real(self, function)

    monkeypatch.setattr(FlaskDecorator, "decorate", counting)
    for _ in range(3):
        response = client.patch(host.path, json=CHECK_IN, headers=host.auth())
        assert response.status_code == 200
        assert response.json()["name"] == host.name
    assert decorated == []


def test_body_validators_are_compiled_once_per_schema(
    client: Any, host: HostIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(client, host).status_code == 201
    assert client.patch(host.path, json=CHECK_IN, headers=host.auth()).status_code == 200
    compiled: list[Any] = []
    real = validation.Draft4RequestValidator

    def counting(*args: Any, **kwargs: Any) -> Any:
        compiled.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(validation, "Draft4RequestValidator", counting)
    for _ in range(3):
        assert client.patch(host.path, json=CHECK_IN, headers=host.auth()).status_code == 200
    assert client.patch(host.path, json={"phase": 7}, headers=host.auth()).status_code == 400
    assert compiled == []


def test_valid_check_ins_skip_jsonschema(
    client: Any, host: HostIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert register(client, host).status_code == 201
    assert client.patch(host.path, json=CHECK_IN, headers=host.auth()).status_code == 200
    exact: list[Any] = []
    for _, compiled in [*validation._COMPILED.values(), *validation._COMPILED_BODIES.values()]:
        monkeypatch.setattr(compiled, "exact", _Counted(compiled.exact, exact))
    assert client.patch(host.path, json=FULL_PATCH, headers=host.auth()).status_code == 200
    assert exact == []
    assert client.patch(host.path, json={"phase": 7}, headers=host.auth()).status_code == 400
    assert exact == [{"phase": 7}]  # a refused value gets jsonschema's verdict and error


class _Counted:
    def __init__(self, validator: Any, seen: list[Any]) -> None:
        self.validator, self.seen = validator, seen

    def validate(self, value: Any) -> None:
        self.seen.append(value)
        self.validator.validate(value)


FULL_PATCH = {
    "labels": {"rack": "r7"},
    "annotations": {"note": "x"},
    "installed": True,
    "reset": False,
    "inPlaceUpdate": "Pending",
    "condition": {
        "type": "BootstrapReady",
        "status": "True",
        "reason": "Done",
        "message": "ok",
        "severity": "Info",
        "lastTransitionTime": "2026-01-02T03:04:05Z",
    },
    "phase": "Running",
    "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
}
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1.5, 2**64, "", "a", "A", "a\n", "-a", "a-", "a.b", "a_b", "é",
    "a" * 63, "a" * 64, "a" * 254, "a" * 300, "2026-13-01T00:00:00Z", "2026-01-02T03:04:05Z",
    "2026-01-02", "Info", "True", "Running", "InternalIP", [], [1], ["a"], {}, {"a": "b"}, {"a": 1},
]  # fmt: skip


def _variants(value: Any) -> Iterator[Any]:
    """The value with each part (and the whole) replaced by each odd value, and with each
    member of an object dropped or a stray one added."""
    yield from ODD_VALUES
    if isinstance(value, dict):
        yield {**value, "stray": "x"}
        for key, child in value.items():
            yield {k: v for k, v in value.items() if k != key}
            for variant in _variants(child):
                yield {**value, key: variant}
    elif isinstance(value, list):
        for index, child in enumerate(value):
            for variant in _variants(child):
                yield [*value[:index], variant, *value[index + 1 :]]
        yield [*value, *value]


def test_the_compiled_check_is_never_more_lenient_than_jsonschema(client: Any, host: HostIdentity) -> None:
    assert register(client, host, labels={"a": "b"}).status_code == 201
    assert client.patch(host.path, json=FULL_PATCH, headers=host.auth()).status_code == 200
    assert client.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 404
    assert client.delete(host.path, headers=host.auth()).status_code == 202
    compiled = [c for _, c in [*validation._COMPILED.values(), *validation._COMPILED_BODIES.values()]]
    assert len(compiled) >= 5  # the path parameters and both bodies
    samples = [FULL_PATCH, host.create_body(labels={"a": "b"}, addresses=FULL_PATCH["addresses"]), "host-1"]
    checked = 0
    for check in compiled:
        assert check.fast is not None
        for sample in samples:
            for value in _variants(sample):
                if fast_validation._passes(check.fast, value):
                    check.exact.validate(value)  # raises if jsonschema would have refused it
                    checked += 1
    assert checked > 100
