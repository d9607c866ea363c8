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

from elemental_api import security_handlers, validation
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
