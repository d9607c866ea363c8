"""tests.controlplane.apply_crd retries a replace that lost a race (409 Conflict)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client import ApiException

from tests.controlplane import CRD_APPLY_ATTEMPTS, apply_crd

CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "x"}}


class FakeExtensions:
    """Create answers 409 AlreadyExists; the first `conflicts` replaces answer 409 Conflict."""

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.reads = 0
        self.replaced: list[dict[str, Any]] = []

    def create_custom_resource_definition(self, body: Any) -> None:
        raise ApiException(status=409, reason="AlreadyExists")

    def read_custom_resource_definition(self, name: str) -> Any:
        self.reads += 1
        return SimpleNamespace(metadata=SimpleNamespace(resource_version=str(self.reads)))

    def replace_custom_resource_definition(self, name: str, body: Any) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise ApiException(status=409, reason="Conflict")
        self.replaced.append(body)


def test_a_conflicting_replace_is_retried_on_a_fresh_read() -> None:
    ext = FakeExtensions(conflicts=2)

    assert apply_crd(ext, CRD) == "x"  # type: ignore[arg-type]

    assert ext.reads == 3
    assert [body["metadata"]["resourceVersion"] for body in ext.replaced] == ["3"]


def test_conflicts_are_retried_a_bounded_number_of_times() -> None:
    ext = FakeExtensions(conflicts=CRD_APPLY_ATTEMPTS)

    with pytest.raises(ApiException) as raised:
        apply_crd(ext, CRD)  # type: ignore[arg-type]

    assert raised.value.status == 409
    assert ext.reads == CRD_APPLY_ATTEMPTS
