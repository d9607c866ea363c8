"""The release files with the real clusterctl (the version scripts/envtest builds), run as the
README's production walk-through runs it, against test control planes, from local repositories
(tests/deploy/clusterctl_repository.py says what stands in for what this machine cannot
download): `generate provider`, `init` (the endpoint required, booleans in either form),
`generate cluster` for every flavor (v1beta2 Cluster API objects, the documented defaults,
server-side dry run through Cluster API's own webhooks), a ClusterClass reconciled by Cluster
API's topology controller, `upgrade plan` and `upgrade apply` (v0.1.0 -> v0.2.0) and `delete`
(nothing of the provider left)."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.capi.manager import ClusterAPIManager, KubeControllerManager
from tests.controlplane import REPO_ROOT, ControlPlane
from tests.deploy.clusterctl_repository import Clusterctl
from tests.deploy.rendering import REQUIRED, documented_variables, documents, variables_used
from tests.helpers import wait_for

README = REPO_ROOT / "README.md"
ENDPOINT = "elemental.example.com"
# The README's production walk-through, command for command (test_the_readme_uses_these_commands).
INIT = "clusterctl init --bootstrap k3s --control-plane k3s --infrastructure elemental"
GENERATE = (
    "clusterctl generate cluster my-cluster --infrastructure elemental --flavor k3s"
    " --kubernetes-version v1.31.4 --worker-machine-count 1"
)
UPGRADE_PLAN = "clusterctl upgrade plan"
UPGRADE_APPLY = "clusterctl upgrade apply --infrastructure elemental-system/elemental:v0.2.0"
DELETE = "clusterctl delete --infrastructure elemental --include-namespace --include-crd"
README_COMMANDS = {INIT, GENERATE, UPGRADE_PLAN, UPGRADE_APPLY, DELETE}
# The README's install variables: the booleans bare, as a user types them.
README_INIT_ENV = {
    "ELEMENTAL_API_ENDPOINT": ENDPOINT,
    "ELEMENTAL_API_ENABLE_TLS": "true",
    "ELEMENTAL_ENABLE_DEFAULT_CA": "true",
}
# docs/TEMPLATES.md: the kubeadm flavors' providers.
INIT_KUBEADM = "clusterctl init --bootstrap kubeadm --control-plane kubeadm --infrastructure elemental"
PROVIDER_LABEL = "cluster.x-k8s.io/provider=infrastructure-elemental"
CLUSTER_SCOPED = ",".join(
    (
        "clusterroles",
        "clusterrolebindings",
        "customresourcedefinitions",
        "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations",
    )
)
FLAVORS = (
    "",  # cluster-template.yaml
    "k3s",
    "k3s-single-node",
    "kubeadm",
    "rke2",
    "k3s-clusterclass",
    "kubeadm-clusterclass",
    "rke2-clusterclass",
)
VERSIONS = {"k3s": "v1.31.4+k3s1", "rke2": "v1.31.4+rke2r1", "kubeadm": "v1.31.4", "": "v1.31.4+k3s1"}
ENDPOINT_HOST = "192.168.122.50"
Obj = dict[str, Any]


def kubectl_json(control_plane: ControlPlane, *args: str) -> Obj:
    result = control_plane.kubectl(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    loaded: Obj = json.loads(result.stdout)
    return loaded


def names(control_plane: ControlPlane, resources: str, *args: str) -> set[str]:
    result = control_plane.kubectl("get", resources, *args, "-o", "name")
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def no_check_namespace(control_plane: ControlPlane) -> None:
    """Wait until the namespace of clusterctl's cert-manager check is gone: the next init's
    check fails in a namespace still terminating (and clusterctl then installs cert-manager)."""
    wait_for(
        lambda: "namespace/cert-manager-test" not in names(control_plane, "namespaces"),
        60,
        "the cert-manager check's namespace to go",
    )


def providers(control_plane: ControlPlane) -> dict[str, str]:
    """clusterctl's inventory: provider label -> version."""
    listed = kubectl_json(control_plane, "get", "providers.clusterctl.cluster.x-k8s.io", "-A")
    return {p["metadata"]["name"]: p["version"] for p in listed["items"]}


