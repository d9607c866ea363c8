"""tests.controlplane.apply_crd against a real kube-apiserver: it creates and updates a CRD
however often other writers change it meanwhile (as the API server's own CRD controllers do
right after a create), and it removes what the manifest no longer has."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from tests.controlplane import ControlPlane, apply_crd

NAME = "widgets.harness.example"
ROUNDS = 20
# Enough concurrent writers that a read-then-replace would lose every one of its retries.
WRITERS = 4


def crd(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {
            "group": "harness.example",
            "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


@pytest.fixture(scope="module")
def cp() -> Iterator[ControlPlane]:
    with ControlPlane() as control_plane:
        yield control_plane


@pytest.fixture
def ext(cp: ControlPlane) -> Iterator[k8s.ApiextensionsV1Api]:
    with cp.api_client() as api:
        extensions = k8s.ApiextensionsV1Api(api)
        yield extensions
        extensions.delete_custom_resource_definition(NAME)
        # Deleting a CRD only starts it (its instances are cleaned up first): the next test's
        # apply must not meet this one still terminating, and then vanishing under it.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                extensions.read_custom_resource_definition(NAME)
            except k8s.ApiException as error:
                if error.status == 404:
                    return
                raise
            time.sleep(0.1)
        raise AssertionError(f"{NAME} still there 60 s after its deletion")


class Writer(threading.Thread):
    """Another writer that changes its annotation on the CRD as fast as it can until stopped."""

    def __init__(self, cp: ControlPlane, index: int) -> None:
        super().__init__(daemon=True)
        self.cp = cp
        self.key = f"writer-{index}"
        self.stopping = threading.Event()
        self.writes = 0

    def run(self) -> None:
        with self.cp.api_client() as api:
            extensions = k8s.ApiextensionsV1Api(api)
            while not self.stopping.is_set():
                patch = {"metadata": {"annotations": {self.key: str(self.writes)}}}
                extensions.patch_custom_resource_definition(NAME, patch)
                self.writes += 1


def labels_of(ext: k8s.ApiextensionsV1Api) -> dict[str, str]:
    return dict(ext.read_custom_resource_definition(NAME).metadata.labels or {})


def test_applies_succeed_while_another_writer_keeps_changing_the_crd(
    cp: ControlPlane, ext: k8s.ApiextensionsV1Api
) -> None:
    assert apply_crd(ext, crd({"round": "0"})) == NAME
    writers = [Writer(cp, index) for index in range(WRITERS)]
    for writer in writers:
        writer.start()
    try:
        for round_ in range(1, ROUNDS + 1):
            apply_crd(ext, crd({"round": str(round_)}))
    finally:
        for writer in writers:
            writer.stopping.set()
            writer.join(30)

    current = ext.read_custom_resource_definition(NAME)
    assert current.metadata.labels["round"] == str(ROUNDS)
    # The other writers' fields are their own: an apply leaves them alone.
    for writer in writers:
        assert writer.writes > 0
        assert current.metadata.annotations[writer.key] == str(writer.writes - 1)


def test_an_apply_removes_what_the_manifest_dropped(ext: k8s.ApiextensionsV1Api) -> None:
    apply_crd(ext, crd({"kept": "yes", "dropped": "yes"}))

    apply_crd(ext, crd({"kept": "yes"}))

    assert labels_of(ext) == {"kept": "yes"}
