"""pytest fixtures around tests.controlplane.ControlPlane.

Load them as a plugin, in the top-level tests/conftest.py or in a test module:
``pytest_plugins = ["tests.kube_fixtures"]``. A plugin is registered once, so every
module shares the one session control plane (importing the fixture functions into several
modules or conftests would start one control plane per importing module).
"""

from __future__ import annotations

import atexit
import functools
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client import ApiException

from tests.controlplane import REPO_ROOT, ControlPlane, find_binaries, load_yaml_documents

OPERATOR_CRD_DIR = REPO_ROOT / "operator" / "config" / "crd" / "bases"
# The Cluster API kinds the operator reads, as CRD file names of the release.
CAPI_CRDS = ("cluster.x-k8s.io_clusters.yaml", "cluster.x-k8s.io_machines.yaml")
# No conversion webhook runs without CAPI's manager: kube-apiserver only relabels apiVersion,
# so v1beta2 (the storage version) is read and written as it is.
NO_CONVERSION = {"strategy": "None"}


@functools.cache
def capi_crd_files() -> list[Path]:
    """Cluster API's own Cluster and Machine CRDs, from the release scripts/envtest builds
    (cluster-api/crd beside the binaries), with conversion None: copies in a folder that
    goes when the interpreter exits."""
    source = find_binaries() / "cluster-api" / "crd"
    missing = [name for name in CAPI_CRDS if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{source} has no {', '.join(missing)} (scripts/envtest writes them)")
    folder = Path(tempfile.mkdtemp(prefix="elemental-capi-crds-"))
    atexit.register(shutil.rmtree, folder, True)
    files = []
    for name in CAPI_CRDS:
        (crd,) = load_yaml_documents([source / name])
        crd["spec"]["conversion"] = dict(NO_CONVERSION)
        target = folder / name
        target.write_text(yaml.safe_dump(crd, sort_keys=False))
        files.append(target)
    return files


def crd_files() -> list[Path]:
    """Cluster API's Cluster and Machine CRDs plus the operator's own CRDs."""
    files = list(capi_crd_files())
    if OPERATOR_CRD_DIR.is_dir():
        files += sorted(OPERATOR_CRD_DIR.glob("*.yaml"))
    return files


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """One etcd + kube-apiserver for the whole session, with all CRDs installed."""
    with ControlPlane(crd_paths=crd_files()) as cp:
        yield cp


def namespace_name(test_name: str) -> str:
    """A valid, unique namespace name (DNS label) derived from the test's name."""
    base = re.sub(r"[^a-z0-9-]+", "-", test_name.lower()).strip("-")[:50].rstrip("-")
    return f"{base or 'test'}-{secrets.token_hex(4)}"


@pytest.fixture
def kube_namespace(control_plane: ControlPlane, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace per test; deleted afterwards without waiting for it to go away.

    No namespace controller runs, so deleted namespaces stay Terminating, with their
    objects, until the session ends: lists across all namespaces still see them.
    """
    name = namespace_name(request.node.name)
    control_plane.create_namespace(name)
    yield name
    with control_plane.api_client() as api:
        try:
            k8s.CoreV1Api(api).delete_namespace(name)
        except ApiException as exc:
            if exc.status != 404:
                raise
