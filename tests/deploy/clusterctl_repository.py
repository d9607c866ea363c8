"""clusterctl as users run it, against a test control plane, from local repositories.

clusterctl downloads providers from GitHub; this machine reaches none. What it would download
is laid out as clusterctl's local repositories (``{root}/{provider-label}/{version}/``, named
by ``file://`` URLs in a clusterctl.yaml ``providers:`` list, which also overrides its built-in
providers of the same name and type):

- ``cluster-api`` (core): the namespace and the CRDs of the Cluster API release that
  scripts/envtest put beside the binaries, with that release's metadata.yaml. No Deployment:
  ``clusterctl init`` installs files, it does not wait for controllers.
- ``kubeadm`` bootstrap and control plane: kubeadm's real CRDs from the same Cluster API Go
  module scripts/envtest builds from, with the contract label its release sets.
- ``k3s`` bootstrap and control plane (k3s-io/cluster-api-k3s, which clusterctl does not know)
  and ``rke2`` (rancher/cluster-api-provider-rke2, built into clusterctl): stand-ins under the
  name, type, version and contract of those projects' releases, so that ``clusterctl init
  --bootstrap k3s --control-plane k3s`` runs as the README writes it. They hold their namespace
  and CRDs of their kinds (group, versions, names and contract label as theirs) whose schema
  keeps any field: clusterctl looks a ClusterClass's template kinds up before it prints a
  cluster, but these CRDs check no field of those kinds.
- ``elemental``: this project's releases, written by scripts/release.

- ``cert-manager`` (clusterctl.yaml's ``cert-manager.url``): the test cert-manager CRDs
  (tests/deploy/crds/cert-manager.yaml), which ``clusterctl init`` installs first; its check
  that cert-manager works (it creates a test Issuer and Certificate) then passes.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane import ControlPlane
from tests.deploy.rendering import release

CORE_LABEL = "cluster-api"
CERT_MANAGER_VERSION = "v1.21.1"  # clusterctl v1.14's default
CERT_MANAGER_CRDS = Path(__file__).resolve().parent / "crds" / "cert-manager.yaml"
K3S_VERSION = "v0.3.1"  # k3s-io/cluster-api-k3s's release series 0.3, contract v1beta1
RKE2_VERSION = "v0.25.0"  # rancher/cluster-api-provider-rke2's series 0.25, contract v1beta2
STAND_IN_SERIES = {"k3s": (0, 3, "v1beta1"), "rke2": (0, 25, "v1beta2")}
# The namespaces of those projects' releases.
STAND_IN_NAMESPACES = {
    "bootstrap-k3s": "capi-k3s-bootstrap-system",
    "control-plane-k3s": "capi-k3s-control-plane-system",
    "bootstrap-rke2": "rke2-bootstrap-system",
    "control-plane-rke2": "rke2-control-plane-system",
}
# Stand-in kinds: provider label -> (group, kinds, contract label of their CRDs).
STAND_IN_KINDS = {
    "bootstrap-k3s": ("bootstrap", ("KThreesConfig", "KThreesConfigTemplate"), ("v1beta1", "v1beta2")),
    "control-plane-k3s": (
        "controlplane",
        ("KThreesControlPlane", "KThreesControlPlaneTemplate"),
        ("v1beta1", "v1beta2"),
    ),
    "bootstrap-rke2": ("bootstrap", ("RKE2Config", "RKE2ConfigTemplate"), ("v1beta2", "v1beta2")),
    "control-plane-rke2": (
        "controlplane",
        ("RKE2ControlPlane", "RKE2ControlPlaneTemplate"),
        ("v1beta2", "v1beta2"),
    ),
}
CONTRACT_LABEL = "cluster.x-k8s.io/v1beta2"  # kubeadm's CRDs: "v1beta2" (what its release sets)
Obj = dict[str, Any]


def capi_version(control_plane: ControlPlane) -> str:
    return (control_plane.binaries / "cluster-api" / "VERSION").read_text().strip()


def capi_module(version: str) -> Path:
    """The Cluster API Go module scripts/envtest builds from (from Go's module cache)."""
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/cluster-api@{version}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, f"go mod download failed:\n{result.stdout}{result.stderr}"
    return Path(json.loads(result.stdout)["Dir"])


def _manifest(objects: Sequence[Obj]) -> str:
    return "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in objects)


def _namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def _crds(paths: Sequence[Path], contract: str | None = None) -> list[Obj]:
    crds = []
    for path in paths:
        crd = yaml.safe_load(path.read_text())
        if contract:
            crd["metadata"].setdefault("labels", {})[CONTRACT_LABEL] = contract
        crds.append(crd)
    return crds


def _stand_in_crd(group: str, kind: str, contract: tuple[str, str]) -> Obj:
    """A CRD of `kind` served at v1beta1 and v1beta2 (stored), any field kept."""
    plural = kind.lower() + "s"
    schema = {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{group}.cluster.x-k8s.io",
            "labels": {f"cluster.x-k8s.io/{contract[0]}": contract[1]},
        },
        "spec": {
            "group": f"{group}.cluster.x-k8s.io",
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower()},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": v,
                    "served": True,
                    "storage": v == "v1beta2",
                    "schema": schema,
                    "subresources": {"status": {}},
                }
                for v in ("v1beta1", "v1beta2")
            ],
        },
    }


