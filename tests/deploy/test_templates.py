"""The clusterctl files `scripts/release` writes: upstream's file names and layout, metadata,
cluster templates and ClusterClasses that hang together, every variable documented with the
default the files use, and every Elemental object accepted by our CRDs (server-side dry run)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.controlplane import ControlPlane
from tests.deploy.rendering import (
    REQUIRED,
    TEST_VERSION,
    MissingVariable,
    documented_variables,
    documents,
    envsubst,
    release,
    variables_used,
)

INFRA_GROUP = "infrastructure.cluster.x-k8s.io"
# Upstream's file names: `clusterctl generate cluster --flavor F` reads cluster-template-F.yaml.
TEMPLATES = (
    "cluster-template.yaml",  # the default flavor: k3s
    "cluster-template-k3s.yaml",
    "cluster-template-k3s-single-node.yaml",
    "cluster-template-kubeadm.yaml",
    "cluster-template-rke2.yaml",
    "cluster-template-k3s-clusterclass.yaml",
    "cluster-template-kubeadm-clusterclass.yaml",
    "cluster-template-rke2-clusterclass.yaml",
)
CLUSTERCLASSES = ("clusterclass-k3s.yaml", "clusterclass-kubeadm.yaml", "clusterclass-rke2.yaml")
SAMPLE = {
    "CLUSTER_NAME": "sample",
    "CONTROL_PLANE_ENDPOINT_HOST": "192.168.122.100",
}
OVERRIDES = {
    "KUBERNETES_VERSION": "v1.30.2",
    "CONTROL_PLANE_MACHINE_COUNT": "3",
    "WORKER_MACHINE_COUNT": "2",
    "CONTROL_PLANE_ENDPOINT_PORT": "7443",
    "POD_CIDR": '["10.42.0.0/16"]',
    "SERVICE_DOMAIN": "example.internal",
    "VIP_INTERFACE": "eth1",
}
Obj = dict[str, Any]


def render(release_dir: Path, name: str, namespace: str, **variables: str) -> list[Obj]:
    text = (release_dir / name).read_text()
    return documents(envsubst(text, {**SAMPLE, "NAMESPACE": namespace, **variables}))


# -- the files ---------------------------------------------------------------------------------


def test_release_writes_upstreams_files_and_nothing_else(release_dir: Path) -> None:
    assert release_dir.parent.name == "infrastructure-elemental"
    assert release_dir.name == TEST_VERSION
    expected = {"infrastructure-components.yaml", "metadata.yaml", *TEMPLATES, *CLUSTERCLASSES}
    assert {p.name for p in release_dir.iterdir()} == expected


def test_metadata_declares_the_contract_of_the_release_series(release_dir: Path, tmp_path: Path) -> None:
    metadata = yaml.safe_load((release_dir / "metadata.yaml").read_text())
    assert metadata["apiVersion"] == "clusterctl.cluster.x-k8s.io/v1alpha3"
    assert metadata["kind"] == "Metadata"
    # clusterctl matches a series' contract to the newest contract the CRDs are labelled for.
    crds = [
        o
        for o in documents((release_dir / "infrastructure-components.yaml").read_text())
        if o["kind"] == "CustomResourceDefinition"
    ]
    contracts = {
        key.removeprefix("cluster.x-k8s.io/")
        for crd in crds
        for key in crd["metadata"].get("labels", {})
        if key.startswith("cluster.x-k8s.io/v")
    }
    assert contracts == {"v1beta1", "v1beta2"}
    assert {"major": 0, "minor": 1, "contract": "v1beta2"} in metadata["releaseSeries"]
    # A release of a series the file does not list yet still declares it.
    later = yaml.safe_load((release(tmp_path, "v3.7.1") / "metadata.yaml").read_text())
    assert {"major": 3, "minor": 7, "contract": "v1beta2"} in later["releaseSeries"]
    assert {"major": 0, "minor": 1, "contract": "v1beta2"} in later["releaseSeries"]


def test_image_is_the_release_version_and_its_repository_can_be_chosen(
    release_dir: Path, tmp_path: Path
) -> None:
    components = (release_dir / "infrastructure-components.yaml").read_text()
    images = set(re.findall(r"image: (\S+)", components))
    assert images == {f"ghcr.io/elemental-capi/elemental-capi:{TEST_VERSION}"}
    other = release(tmp_path, "v0.1.1", "--image-repository", "registry.example:5000/elemental")
    assert set(re.findall(r"image: (\S+)", (other / "infrastructure-components.yaml").read_text())) == {
        "registry.example:5000/elemental:v0.1.1"
    }


@pytest.mark.parametrize("version", ["0.1.0", "v1.2", "latest", "v1.2.3/../x"])
def test_release_refuses_a_version_clusterctl_cannot_use(tmp_path: Path, version: str) -> None:
    with pytest.raises(AssertionError, match=r"must look like v1\.2\.3"):
        release(tmp_path, version)


def test_every_variable_is_documented_with_the_default_the_files_use(release_dir: Path) -> None:
    documented = documented_variables()
    used: dict[str, set[str | None]] = {}
    for path in sorted(release_dir.glob("*.yaml")):
        for name, defaults in variables_used(path.read_text()).items():
            used.setdefault(name, set()).update(defaults)
    undocumented = sorted(set(used) - set(documented))
    assert not undocumented, f"not in docs/TEMPLATES.md: {undocumented}"
    for name, defaults in sorted(used.items()):
        assert defaults == {documented[name]}, (
            f"{name}: the files use the defaults {defaults}, docs/TEMPLATES.md says {documented[name]!r}"
        )
    assert set(documented) <= set(used), f"documented but unused: {sorted(set(documented) - set(used))}"


def test_components_use_upstreams_variables_and_defaults(release_dir: Path) -> None:
    used = variables_used((release_dir / "infrastructure-components.yaml").read_text())
    assert used == {
        "ELEMENTAL_API_ENABLE_TLS": {"false"},
        "ELEMENTAL_API_ENDPOINT": {REQUIRED},
        "ELEMENTAL_API_PROTOCOL": {"https"},
        "ELEMENTAL_API_TLS_CA": {"/etc/elemental/ssl/ca.crt"},
        "ELEMENTAL_API_TLS_CERTIFICATE": {"/etc/elemental/ssl/tls.crt"},
        "ELEMENTAL_API_TLS_PRIVATE_KEY": {"/etc/elemental/ssl/tls.key"},
        "ELEMENTAL_ENABLE_DEBUG": {"false"},
        "ELEMENTAL_ENABLE_DEFAULT_CA": {"false"},
        "ELEMENTAL_HEARTBEAT_INTERVAL": {"60"},
        "ELEMENTAL_HEARTBEAT_GRACE": {"30"},
    }


@pytest.mark.parametrize("value", ["true", '"true"', "false", '"false"'])
def test_a_boolean_is_a_string_bare_or_quoted(release_dir: Path, value: str) -> None:
    """ELEMENTAL_API_ENABLE_TLS=true (bare) and ='"true"' (upstream's form) both give "true"."""
    text = (release_dir / "infrastructure-components.yaml").read_text()
    variables = {name: value for name in variables_used(text) if name != "ELEMENTAL_API_ENDPOINT"}
    objects = documents(envsubst(text, {**variables, "ELEMENTAL_API_ENDPOINT": "e.example"}))
    (config_map,) = [o for o in objects if o["kind"] == "ConfigMap"]
    assert set(config_map["data"].values()) == {value.strip('"'), "e.example"}


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_needs_only_what_clusterctl_and_the_user_give(release_dir: Path, name: str) -> None:
    with pytest.raises(MissingVariable, match="CONTROL_PLANE_ENDPOINT_HOST"):
        envsubst((release_dir / name).read_text(), {"CLUSTER_NAME": "c", "NAMESPACE": "n"})
    objects = render(release_dir, name, "sample-ns")
    assert all(o["metadata"]["namespace"] == "sample-ns" for o in objects)
    assert all(o["metadata"]["name"].startswith("sample") for o in objects)


# -- the objects hang together -----------------------------------------------------------------


def _refs(obj: Obj) -> list[Obj]:
    """Every object reference inside `obj`: apiVersion (or, in Cluster API v1beta2 objects,
    apiGroup), kind and name."""
    found: list[Obj] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if (
                {"apiVersion", "kind", "name"} <= value.keys() or {"apiGroup", "kind", "name"} <= value.keys()
            ) and (value is not obj):
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(obj.get("spec", {}))
    return found


def _key(obj: Obj) -> tuple[str, str, str]:
    """(group, kind, name): a v1beta2 contract reference names the group, not the version."""
    name = obj["metadata"]["name"] if "metadata" in obj else obj["name"]
    group = obj["apiGroup"] if "apiGroup" in obj else obj["apiVersion"].rsplit("/", 1)[0]
    return group, obj["kind"], name


@pytest.mark.parametrize("name", [t for t in TEMPLATES if not t.endswith("-clusterclass.yaml")])
def test_template_references_resolve_within_the_file(release_dir: Path, name: str) -> None:
    objects = render(release_dir, name, "ns")
    defined = {_key(o) for o in objects}
    for obj in objects:
        for ref in _refs(obj):
            assert _key(ref) in defined, f"{obj['kind']} {obj['metadata']['name']} refers to missing {ref}"
    kinds = {o["kind"] for o in objects}
    assert {"Cluster", "ElementalCluster", "ElementalMachineTemplate"} <= kinds


@pytest.mark.parametrize("cls", ["k3s", "kubeadm", "rke2"])
def test_clusterclass_templates_match_their_clusterclass(release_dir: Path, cls: str) -> None:
    (cluster,) = render(release_dir, f"cluster-template-{cls}-clusterclass.yaml", "ns")
    objects = documents((release_dir / f"clusterclass-{cls}.yaml").read_text())
    (clusterclass,) = [o for o in objects if o["kind"] == "ClusterClass"]
    topology = cluster["spec"]["topology"]
    assert topology["classRef"]["name"] == clusterclass["metadata"]["name"] == cls
    declared = {v["name"]: v for v in clusterclass["spec"]["variables"]}
    given = {v["name"]: v["value"] for v in topology["variables"]}
    assert set(given) <= set(declared)
    assert {n for n, v in declared.items() if v.get("required")} <= set(given)
    worker_classes = {md["class"] for md in clusterclass["spec"]["workers"]["machineDeployments"]}
    assert {md["class"] for md in topology["workers"]["machineDeployments"]} <= worker_classes
    defined = {_key(o) for o in objects}
    for ref in _refs(clusterclass):
        assert _key(ref) in defined, f"ClusterClass {cls} refers to missing {ref}"
    for patch in clusterclass["spec"].get("patches", []):
        for definition in patch["definitions"]:
            for json_patch in definition["jsonPatches"]:
                source = json_patch.get("valueFrom", {})
                if "variable" in source:
                    assert source["variable"] in declared
                for used in re.findall(r"\{\{ \.(\w+) \}\}", source.get("template", "")):
                    assert used in declared, f"{patch['name']} uses the undeclared variable {used}"


def test_variables_reach_the_objects(release_dir: Path) -> None:
    objects = render(release_dir, "cluster-template-kubeadm.yaml", "ns", **OVERRIDES)
    by_kind = {o["kind"]: o for o in objects}
    assert by_kind["ElementalCluster"]["spec"]["controlPlaneEndpoint"] == {
        "host": "192.168.122.100",
        "port": 7443,
    }
    assert by_kind["KubeadmControlPlane"]["spec"]["replicas"] == 3
    assert by_kind["KubeadmControlPlane"]["spec"]["version"] == "v1.30.2"
    assert by_kind["MachineDeployment"]["spec"]["replicas"] == 2
    assert by_kind["Cluster"]["spec"]["clusterNetwork"]["pods"]["cidrBlocks"] == ["10.42.0.0/16"]
    assert by_kind["Cluster"]["spec"]["clusterNetwork"]["serviceDomain"] == "example.internal"
    vip = by_kind["KubeadmControlPlane"]["spec"]["kubeadmConfigSpec"]["files"][0]["content"]
    assert {"name": "vip_interface", "value": "eth1"} in yaml.safe_load(vip)["spec"]["containers"][0]["env"]
    k3s = {o["kind"]: o for o in render(release_dir, "cluster-template-k3s.yaml", "ns", **OVERRIDES)}
    assert k3s["KThreesControlPlane"]["spec"]["version"] == "v1.30.2+k3s1"
    k3s2 = render(release_dir, "cluster-template-k3s.yaml", "ns", **OVERRIDES, K3S_RELEASE="k3s2")
    assert {o["kind"]: o for o in k3s2}["KThreesControlPlane"]["spec"]["version"] == "v1.30.2+k3s2"
    rke2 = {o["kind"]: o for o in render(release_dir, "cluster-template-rke2.yaml", "ns", **OVERRIDES)}
    assert rke2["RKE2ControlPlane"]["spec"]["version"] == "v1.30.2+rke2r1"


def test_default_flavor_is_k3s(release_dir: Path) -> None:
    default = (release_dir / "cluster-template.yaml").read_text()
    assert default == (release_dir / "cluster-template-k3s.yaml").read_text()


def test_cluster_api_objects_are_v1beta2_and_clusterclasses_set_no_version(release_dir: Path) -> None:
    """v1beta2 Cluster API kinds; versions come from spec.topology.version, so no ClusterClass
    patch writes one (the control-plane templates of k3s and RKE2 have no such field)."""
    for path in sorted(release_dir.glob("cluster*.yaml")):
        for obj in render(release_dir, path.name, "ns"):
            if obj["apiVersion"].startswith("cluster.x-k8s.io/"):
                assert obj["apiVersion"] == "cluster.x-k8s.io/v1beta2", (path.name, obj["kind"])
            for patch in obj["spec"].get("patches", []) if obj["kind"] == "ClusterClass" else []:
                for definition in patch["definitions"]:
                    paths = [p["path"] for p in definition["jsonPatches"]]
                    assert not [p for p in paths if p.endswith("/version")], (path.name, patch["name"])


# -- against our CRDs --------------------------------------------------------------------------


def served_kinds(control_plane: ControlPlane, api_version: str) -> set[str]:
    """The kinds the API server serves in the group/version (none if it does not know it)."""
    path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    response = httpx.get(
        f"{control_plane.server_url}{path}",
        headers={"Authorization": f"Bearer {control_plane.token}"},
        verify=str(control_plane.ca_path),
        timeout=10,
    )
    if response.status_code == 404:
        return set()
    response.raise_for_status()
    return {r["kind"] for r in response.json()["resources"] if "/" not in r["name"]}


# The topology-only templates hold a v1beta2 Cluster alone: tests/deploy/test_clusterctl.py
# dry-runs them (and everything else) with Cluster API's own CRDs and webhooks.
@pytest.mark.parametrize(
    "name", [t for t in TEMPLATES if not t.endswith("-clusterclass.yaml")] + list(CLUSTERCLASSES)
)
def test_elemental_objects_pass_a_server_side_dry_run(
    release_dir: Path, name: str, control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    """Other providers' kinds are dry-run too where the test control plane has their CRDs,
    else skipped; every Elemental object must pass."""
    for variables in ({}, OVERRIDES):
        objects = render(release_dir, name, kube_namespace, **variables)
        known = {v: served_kinds(control_plane, v) for v in {o["apiVersion"] for o in objects}}
        served = [o for o in objects if o["kind"] in known[o["apiVersion"]]]
        elemental = [o for o in objects if o["apiVersion"].startswith(f"{INFRA_GROUP}/")]
        assert elemental, f"{name} has no Elemental object"
        assert all(o in served for o in elemental), f"our CRDs do not serve {elemental}"
        assert served, f"nothing in {name} can be checked"
        path = tmp_path / name
        path.write_text(yaml.safe_dump_all(served, sort_keys=False))
        result = control_plane.kubectl("apply", "--dry-run=server", "-n", kube_namespace, "-f", str(path))
        assert result.returncode == 0, f"{name}: {result.stderr}"
        assert result.stdout.count("(server dry run)") == len(served), result.stdout
    # Nothing was stored: a dry run.
    listing = control_plane.kubectl(
        "get", "elementalclusters,elementalclustertemplates,clusters", "-n", kube_namespace
    )
    assert "No resources found" in listing.stderr + listing.stdout
