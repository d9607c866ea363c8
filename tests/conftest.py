"""Fixtures: a store per backend, the real connexion app over it, and an HTTP client.

Every API test runs against each store backend in STORE_BACKENDS (connexion's trick of one
app fixture per variant): the embedded SQLite file, and custom resources in a real
kube-apiserver (tests.kube_fixtures starts one per session) with the operator beside it,
since on Kubernetes the operator completes registrations and releases reset hosts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from elemental_api.app import create_app
from elemental_api.store import Store, open_store
from elemental_core.vocabulary import GROUP, VERSION
from elemental_operator.controllers.base import Settings
from tests.controlplane import ControlPlane
from tests.helpers import TEST_ENDPOINT, HostIdentity, make_registration
from tests.inprocess_operator import RunningOperator

pytest_plugins = ["tests.kube_fixtures"]
STORE_BACKENDS = ["sqlite", "kubernetes"]


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = open_store(f"sqlite:///{tmp_path / 'elemental.db'}")
    else:
        control_plane: ControlPlane = request.getfixturevalue("control_plane")
        request.getfixturevalue("operator_beside_the_api")
        wipe_elemental_objects(control_plane)
        opened = open_store("kubernetes", kubeconfig=str(control_plane.kubeconfig_path))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def operator_beside_the_api(control_plane: ControlPlane) -> Iterator[RunningOperator]:
    """The operator's registration controller, once per test module that uses the Kubernetes
    store (stopped before the operator tests start their own operators): it completes the
    registrations the tests create. The host controller would write the hosts the API tests
    examine; the tests of a whole host lifecycle start it themselves (`host_controller`)."""
    operator = RunningOperator(
        control_plane,
        Settings(api_endpoint=TEST_ENDPOINT, requeue_period=0.5),
        controllers=frozenset({"elementalregistration"}),
    ).start()
    yield operator
    operator.stop()


@pytest.fixture
def host_controller(request: pytest.FixtureRequest, store: Store) -> Iterator[None]:
    """The operator's host controller beside a Kubernetes store (nothing for SQLite, whose
    store applies the host rules itself): on Kubernetes it releases hosts that have reset."""
    if request.node.callspec.params.get("store") != "kubernetes":
        yield
        return
    control_plane: ControlPlane = request.getfixturevalue("control_plane")
    operator = RunningOperator(
        control_plane,
        Settings(api_endpoint=TEST_ENDPOINT, requeue_period=0.5),
        controllers=frozenset({"elementalhost"}),
    ).start()
    yield
    operator.stop()


def wipe_elemental_objects(control_plane: ControlPlane) -> None:
    """API tests use fixed names in `default`: start each from an empty store."""
    with control_plane.api_client() as api:
        custom, core = k8s.CustomObjectsApi(api), k8s.CoreV1Api(api)
        for namespace in [n.metadata.name for n in core.list_namespace().items]:
            hosts = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "elementalhosts")
            for host in hosts["items"]:
                if host["metadata"].get("finalizers"):
                    custom.patch_namespaced_custom_object(
                        GROUP,
                        VERSION,
                        namespace,
                        "elementalhosts",
                        host["metadata"]["name"],
                        {"metadata": {"finalizers": None}},
                    )
            for plural in ("elementalhosts", "elementalregistrations"):
                custom.delete_collection_namespaced_custom_object(GROUP, VERSION, namespace, plural)
            if namespace in ("default", "other"):
                core.delete_collection_namespaced_secret(namespace)


@pytest.fixture
def app(store: Store) -> Any:
    return create_app(store, api_endpoint="http://testserver", validate_responses=True)


@pytest.fixture
def client(app: Any) -> Iterator[Any]:
    with app.test_client() as test_client:
        yield test_client


@pytest.fixture
def registration(store: Store) -> Any:
    return make_registration(store)[0]


@pytest.fixture
def host(registration: Any) -> HostIdentity:
    return HostIdentity(registration, "host-1")
