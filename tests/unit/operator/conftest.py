"""Fixtures of the operator's decision tests: a Scene, i.e. a FakeKube with builders."""

from __future__ import annotations

import pytest

from tests.unit.operator.scene import Scene


@pytest.fixture
def scene() -> Scene:
    return Scene()