def _metadata(series: Sequence[tuple[int, int, str]]) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "clusterctl.cluster.x-k8s.io/v1alpha3",
            "kind": "Metadata",
            "releaseSeries": [{"major": a, "minor": b, "contract": c} for a, b, c in series],
        },
        sort_keys=False,
    )


@dataclass(frozen=True)
class Provider:
    name: str
    type: str
    label: str
    version: str
    file: str

    def url(self, root: Path) -> str:
        return f"file://{root / self.label / self.version / self.file}"


def write_repositories(
    root: Path, control_plane: ControlPlane, elemental_versions: Sequence[str]
) -> list[Provider]:
    """Every local repository under `root`; the providers for clusterctl.yaml."""
    version = capi_version(control_plane)
    capi = control_plane.binaries / "cluster-api"
    module = capi_module(version)
    capi_metadata = (capi / "metadata.yaml").read_text()
    providers = [
        Provider("cluster-api", "CoreProvider", CORE_LABEL, version, "core-components.yaml"),
        Provider("kubeadm", "BootstrapProvider", "bootstrap-kubeadm", version, "bootstrap-components.yaml"),
        Provider(
            "kubeadm",
            "ControlPlaneProvider",
            "control-plane-kubeadm",
            version,
            "control-plane-components.yaml",
        ),
        Provider("k3s", "BootstrapProvider", "bootstrap-k3s", K3S_VERSION, "bootstrap-components.yaml"),
        Provider(
            "k3s", "ControlPlaneProvider", "control-plane-k3s", K3S_VERSION, "control-plane-components.yaml"
        ),
        Provider("rke2", "BootstrapProvider", "bootstrap-rke2", RKE2_VERSION, "bootstrap-components.yaml"),
        Provider(
            "rke2",
            "ControlPlaneProvider",
            "control-plane-rke2",
            RKE2_VERSION,
            "control-plane-components.yaml",
        ),
    ]
    contents = {
        CORE_LABEL: [_namespace("capi-system"), *_crds(sorted((capi / "crd").glob("*.yaml")))],
        "bootstrap-kubeadm": [
            _namespace("capi-kubeadm-bootstrap-system"),
            *_crds(sorted((module / "bootstrap/kubeadm/config/crd/bases").glob("*.yaml")), "v1beta2"),
        ],
        "control-plane-kubeadm": [
            _namespace("capi-kubeadm-control-plane-system"),
            *_crds(sorted((module / "controlplane/kubeadm/config/crd/bases").glob("*.yaml")), "v1beta2"),
        ],
    }
    for label, (group, kinds, contract) in STAND_IN_KINDS.items():
        contents[label] = [
            _namespace(STAND_IN_NAMESPACES[label]),
            *(_stand_in_crd(group, kind, contract) for kind in kinds),
        ]
    for provider in providers:
        folder = root / provider.label / provider.version
        folder.mkdir(parents=True)
        (folder / provider.file).write_text(_manifest(contents[provider.label]))
        stand_in = STAND_IN_SERIES.get(provider.name)
        (folder / "metadata.yaml").write_text(_metadata([stand_in]) if stand_in else capi_metadata)
    cert_manager = root / "cert-manager" / CERT_MANAGER_VERSION
    cert_manager.mkdir(parents=True)
    (cert_manager / "cert-manager.yaml").write_text(CERT_MANAGER_CRDS.read_text())
    for elemental in elemental_versions:
        release(root, elemental)
    providers.append(
        Provider(
            "elemental",
            "InfrastructureProvider",
            "infrastructure-elemental",
            elemental_versions[0],
            "infrastructure-components.yaml",
        )
    )
    return providers


class Clusterctl:
    """The real clusterctl with its own home, config file and kubeconfig; no version check."""

    def __init__(self, control_plane: ControlPlane, workdir: Path, elemental_versions: Sequence[str]) -> None:
        self.binary = control_plane.binaries / "clusterctl"
        assert self.binary.exists(), f"{self.binary}: scripts/envtest builds it"
        self.kubeconfig = control_plane.kubeconfig_path
        self.home = workdir / "home"
        self.home.mkdir(parents=True)
        self.root = workdir / "repositories"
        providers = write_repositories(self.root, control_plane, elemental_versions)
        self.config = workdir / "clusterctl.yaml"
        entries = [{"name": p.name, "type": p.type, "url": p.url(self.root)} for p in providers]
        cert_manager = {
            "url": f"file://{self.root}/cert-manager/{CERT_MANAGER_VERSION}/cert-manager.yaml",
            "version": CERT_MANAGER_VERSION,
        }
        config = {"providers": entries, "cert-manager": cert_manager}
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))

    def run(
        self, command: str | Sequence[str], env: Mapping[str, str] = {}
    ) -> subprocess.CompletedProcess[str]:
        """`command` as a user types it (`clusterctl init ...`), with this config and cluster."""
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        assert argv[0] == "clusterctl", argv
        # Only what the command is given: no clusterctl variable from the caller's environment.
        base = {"PATH": os.environ.get("PATH", ""), "KUBECONFIG": str(self.kubeconfig)}
        return subprocess.run(
            [str(self.binary), *argv[1:], "--config", str(self.config)],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env={**base, "HOME": str(self.home), "CLUSTERCTL_DISABLE_VERSIONCHECK": "true", **env},
        )

    def ok(self, command: str | Sequence[str], env: Mapping[str, str] = {}) -> str:
        result = self.run(command, env)
        assert result.returncode == 0, f"{command} failed:\n{result.stderr[-4000:]}"
        return result.stdout