# -- the README --------------------------------------------------------------------------------


def production_section() -> str:
    text = README.read_text()
    start = text.index("## Production")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_the_readme_uses_these_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", production_section(), re.S)
    commands = set()
    for line in (line.strip() for block in blocks for line in block.splitlines()):
        if line.startswith("clusterctl "):
            command = line.split(" #", 1)[0].split(" |", 1)[0].strip()
            commands.add(" ".join(shlex.split(command)))
    assert commands == README_COMMANDS
    exports = dict(re.findall(r"^ *export (\w+)=(\S+)", production_section(), re.M))
    assert {k: exports.get(k) for k in README_INIT_ENV} == README_INIT_ENV


# -- installing, upgrading, deleting -----------------------------------------------------------


@pytest.fixture(scope="module")
def lifecycle_plane() -> Iterator[ControlPlane]:
    """A management cluster whose namespaces really go away (`clusterctl delete`)."""
    with (
        ControlPlane() as control_plane,
        KubeControllerManager(control_plane, controllers=("namespace-controller",)),
    ):
        yield control_plane


@pytest.fixture(scope="module")
def lifecycle(lifecycle_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Clusterctl:
    return Clusterctl(lifecycle_plane, tmp_path_factory.mktemp("clusterctl"), ("v0.1.0", "v0.2.0"))


def test_generate_provider_lists_the_variables_and_requires_the_endpoint(lifecycle: Clusterctl) -> None:
    described = lifecycle.ok("clusterctl generate provider --infrastructure elemental --describe")
    listed = re.search(r"Variables:\n((?:  - \w+\n)+)", described)
    assert listed, described
    documented = documented_variables()
    init_variables = {n for n in documented if n.startswith("ELEMENTAL_")}
    assert set(re.findall(r"- (\w+)", listed[1])) == init_variables
    refused = lifecycle.run("clusterctl generate provider --infrastructure elemental")
    assert refused.returncode != 0
    assert "value for variables [ELEMENTAL_API_ENDPOINT] is not set" in refused.stderr
    assert documented["ELEMENTAL_API_ENDPOINT"] is REQUIRED
    rendered = documents(
        lifecycle.ok(
            "clusterctl generate provider --infrastructure elemental", {"ELEMENTAL_API_ENDPOINT": ENDPOINT}
        )
    )
    (config_map,) = [o for o in rendered if o["kind"] == "ConfigMap"]
    # Every value a string: the documented default, or the endpoint.
    assert config_map["data"] == {
        name: ENDPOINT if documented[name] is REQUIRED else documented[name] for name in init_variables
    }


def test_init_without_the_endpoint_installs_nothing(
    lifecycle: Clusterctl, lifecycle_plane: ControlPlane
) -> None:
    namespaces = names(lifecycle_plane, "namespaces")
    refused = lifecycle.run(INIT)
    assert refused.returncode != 0
    assert "value for variables [ELEMENTAL_API_ENDPOINT] is not set" in refused.stderr
    assert names(lifecycle_plane, "namespaces") == namespaces
    assert names(lifecycle_plane, CLUSTER_SCOPED, "-l", "cluster.x-k8s.io/provider") == set()


def quoted(value: str) -> str:
    """How upstream's documentation passes values: with YAML quotes inside the variable."""
    return f'"{value}"'


@pytest.mark.parametrize("form", ["bare", "quoted"])
def test_install_upgrade_and_delete(lifecycle: Clusterctl, lifecycle_plane: ControlPlane, form: str) -> None:
    cp = lifecycle_plane
    env = {
        k: quoted(v) if form == "quoted" else v
        for k, v in {**README_INIT_ENV, "ELEMENTAL_ENABLE_DEBUG": "true"}.items()
    }
    no_check_namespace(cp)
    lifecycle.ok(INIT, env)
    # clusterctl installed cert-manager first (the local stand-in), as it does for users.
    assert "customresourcedefinition.apiextensions.k8s.io/certificates.cert-manager.io" in names(
        cp, "customresourcedefinitions", "-l", "clusterctl.cluster.x-k8s.io/core=cert-manager"
    )
    assert providers(cp) == {
        "cluster-api": "v1.14.2",
        "bootstrap-k3s": "v0.3.1",
        "control-plane-k3s": "v0.3.1",
        "infrastructure-elemental": "v0.1.0",
    }
    data = kubectl_json(
        cp, "get", "configmap", "-n", "elemental-system", "elemental-controller-manager-envs"
    )["data"]
    assert data["ELEMENTAL_API_ENDPOINT"] == ENDPOINT
    for boolean in ("ELEMENTAL_API_ENABLE_TLS", "ELEMENTAL_ENABLE_DEFAULT_CA", "ELEMENTAL_ENABLE_DEBUG"):
        assert data[boolean] == "true", boolean
    certificate = kubectl_json(cp, "get", "certificates", "-n", "elemental-system", "elemental-api-ssl")
    assert certificate["spec"]["dnsNames"] == [ENDPOINT]
    # What only `clusterctl delete` removes: cluster-scoped, named as it expects.
    cluster_scoped = names(cp, "clusterroles,clusterrolebindings", "-l", PROVIDER_LABEL)
    assert len(cluster_scoped) == 5  # 3 ClusterRoles (one for Cluster API's manager), 2 bindings
    assert all(n.split("/", 1)[1].startswith("elemental-system-") for n in cluster_scoped), cluster_scoped

    plan = lifecycle.ok(UPGRADE_PLAN)
    assert re.search(
        r"^infrastructure-elemental\s+elemental-system\s+InfrastructureProvider\s+v0\.1\.0\s+v0\.2\.0$",
        plan,
        re.M,
    ), plan
    lifecycle.ok(UPGRADE_APPLY, env)
    assert providers(cp)["infrastructure-elemental"] == "v0.2.0"
    deployments = kubectl_json(cp, "get", "deployments", "-n", "elemental-system")["items"]
    images = {c["image"] for d in deployments for c in d["spec"]["template"]["spec"]["containers"]}
    assert images == {"ghcr.io/elemental-capi/elemental-capi:v0.2.0"}
    assert names(cp, "clusterroles,clusterrolebindings", "-l", PROVIDER_LABEL) == cluster_scoped

    lifecycle.ok(DELETE)
    assert names(cp, "clusterroles,clusterrolebindings", "-l", PROVIDER_LABEL) == set()
    # CRDs go once the API server has cleaned up their objects.
    wait_for(lambda: not names(cp, CLUSTER_SCOPED, "-l", PROVIDER_LABEL), 60, "no cluster-scoped object left")
    wait_for(
        lambda: "namespace/elemental-system" not in names(cp, "namespaces"), 60, "elemental-system to go"
    )
    assert "infrastructure-elemental" not in providers(cp)
    # The next run starts as the README does: only the core provider left.
    lifecycle.ok("clusterctl delete --bootstrap k3s --control-plane k3s --include-namespace")
    wait_for(
        lambda: (
            not {"namespace/capi-k3s-bootstrap-system", "namespace/capi-k3s-control-plane-system"}
            & names(cp, "namespaces")
        ),
        60,
        "the k3s namespaces to go",
    )


# -- creating clusters -------------------------------------------------------------------------


@dataclass
class Management:
    control_plane: ControlPlane
    clusterctl: Clusterctl
    capi: ClusterAPIManager


@pytest.fixture(scope="module")
def management(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Management]:
    """Every provider the flavors need installed by clusterctl (kubeadm's with its real CRDs),
    then Cluster API's manager: its webhooks check what the dry runs send."""
    with (
        ControlPlane() as control_plane,
        # clusterctl's cert-manager check leaves a namespace to delete before the next init.
        KubeControllerManager(control_plane, controllers=("namespace-controller",)),
    ):
        clusterctl = Clusterctl(control_plane, tmp_path_factory.mktemp("clusterctl"), ("v0.1.0",))
        clusterctl.ok(INIT_KUBEADM, {"ELEMENTAL_API_ENDPOINT": ENDPOINT})
        no_check_namespace(control_plane)
        no_check_namespace(control_plane)
        clusterctl.ok("clusterctl init --bootstrap k3s,rke2 --control-plane k3s,rke2")
        with ClusterAPIManager(control_plane) as capi:
            yield Management(control_plane, clusterctl, capi)


def generate(
    management: Management, flavor: str, name: str, namespace: str, *flags: str, **env: str
) -> list[Obj]:
    command = [
        *shlex.split(f"clusterctl generate cluster {name} --infrastructure elemental"),
        *(["--flavor", flavor] if flavor else []),
        "--target-namespace",
        namespace,
        *flags,
    ]
    return documents(management.clusterctl.ok(command, {"CONTROL_PLANE_ENDPOINT_HOST": ENDPOINT_HOST, **env}))


def versions_of(objects: list[Obj]) -> set[str]:
    """Every Kubernetes version the objects ask for."""
    found = set()
    for obj in objects:
        spec = obj.get("spec", {})
        for version in (
            spec.get("version"),
            spec.get("topology", {}).get("version"),
            spec.get("template", {}).get("spec", {}).get("version")
            if obj["kind"] == "MachineDeployment"
            else None,
        ):
            if version:
                found.add(version)
    return found


def namespace_for(management: Management, name: str) -> str:
    management.control_plane.kubectl("create", "namespace", name)
    return name


@pytest.mark.parametrize("flavor", FLAVORS)
def test_generate_cluster(management: Management, flavor: str) -> None:
    cp = management.control_plane
    namespace = namespace_for(management, f"flavor-{flavor or 'default'}")
    objects = generate(
        management,
        flavor,
        "sample",
        namespace,
        "--kubernetes-version",
        "v1.31.4",
        "--worker-machine-count",
        "1",
    )
    kinds = {o["kind"] for o in objects}
    assert "Cluster" in kinds
    assert ("ElementalClusterTemplate" if flavor.endswith("clusterclass") else "ElementalCluster") in kinds
    for obj in objects:
        group = obj["apiVersion"].rsplit("/", 1)[0]
        if group == "cluster.x-k8s.io":
            assert obj["apiVersion"] == "cluster.x-k8s.io/v1beta2", obj["kind"]
        assert obj["metadata"].get("namespace", namespace) == namespace
    distribution = flavor.split("-", 1)[0]
    assert versions_of(objects) == {VERSIONS[distribution]}
    (cluster,) = [o for o in objects if o["kind"] == "Cluster"]
    if "topology" in cluster["spec"]:
        workers = cluster["spec"]["topology"]["workers"]["machineDeployments"]
        assert [w["replicas"] for w in workers] == [1]
        assert cluster["spec"]["topology"]["controlPlane"]["replicas"] == 1
    elif flavor != "k3s-single-node":
        (deployment,) = [o for o in objects if o["kind"] == "MachineDeployment"]
        assert deployment["spec"]["replicas"] == 1
    # Server-side dry run of everything: Cluster API's kinds through its webhooks, kubeadm's
    # and ours against their real schemas (k3s's and RKE2's stand-in CRDs check no field).
    path = management.clusterctl.home / f"{namespace}.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    result = cp.kubectl("apply", "--dry-run=server", "-f", str(path))
    assert result.returncode == 0, f"{flavor}: {result.stderr}"
    assert result.stdout.count("(server dry run)") == len(objects), result.stdout
    assert management.capi.webhook_errors() == []


def test_clusterctl_defaults_are_the_documented_ones(management: Management) -> None:
    documented = documented_variables()
    assert documented["WORKER_MACHINE_COUNT"] == "0"  # clusterctl sets it: 0 unless told
    assert documented["CONTROL_PLANE_MACHINE_COUNT"] == "1"
    namespace = namespace_for(management, "defaults")
    by_kind = {o["kind"]: o for o in generate(management, "kubeadm", "plain", namespace)}
    assert by_kind["MachineDeployment"]["spec"]["replicas"] == 0
    assert by_kind["KubeadmControlPlane"]["spec"]["replicas"] == 1
    assert by_kind["KubeadmControlPlane"]["spec"]["version"] == documented["KUBERNETES_VERSION"]
    k3s = {o["kind"]: o for o in generate(management, "k3s", "plain", namespace, K3S_RELEASE="k3s2")}
    assert k3s["KThreesControlPlane"]["spec"]["version"] == f"{documented['KUBERNETES_VERSION']}+k3s2"
    rke2 = {o["kind"]: o for o in generate(management, "rke2", "plain", namespace)}
    assert (
        rke2["RKE2ControlPlane"]["spec"]["version"]
        == f"{documented['KUBERNETES_VERSION']}+{documented['RKE2_RELEASE']}"
    )


@pytest.mark.parametrize("flavor", FLAVORS)
def test_list_variables_says_what_is_required(management: Management, flavor: str, release_dir: Path) -> None:
    listing = management.clusterctl.ok(
        ["clusterctl", "generate", "cluster", "sample", "--infrastructure", "elemental", "--list-variables"]
        + (["--flavor", flavor] if flavor else [])
    )
    required_part, _, optional_part = listing.partition("Optional Variables:")
    required = set(re.findall(r"^  - (\w+)", required_part, re.M))
    optional = set(re.findall(r"^  - (\w+)", optional_part, re.M))
    assert required == {"CONTROL_PLANE_ENDPOINT_HOST"}
    name = f"cluster-template-{flavor}.yaml" if flavor else "cluster-template.yaml"
    used = set(variables_used((release_dir / name).read_text()))
    assert required | optional == used


def test_a_clusterclass_cluster_is_built_by_cluster_apis_topology_controller(management: Management) -> None:
    """The kubeadm ClusterClass, its patches and its templates, as Cluster API's topology
    controller uses them (kubeadm's real CRDs; k3s's and RKE2's are not on this machine)."""
    cp = management.control_plane
    namespace = namespace_for(management, "topology")
    objects = generate(
        management,
        "kubeadm-clusterclass",
        "topo",
        namespace,
        "--worker-machine-count",
        "1",
        VIP_INTERFACE="eth1",
    )
    path = management.clusterctl.home / "topology.yaml"
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    applied = cp.kubectl("apply", "-f", str(path))
    assert applied.returncode == 0, applied.stderr

    def built() -> Obj | None:
        items = kubectl_json(cp, "get", "kubeadmcontrolplanes", "-n", namespace)["items"]
        return items[0] if items else None

    control_plane = wait_for(built, 60, "the topology controller to create the KubeadmControlPlane")
    assert control_plane["spec"]["version"] == "v1.31.4"
    (vip,) = control_plane["spec"]["kubeadmConfigSpec"]["files"]
    env = {e["name"]: e.get("value") for e in yaml.safe_load(vip["content"])["spec"]["containers"][0]["env"]}
    assert (env["address"], env["port"], env["vip_interface"]) == (ENDPOINT_HOST, "6443", "eth1")
    infra_ref = control_plane["spec"]["machineTemplate"]["spec"]["infrastructureRef"]
    assert infra_ref["kind"] == "ElementalMachineTemplate"

    def elemental_cluster() -> Obj | None:
        items = kubectl_json(cp, "get", "elementalclusters", "-n", namespace)["items"]
        return items[0] if items else None

    assert wait_for(elemental_cluster, 30, "the ElementalCluster")["spec"]["controlPlaneEndpoint"] == {
        "host": ENDPOINT_HOST,
        "port": 6443,
    }
    deployments = wait_for(
        lambda: kubectl_json(cp, "get", "machinedeployments", "-n", namespace)["items"],
        30,
        "the MachineDeployment",
    )
    assert [(d["spec"]["replicas"], d["spec"]["template"]["spec"]["version"]) for d in deployments] == [
        (1, "v1.31.4")
    ]
    clusterclass = kubectl_json(cp, "get", "clusterclass", "-n", namespace, "kubeadm")
    conditions = {c["type"]: c["status"] for c in clusterclass["status"]["conditions"]}
    assert conditions["VariablesReady"] == "True" and conditions["RefVersionsUpToDate"] == "True", conditions
    assert management.capi.webhook_errors() == []
