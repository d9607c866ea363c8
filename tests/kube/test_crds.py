"""The generated CRDs in a real kube-apiserver, used with kubectl the way a Cluster API user would.

Covers the examples in docs/examples (they apply and read back, with the server-side defaults
the Go agent relies on), schema validation, printer columns, short names, status
subresources, free-form fields, and a structural comparison with the upstream Go provider's
CRDs whose expected shapes are written out below (taken from upstream's
config/crd/bases, controller-gen v0.16.1). The remediation kinds (ElementalRemediation and
its template, which upstream does not have) are checked against what Cluster API's
MachineHealthCheck does with them.
"""

from __future__ import annotations

import atexit
import json
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.controlplane import REPO_ROOT, ControlPlane, find_binaries, load_yaml_documents

# Registered as a plugin (not imported) so all modules share one session control plane.
pytest_plugins = ["tests.kube_fixtures"]

GROUP = "infrastructure.cluster.x-k8s.io"
API_VERSION = f"{GROUP}/v1beta1"
EXAMPLES_DIR = REPO_ROOT / "docs" / "examples"
Obj = dict[str, Any]

# kind -> plural; every kind has docs/examples/<kind in lower case>.yaml
UPSTREAM_PLURALS = {  # the kinds upstream's Go provider has too
    "ElementalCluster": "elementalclusters",
    "ElementalClusterTemplate": "elementalclustertemplates",
    "ElementalHost": "elementalhosts",
    "ElementalMachine": "elementalmachines",
    "ElementalMachineTemplate": "elementalmachinetemplates",
    "ElementalRegistration": "elementalregistrations",
}
PLURALS: dict[str, str] = UPSTREAM_PLURALS | {
    "ElementalRemediation": "elementalremediations",
    "ElementalRemediationTemplate": "elementalremediationtemplates",
}
PLUGIN = "/usr/lib/elemental/plugins/elemental.so"
TEN_SECONDS_NS = 10_000_000_000
WORK_DIR = "/var/lib/elemental/agent"
LABEL_CLUSTER = "cluster.x-k8s.io/cluster-name"
LABEL_MACHINE = "elementalhost.infrastructure.cluster.x-k8s.io/machine-name"


# -- helpers -------------------------------------------------------------------------------


def example_path(kind: str) -> Path:
    return EXAMPLES_DIR / f"{kind.lower()}.yaml"


def load_example(kind: str) -> Obj:
    docs = [d for d in yaml.safe_load_all(example_path(kind).read_text()) if d]
    assert len(docs) == 1, f"{example_path(kind)} should hold one object"
    doc: Obj = docs[0]
    return doc


def run_ok(cp: ControlPlane, *args: str) -> str:
    result = cp.kubectl(*args)
    assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
    return result.stdout


def apply_file(cp: ControlPlane, namespace: str, path: Path) -> subprocess.CompletedProcess[str]:
    return cp.kubectl("apply", "-n", namespace, "-f", str(path))


def apply_doc(
    cp: ControlPlane, namespace: str, folder: Path, doc: Obj | str, *extra: str
) -> subprocess.CompletedProcess[str]:
    """kubectl apply of one manifest (a dict, or YAML text written as is)."""
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False)
    path = folder / f"manifest-{len(list(folder.glob('manifest-*.yaml')))}.yaml"
    path.write_text(text)
    return cp.kubectl("apply", "-n", namespace, "-f", str(path), *extra)


def get_json(cp: ControlPlane, namespace: str, resource: str, name: str) -> Obj:
    got: Obj = json.loads(run_ok(cp, "get", "-n", namespace, resource, name, "-o", "json"))
    return got


def status_patch(status: Obj) -> list[str]:
    """kubectl patch arguments that merge `status` through the status subresource."""
    return ["--subresource=status", "--type=merge", "-p", json.dumps({"status": status})]


def patch_status(cp: ControlPlane, namespace: str, resource: str, name: str, status: Obj) -> str:
    return run_ok(cp, "patch", "-n", namespace, resource, name, *status_patch(status))


def crd(cp: ControlPlane, kind: str) -> Obj:
    got: Obj = json.loads(run_ok(cp, "get", "crd", f"{PLURALS[kind]}.{GROUP}", "-o", "json"))
    return got


def assert_contains(expected: Any, actual: Any, path: str = "") -> None:
    """Everything in `expected` is in `actual` (dicts may have more keys: defaults, metadata)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} is missing in {sorted(actual)}"
            assert_contains(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            assert_contains(want, got, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: expected {expected!r}, got {actual!r}"


def table(stdout: str) -> list[dict[str, str]]:
    """Rows of kubectl's default (column-aligned) output, keyed by the header's names."""
    lines = stdout.rstrip("\n").splitlines()
    header = lines[0]
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.split()
    rows = []
    for line in lines[1:]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


def header(stdout: str) -> list[str]:
    return stdout.splitlines()[0].split()


def condition(kind: str, status: str = "True", **extra: str) -> Obj:
    return {"type": kind, "status": status, "lastTransitionTime": "2025-01-01T00:00:00Z", **extra}


def v1beta2_condition(kind: str, status: str = "True", reason: str = "Ready", **extra: Any) -> Obj:
    """A condition in the v1beta2 contract's metav1 shape (ElementalMachine, ElementalCluster)."""
    return condition(kind, status, reason=reason, message="", **extra)


# -- the examples --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(PLURALS))
def test_example_applies_cleanly_and_reads_back(
    control_plane: ControlPlane, kube_namespace: str, kind: str
) -> None:
    path = example_path(kind)
    text = path.read_text()
    doc = load_example(kind)
    assert text.startswith("#"), f"{path.name} should start with a comment header"
    assert doc["apiVersion"] == API_VERSION and doc["kind"] == kind
    assert "namespace" not in doc["metadata"], "kubectl -n sets the namespace"
    name = doc["metadata"]["name"]

    applied = apply_file(control_plane, kube_namespace, path)

    assert applied.returncode == 0, applied.stderr
    assert applied.stderr == ""  # no warnings (e.g. unknown or duplicate fields)
    assert applied.stdout.strip() == f"{kind.lower()}.{GROUP}/{name} created"
    got = get_json(control_plane, kube_namespace, PLURALS[kind], name)
    assert got["metadata"]["namespace"] == kube_namespace
    assert_contains(doc, got)
    # Server-side defaults do not make a second apply see a change.
    again = apply_file(control_plane, kube_namespace, path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"{kind.lower()}.{GROUP}/{name} unchanged"


def test_registration_example_gets_the_agent_defaults(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    kind = "ElementalRegistration"
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path(kind)))

    got = get_json(control_plane, kube_namespace, "elementalregistrations", "edge-site-1")

    agent = got["spec"]["config"]["elemental"]["agent"]
    assert agent["osPlugin"] == PLUGIN
    assert agent["reconciliation"] == TEN_SECONDS_NS
    assert agent["workDir"] == WORK_DIR
    assert agent["hostname"] == {"prefix": "m-", "useExisting": False}
    assert agent["postInstall"] == {"reboot": True}  # what the example set stays as it is


def test_registration_without_agent_gets_the_default_agent(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    registration = {
        "apiVersion": API_VERSION,
        "kind": "ElementalRegistration",
        "metadata": {"name": "no-agent"},
        "spec": {"config": {"elemental": {"registration": {"tokenDuration": 0}}}},
    }
    # As upstream: an agent without hostname gets hostname.useExisting true.
    agent_without_hostname: Obj = {
        **registration,
        "metadata": {"name": "agent-without-hostname"},
        "spec": {"config": {"elemental": {"agent": {"debug": True}}}},
    }
    no_elemental = {**registration, "metadata": {"name": "no-elemental"}, "spec": {"config": {}}}
    for doc in (registration, agent_without_hostname, no_elemental):
        applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)
        assert applied.returncode == 0, applied.stderr

    resource = "elementalregistrations"
    got = get_json(control_plane, kube_namespace, resource, "no-agent")
    with_agent = get_json(control_plane, kube_namespace, resource, "agent-without-hostname")
    without_elemental = get_json(control_plane, kube_namespace, resource, "no-elemental")

    assert got["spec"]["config"]["elemental"]["agent"] == {
        "debug": False,
        "hostname": {"useExisting": False},
        "osPlugin": PLUGIN,
        "reconciliation": TEN_SECONDS_NS,
        "workDir": WORK_DIR,
    }
    assert with_agent["spec"]["config"]["elemental"]["agent"] == {
        "debug": True,
        "hostname": {"useExisting": True},
        "osPlugin": PLUGIN,
        "reconciliation": TEN_SECONDS_NS,
        "workDir": WORK_DIR,
    }
    # Defaults only fill in objects that exist: no elemental, no agent.
    assert without_elemental["spec"]["config"] == {}


@pytest.mark.parametrize("kind", ["ElementalCluster", "ElementalMachine"])
def test_status_ready_defaults_to_false_once_status_is_written(
    control_plane: ControlPlane, kube_namespace: str, kind: str
) -> None:
    resource, name = PLURALS[kind], load_example(kind)["metadata"]["name"]
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path(kind)))
    assert "status" not in get_json(control_plane, kube_namespace, resource, name)

    pending_ready = v1beta2_condition("Ready", "False", "Pending")
    patch_status(control_plane, kube_namespace, resource, name, {"conditions": [pending_ready]})
    pending = get_json(control_plane, kube_namespace, resource, name)["status"]
    patch_status(control_plane, kube_namespace, resource, name, {"ready": True})
    ready = get_json(control_plane, kube_namespace, resource, name)["status"]

    assert pending == {"ready": False, "conditions": [pending_ready]}
    assert ready["ready"] is True


@pytest.mark.parametrize("kind", ["ElementalCluster", "ElementalMachine"])
def test_v1beta2_contract_status_fields(control_plane: ControlPlane, kube_namespace: str, kind: str) -> None:
    """status.initialization.provisioned, and conditions in metav1 shape with observedGeneration
    and, beside, v1beta1's severity; a condition without reason is refused."""
    resource, name = PLURALS[kind], load_example(kind)["metadata"]["name"]
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path(kind)))
    status = {
        "ready": False,
        "initialization": {"provisioned": True},
        "conditions": [
            v1beta2_condition("Ready", "False", "Deleting", observedGeneration=3, severity="Info"),
            v1beta2_condition("Paused", "False", "NotPaused", observedGeneration=3),
        ],
    }
    patch_status(control_plane, kube_namespace, resource, name, status)
    assert get_json(control_plane, kube_namespace, resource, name)["status"] == status

    no_reason = {"conditions": [{**v1beta2_condition("Ready"), "reason": ""}]}
    refused = control_plane.kubectl(
        "patch",
        "-n",
        kube_namespace,
        resource,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": no_reason}),
    )
    assert refused.returncode != 0
    assert "status.conditions[0].reason" in refused.stderr


@pytest.mark.parametrize("kind", ["ElementalCluster", "ElementalHost", "ElementalMachine"])
def test_status_is_only_written_through_the_subresource(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path, kind: str
) -> None:
    doc = load_example(kind)
    doc["status"] = {"conditions": [condition("Ready")]}

    applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)

    assert applied.returncode == 0, applied.stderr
    got = get_json(control_plane, kube_namespace, PLURALS[kind], doc["metadata"]["name"])
    assert "status" not in got


# -- validation ----------------------------------------------------------------------------

INVALID = {
    "cluster-endpoint-without-port": (
        """
        kind: ElementalCluster
        spec: {controlPlaneEndpoint: {host: 10.0.0.1}}
        """,
        ["spec.controlPlaneEndpoint.port", "Required value"],
    ),
    "cluster-endpoint-port-as-string": (
        """
        kind: ElementalCluster
        spec: {controlPlaneEndpoint: {host: 10.0.0.1, port: "6443"}}
        """,
        ["spec.controlPlaneEndpoint.port", "must be of type integer"],
    ),
    "cluster-template-without-spec": (
        """
        kind: ElementalClusterTemplate
        spec: {template: {}}
        """,
        ["spec.template.spec", "Required value"],
    ),
    "cluster-template-without-template": (
        """
        kind: ElementalClusterTemplate
        spec: {}
        """,
        ["spec.template", "Required value"],
    ),
    "machine-template-without-template": (
        """
        kind: ElementalMachineTemplate
        spec: {}
        """,
        ["spec.template", "Required value"],
    ),
    "machine-selector-expression-without-operator": (
        """
        kind: ElementalMachine
        spec: {selector: {matchExpressions: [{key: location}]}}
        """,
        ["spec.selector.matchExpressions[0].operator", "Required value"],
    ),
    "machine-selector-misspelt": (
        """
        kind: ElementalMachine
        spec: {selectr: {matchLabels: {location: edge}}}
        """,
        ['unknown field "spec.selectr"'],
    ),
    "host-pubkey-as-number": (
        """
        kind: ElementalHost
        spec: {pubKey: 12345}
        """,
        ["spec.pubKey", "must be of type string"],
    ),
    "registration-reconciliation-as-duration-string": (
        """
        kind: ElementalRegistration
        spec: {config: {elemental: {agent: {reconciliation: 10s}}}}
        """,
        ["spec.config.elemental.agent.reconciliation", "must be of type integer"],
    ),
    "registration-host-label-as-number": (
        """
        kind: ElementalRegistration
        spec: {hostLabels: {rack: 7}}
        """,
        ["spec.hostLabels.rack", "must be of type string"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_manifest_is_refused_naming_the_field(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path, case: str
) -> None:
    body, fragments = INVALID[case]
    doc = yaml.safe_load(textwrap.dedent(body))
    doc = {"apiVersion": API_VERSION, "kind": doc["kind"], "metadata": {"name": "bad"}, "spec": doc["spec"]}

    applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)

    assert applied.returncode != 0, applied.stdout
    for fragment in fragments:
        assert fragment in applied.stderr
    missing = control_plane.kubectl("get", "-n", kube_namespace, PLURALS[doc["kind"]], "bad")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_invalid_status_is_refused_naming_the_field(control_plane: ControlPlane, kube_namespace: str) -> None:
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalHost")))
    name = load_example("ElementalHost")["metadata"]["name"]
    status = {"phase": "Running", "conditions": [{"status": "True"}]}

    patched = control_plane.kubectl(
        "patch", "-n", kube_namespace, "elementalhosts", name, *status_patch(status)
    )

    assert patched.returncode != 0
    assert "status.conditions[0].type: Required value" in patched.stderr
    assert "status.conditions[0].lastTransitionTime: Required value" in patched.stderr


# -- kubectl get: printer columns and short names -------------------------------------------


def test_get_elementalhosts_shows_the_printer_columns(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    host = load_example("ElementalHost")
    host["metadata"]["labels"] |= {
        LABEL_CLUSTER: "edge-cluster",
        LABEL_MACHINE: "edge-cluster-md-0-6fd9c-x7k2p",
    }
    host["spec"]["machineRef"] = {
        "apiVersion": API_VERSION,
        "kind": "ElementalMachine",
        "name": "edge-cluster-md-0-x7k2p",
        "namespace": kube_namespace,
    }
    free_host = {"apiVersion": API_VERSION, "kind": "ElementalHost", "metadata": {"name": "m-free"}}
    for doc in (host, free_host):
        applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)
        assert applied.returncode == 0, applied.stderr
    status = {"phase": "Running", "conditions": [condition("Ready"), condition("InstallReady")]}
    patch_status(control_plane, kube_namespace, "elementalhosts", host["metadata"]["name"], status)

    out = run_ok(control_plane, "get", "elementalhosts", "-A")

    assert header(out) == [
        "NAMESPACE",
        "NAME",
        "CLUSTER",
        "MACHINE",
        "ELEMENTALMACHINE",
        "PHASE",
        "READY",
        "AGE",
    ]
    rows = {r["NAME"]: r for r in table(out) if r["NAMESPACE"] == kube_namespace}
    assert set(rows) == {host["metadata"]["name"], "m-free"}
    claimed = rows[host["metadata"]["name"]]
    assert re.fullmatch(r"\d+s", claimed.pop("AGE"))
    assert claimed == {
        "NAMESPACE": kube_namespace,
        "NAME": host["metadata"]["name"],
        "CLUSTER": "edge-cluster",
        "MACHINE": "edge-cluster-md-0-6fd9c-x7k2p",
        "ELEMENTALMACHINE": "edge-cluster-md-0-x7k2p",
        "PHASE": "Running",
        "READY": "True",
    }
    free = rows["m-free"]
    assert [free[c] for c in ("CLUSTER", "MACHINE", "ELEMENTALMACHINE", "PHASE", "READY")] == [""] * 5


def test_get_elementalmachines_shows_the_printer_columns(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    machine_name = "edge-cluster-md-0-6fd9c-x7k2p"
    capi_machine = {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {"name": machine_name, "labels": {LABEL_CLUSTER: "edge-cluster"}},
        "spec": {
            "clusterName": "edge-cluster",
            "bootstrap": {"dataSecretName": f"{machine_name}-bootstrap"},
            "infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalMachine", "name": "m"},
        },
    }
    assert apply_doc(control_plane, kube_namespace, tmp_path, capi_machine).returncode == 0
    capi_machine = get_json(control_plane, kube_namespace, "machines.cluster.x-k8s.io", machine_name)
    uid = capi_machine["metadata"]["uid"]
    machine = load_example("ElementalMachine")
    name = machine["metadata"]["name"]
    machine["metadata"]["ownerReferences"] = [
        {"apiVersion": "cluster.x-k8s.io/v1beta2", "kind": "Machine", "name": machine_name, "uid": uid}
    ]
    machine["spec"]["providerID"] = f"elemental://{kube_namespace}/m-3f9c1d2a"
    applied = apply_doc(control_plane, kube_namespace, tmp_path, machine)
    assert applied.returncode == 0, applied.stderr
    status = {"ready": True, "conditions": [v1beta2_condition("Ready")]}
    patch_status(control_plane, kube_namespace, "elementalmachines", name, status)

    out = run_ok(control_plane, "get", "elementalmachines", "-n", kube_namespace)

    assert header(out) == ["NAME", "CLUSTER", "MACHINE", "PROVIDERID", "READY", "AGE"]
    [row] = table(out)
    assert re.fullmatch(r"\d+s", row.pop("AGE"))
    assert row == {
        "NAME": name,
        "CLUSTER": "edge-cluster",
        "MACHINE": machine_name,
        "PROVIDERID": f"elemental://{kube_namespace}/m-3f9c1d2a",
        "READY": "True",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "ElementalCluster",
        "ElementalClusterTemplate",
        "ElementalMachineTemplate",
        "ElementalRegistration",
        "ElementalRemediationTemplate",
    ],
)
def test_kinds_without_printer_columns_show_name_and_age(
    control_plane: ControlPlane, kube_namespace: str, kind: str
) -> None:
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path(kind)))

    out = run_ok(control_plane, "get", PLURALS[kind], "-n", kube_namespace)

    assert header(out) == ["NAME", "AGE"]
    assert [r["NAME"] for r in table(out)] == [load_example(kind)["metadata"]["name"]]


def test_short_name_emt_lists_machine_templates(control_plane: ControlPlane, kube_namespace: str) -> None:
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalMachineTemplate")))

    out = run_ok(control_plane, "get", "emt", "-n", kube_namespace, "-o", "name")
    resources = run_ok(control_plane, "api-resources", f"--api-group={GROUP}", "--no-headers")

    assert out.split() == [f"elementalmachinetemplate.{GROUP}/edge-cluster-md-0"]
    rows = [line.split() for line in resources.splitlines()]
    short_names = {row[0]: row[1] for row in rows if "emt" in row}
    assert short_names == {"elementalmachinetemplates": "emt"}


# -- the CRDs themselves -------------------------------------------------------------------

# Upstream: status subresource on every kind but ElementalMachineTemplate (ElementalClusterTemplate
# has one without a status schema); only ElementalMachineTemplate has a short name. Ours: the
# remediation has one (the operator writes it), its template none.
STATUS_SUBRESOURCE = {
    "ElementalCluster": True,
    "ElementalClusterTemplate": True,
    "ElementalHost": True,
    "ElementalMachine": True,
    "ElementalMachineTemplate": False,
    "ElementalRegistration": True,
    "ElementalRemediation": True,
    "ElementalRemediationTemplate": False,
}
SHORT_NAMES = {"ElementalMachineTemplate": ["emt"]}
PRINTER_COLUMNS = {
    "ElementalHost": [
        ("Cluster", "string", r".metadata.labels['cluster\.x-k8s\.io/cluster-name']"),
        (
            "Machine",
            "string",
            r".metadata.labels['elementalhost\.infrastructure\.cluster\.x-k8s\.io/machine-name']",
        ),
        ("ElementalMachine", "string", ".spec.machineRef.name"),
        ("Phase", "string", ".status.phase"),
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        ("Age", "date", ".metadata.creationTimestamp"),
    ],
    "ElementalMachine": [
        ("Cluster", "string", r".metadata.labels['cluster\.x-k8s\.io/cluster-name']"),
        ("Machine", "string", '.metadata.ownerReferences[?(@.kind=="Machine")].name'),
        ("ProviderID", "string", ".spec.providerID"),
        ("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        ("Age", "date", ".metadata.creationTimestamp"),
    ],
    "ElementalRemediation": [
        ("Phase", "string", ".status.phase"),
        ("Retries", "integer", ".status.retryCount"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ],
}


@pytest.mark.parametrize("kind", sorted(PLURALS))
def test_crd_names_label_subresources_and_columns(control_plane: ControlPlane, kind: str) -> None:
    got = crd(control_plane, kind)
    spec = got["spec"]

    # The one version serves both Cluster API contracts (docs/CAPI-CONTRACT.md).
    assert got["metadata"]["labels"]["cluster.x-k8s.io/v1beta1"] == "v1beta1"
    assert got["metadata"]["labels"]["cluster.x-k8s.io/v1beta2"] == "v1beta1"
    assert spec["group"] == GROUP and spec["scope"] == "Namespaced"
    names = spec["names"]
    assert (names["kind"], names["listKind"], names["plural"], names["singular"]) == (
        kind,
        f"{kind}List",
        PLURALS[kind],
        kind.lower(),
    )
    assert names.get("shortNames", []) == SHORT_NAMES.get(kind, [])
    [version] = spec["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1beta1", True, True)
    assert ("status" in version.get("subresources", {})) is STATUS_SUBRESOURCE[kind]
    assert "scale" not in version.get("subresources", {})
    columns = [(c["name"], c["type"], c["jsonPath"]) for c in version.get("additionalPrinterColumns", [])]
    assert columns == PRINTER_COLUMNS.get(kind, [])


@pytest.mark.parametrize("kind", ["ElementalHost", "ElementalMachine"])
def test_addresses_are_cluster_api_machine_addresses(
    control_plane: ControlPlane, kube_namespace: str, kind: str
) -> None:
    resource, name = PLURALS[kind], load_example(kind)["metadata"]["name"]
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path(kind)))
    addresses = [
        {"type": kind_, "address": f"a-{index}"}
        for index, kind_ in enumerate(["Hostname", "ExternalIP", "InternalIP", "ExternalDNS", "InternalDNS"])
    ]
    patch_status(control_plane, kube_namespace, resource, name, {"addresses": addresses})
    assert get_json(control_plane, kube_namespace, resource, name)["status"]["addresses"] == addresses

    refused = control_plane.kubectl(
        "patch",
        "-n",
        kube_namespace,
        resource,
        name,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"addresses": [{"type": "MAC", "address": "52:54:00:00:00:01"}]}}),
    )
    assert refused.returncode != 0
    assert "status.addresses[0].type" in refused.stderr


def refused_status(cp: ControlPlane, namespace: str, resource: str, name: str, status: Obj) -> str:
    """kubectl's complaint about a status patch the schema refuses."""
    patched = cp.kubectl("patch", "-n", namespace, resource, name, *status_patch(status))
    assert patched.returncode != 0, patched.stdout
    return patched.stderr


def test_failure_domains_are_the_v1beta2_contracts(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    """ElementalCluster: spec.failureDomainLabel (a label key) and failureDomainControlPlane;
    status.failureDomains, Cluster API v1beta2's list of {name, controlPlane, attributes}
    (unique names, 1 to 100 of them), no longer upstream's v1beta1 map. ElementalMachine:
    status.failureDomain."""
    cluster = load_example("ElementalCluster")
    name = cluster["metadata"]["name"]
    cluster["spec"] |= {
        "failureDomainLabel": "topology.kubernetes.io/zone",
        "failureDomainControlPlane": False,
    }
    applied = apply_doc(control_plane, kube_namespace, tmp_path, cluster)
    assert applied.returncode == 0, applied.stderr
    got = get_json(control_plane, kube_namespace, "elementalclusters", name)["spec"]
    assert (got["failureDomainLabel"], got["failureDomainControlPlane"]) == (
        "topology.kubernetes.io/zone",
        False,
    )

    for bad_label in ("zone with spaces", "-zone", "example.com/", ""):
        refused = apply_doc(
            control_plane,
            kube_namespace,
            tmp_path,
            {**cluster, "spec": {**cluster["spec"], "failureDomainLabel": bad_label}},
        )
        assert refused.returncode != 0, bad_label
        assert "spec.failureDomainLabel" in refused.stderr

    domains = [
        {"name": "zone-a", "controlPlane": True, "attributes": {"rack": "r1"}},
        {"name": "zone-b", "controlPlane": False},
    ]
    patch_status(control_plane, kube_namespace, "elementalclusters", name, {"failureDomains": domains})
    assert (
        get_json(control_plane, kube_namespace, "elementalclusters", name)["status"]["failureDomains"]
        == domains
    )

    def refused(status: Obj) -> str:
        return refused_status(control_plane, kube_namespace, "elementalclusters", name, status)

    assert "status.failureDomains: Invalid value" in refused(
        {"failureDomains": {"zone-a": {"controlPlane": True}}}
    )
    assert "Duplicate value" in refused({"failureDomains": [{"name": "zone-a"}, {"name": "zone-a"}]})
    assert "status.failureDomains[0].name" in refused({"failureDomains": [{"controlPlane": True}]})
    assert "status.failureDomains[0].name" in refused({"failureDomains": [{"name": ""}]})
    assert "status.failureDomains" in refused({"failureDomains": []})
    assert "status.failureDomains" in refused({"failureDomains": [{"name": f"z{i}"} for i in range(101)]})

    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalMachine")))
    machine = load_example("ElementalMachine")["metadata"]["name"]
    patch_status(control_plane, kube_namespace, "elementalmachines", machine, {"failureDomain": "zone-a"})
    assert (
        get_json(control_plane, kube_namespace, "elementalmachines", machine)["status"]["failureDomain"]
        == "zone-a"
    )
    assert "status.failureDomain" in refused_status(
        control_plane, kube_namespace, "elementalmachines", machine, {"failureDomain": ""}
    )


# What clusterctl move needs of the CRDs (cmd/clusterctl/client/cluster/objectgraph.go):
# ElementalCluster and ElementalMachine come through their owner chain to the Cluster
# (Cluster API sets those owners), registrations with everything they own (signing key
# Secret, hosts), every host also on its own; ElementalRemediations through their Machine,
# every remediation template on its own (a MachineHealthCheck only names it).
MOVE_LABELS = {
    "ElementalRegistration": {"clusterctl.cluster.x-k8s.io/move-hierarchy": ""},
    "ElementalHost": {"clusterctl.cluster.x-k8s.io/move": ""},
    "ElementalRemediationTemplate": {"clusterctl.cluster.x-k8s.io/move": ""},
}


@pytest.mark.parametrize("kind", sorted(PLURALS))
def test_crds_carry_the_labels_clusterctl_move_needs(control_plane: ControlPlane, kind: str) -> None:
    got = crd(control_plane, kind)["metadata"]["labels"]
    assert {k: v for k, v in got.items() if k.startswith("clusterctl.cluster.x-k8s.io/")} == MOVE_LABELS.get(
        kind, {}
    )


def test_machine_templates_are_in_the_cluster_api_category(control_plane: ControlPlane) -> None:
    names = crd(control_plane, "ElementalMachineTemplate")["spec"]["names"]

    assert names.get("categories") == ["cluster-api"]
    for kind in sorted(set(PLURALS) - {"ElementalMachineTemplate"}):
        assert "categories" not in crd(control_plane, kind)["spec"]["names"]


@pytest.mark.parametrize("contract", ["v1beta1", "v1beta2"])
def test_capi_contract_label_selects_exactly_our_kinds(control_plane: ControlPlane, contract: str) -> None:
    out = run_ok(control_plane, "get", "crd", "-l", f"cluster.x-k8s.io/{contract}=v1beta1", "-o", "name")

    ours = {n.split("/", 1)[1] for n in out.split() if n.endswith(f".{GROUP}")}

    assert ours == {f"{plural}.{GROUP}" for plural in PLURALS.values()}


FREE_FORM = {
    "answers": [42, 4.5, True, "text", ["nested", ["deeper", {"deepest": {"k": "v"}}]]],
    "empty": {},
    "emptyList": [],
    "map": {"a": {"b": {"c": {"d": [1, 2, 3]}}}},
}


def test_free_form_fields_keep_unknown_nested_data(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    cloud_config = {
        "users": [{"name": "root", "passwd": "x", "groups": ["admin"]}],
        "write_files": [{"path": "/etc/x", "content": "a\nb\n", "permissions": "0600"}],
        "stages": {"boot": [{"commands": ["echo hi"], "environment": {"A": "1"}}]},
        "x-anything": FREE_FORM,
    }
    install = {"device": "/dev/sda", "extra": FREE_FORM}
    reset = {"resetOem": True, "extra": FREE_FORM}
    os_version = {"osImage": "registry.example.com/elemental/os:v1.2.3", "extra": FREE_FORM}
    registration = {
        "apiVersion": API_VERSION,
        "kind": "ElementalRegistration",
        "metadata": {"name": "free-form"},
        "spec": {"config": {"cloudConfig": cloud_config, "elemental": {"install": install, "reset": reset}}},
    }
    host = {
        "apiVersion": API_VERSION,
        "kind": "ElementalHost",
        "metadata": {"name": "free-form"},
        "spec": {"osVersionManagement": os_version},
    }
    machine = {**host, "kind": "ElementalMachine"}
    template = {
        "apiVersion": API_VERSION,
        "kind": "ElementalMachineTemplate",
        "metadata": {"name": "free-form"},
        "spec": {"template": {"spec": {"osVersionManagement": os_version}}},
    }
    for doc in (registration, host, machine, template):
        applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)
        assert applied.returncode == 0, applied.stderr
        assert applied.stderr == ""

    def spec(plural: str) -> Obj:
        got: Obj = get_json(control_plane, kube_namespace, plural, "free-form")["spec"]
        return got

    config = spec("elementalregistrations")["config"]
    assert config["cloudConfig"] == cloud_config
    assert config["elemental"]["install"] == install
    assert config["elemental"]["reset"] == reset
    assert spec("elementalhosts")["osVersionManagement"] == os_version
    assert spec("elementalmachines")["osVersionManagement"] == os_version
    assert spec("elementalmachinetemplates")["template"]["spec"]["osVersionManagement"] == os_version


def test_unknown_fields_outside_free_form_ones_are_pruned(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    doc = {
        "apiVersion": API_VERSION,
        "kind": "ElementalRegistration",
        "metadata": {"name": "pruned"},
        "spec": {
            "unknownTop": 1,
            "config": {
                "cloudConfig": {"kept": {"deep": 1}},
                "elemental": {"agent": {"debug": True, "unknownKnob": "x"}, "unknownSection": {"a": 1}},
            },
        },
    }

    # The default (strict) validation refuses them; without it the API server drops them.
    strict = apply_doc(control_plane, kube_namespace, tmp_path, doc)
    lenient = apply_doc(control_plane, kube_namespace, tmp_path, doc, "--validate=false")

    assert strict.returncode != 0
    assert 'unknown field "spec.config.elemental.agent.unknownKnob"' in strict.stderr
    assert 'unknown field "spec.unknownTop"' in strict.stderr
    assert lenient.returncode == 0, lenient.stderr
    spec = get_json(control_plane, kube_namespace, "elementalregistrations", "pruned")["spec"]
    assert set(spec) == {"config"}
    assert set(spec["config"]["elemental"]) == {"agent"}
    assert "unknownKnob" not in spec["config"]["elemental"]["agent"]
    assert spec["config"]["cloudConfig"] == {"kept": {"deep": 1}}


# -- structural comparison with upstream ---------------------------------------------------
#
# Dotted property paths of spec and status: `[]` stands for a list's items, `*` for a map's
# values. Written out from upstream's generated CRDs (v1beta1, controller-gen v0.16.1).

OBJECT_REFERENCE = ("apiVersion", "fieldPath", "kind", "name", "namespace", "resourceVersion", "uid")
CONDITION_FIELDS = ("lastTransitionTime", "message", "reason", "severity", "status", "type")


def under(prefix: str, names: tuple[str, ...]) -> set[str]:
    return {prefix} | {f"{prefix}.{name}" for name in names}


TEMPLATE = {"template", "template.metadata", "template.spec"}
CONDITIONS = {"conditions"} | {f"conditions[].{name}" for name in CONDITION_FIELDS}
# Not upstream's: the v1beta2 contract's (metav1 shape, v1beta1's severity beside).
V1BETA2_CONDITIONS = CONDITIONS | {"conditions[].observedGeneration"}
INITIALIZATION = {"initialization", "initialization.provisioned"}
ADDRESSES = {"addresses", "addresses[].type", "addresses[].address"}
# Not upstream's (a v1beta1 map keyed by name): the v1beta2 contract's list of FailureDomain.
FAILURE_DOMAINS = {
    "failureDomains",
    "failureDomains[].name",
    "failureDomains[].attributes",
    "failureDomains[].controlPlane",
}
CLUSTER_SPEC = {"controlPlaneEndpoint", "controlPlaneEndpoint.host", "controlPlaneEndpoint.port"} | {
    "failureDomainLabel",  # not upstream's: failure domains from a host label
    "failureDomainControlPlane",
}
MACHINE_SPEC = (
    under("hostRef", OBJECT_REFERENCE)
    | {"osVersionManagement", "providerID"}
    | {
        "selector",
        "selector.matchExpressions",
        "selector.matchExpressions[].key",
        "selector.matchExpressions[].operator",
        "selector.matchExpressions[].values",
        "selector.matchLabels",
    }
)
AGENT = {
    "config.elemental.agent",
    "config.elemental.agent.debug",
    "config.elemental.agent.hostname",
    "config.elemental.agent.hostname.prefix",
    "config.elemental.agent.hostname.useExisting",
    "config.elemental.agent.insecureAllowHttp",
    "config.elemental.agent.insecureSkipTlsVerify",
    "config.elemental.agent.noSmbios",
    "config.elemental.agent.osPlugin",
    "config.elemental.agent.postInstall",
    "config.elemental.agent.postInstall.powerOff",
    "config.elemental.agent.postInstall.reboot",
    "config.elemental.agent.postReset",
    "config.elemental.agent.postReset.powerOff",
    "config.elemental.agent.postReset.reboot",
    "config.elemental.agent.reconciliation",
    "config.elemental.agent.useSystemCertPool",
    "config.elemental.agent.workDir",
}
UPSTREAM_PATHS: dict[str, dict[str, set[str]]] = {
    "ElementalCluster": {
        "spec": CLUSTER_SPEC,
        "status": {"ready"} | INITIALIZATION | V1BETA2_CONDITIONS | FAILURE_DOMAINS,
    },
    "ElementalClusterTemplate": {
        "spec": TEMPLATE | {f"template.spec.{p}" for p in CLUSTER_SPEC},
    },
    "ElementalHost": {
        "spec": under("bootstrapSecret", OBJECT_REFERENCE)
        | under("machineRef", OBJECT_REFERENCE)
        | {"osVersionManagement", "pubKey", "rebootRequest"},
        # Not upstream's: lastSeen, the API's record of the last check-in (host liveness), and
        # the reboot request of a remediation (spec) and the agent's acknowledgement (status).
        "status": {"phase", "lastSeen", "rebootAccepted"} | CONDITIONS | ADDRESSES,
    },
    # Upstream's status.failureDomains is no machine contract field: gone.
    "ElementalMachine": {
        "spec": MACHINE_SPEC,
        "status": {"ready"} | INITIALIZATION | V1BETA2_CONDITIONS | ADDRESSES | {"failureDomain"},
    },
    "ElementalMachineTemplate": {
        "spec": TEMPLATE | {f"template.spec.{p}" for p in MACHINE_SPEC},
    },
    "ElementalRegistration": {
        "spec": {"config", "config.cloudConfig", "config.elemental"}
        | AGENT
        | {"config.elemental.install", "config.elemental.reset"}
        | under("config.elemental.registration", ("caCert", "token", "tokenDuration", "uri"))
        | {"hostAnnotations", "hostLabels"}
        | under("privateKeyRef", OBJECT_REFERENCE),
        "status": CONDITIONS,
    },
}
REQUIRED_IN_CONDITION = ["lastTransitionTime", "status", "type"]
REQUIRED_IN_V1BETA2_CONDITION = ["lastTransitionTime", "message", "reason", "status", "type"]
UPSTREAM_REQUIRED = {
    "ElementalCluster": {
        "spec.controlPlaneEndpoint": ["host", "port"],
        "status.conditions[]": REQUIRED_IN_V1BETA2_CONDITION,
        "status.failureDomains[]": ["name"],
    },
    "ElementalClusterTemplate": {
        "spec": ["template"],
        "spec.template": ["spec"],
        "spec.template.spec.controlPlaneEndpoint": ["host", "port"],
    },
    "ElementalHost": {
        "status.conditions[]": REQUIRED_IN_CONDITION,
        "status.addresses[]": ["type", "address"],
    },
    "ElementalMachine": {
        "spec.selector.matchExpressions[]": ["key", "operator"],
        "status.conditions[]": REQUIRED_IN_V1BETA2_CONDITION,
        "status.addresses[]": ["type", "address"],
    },
    "ElementalMachineTemplate": {
        "spec": ["template"],
        "spec.template.spec.selector.matchExpressions[]": ["key", "operator"],
    },
    "ElementalRegistration": {"status.conditions[]": REQUIRED_IN_CONDITION},
}
UPSTREAM_DEFAULTS = {
    "ElementalCluster": {"status.ready": False},
    "ElementalMachine": {"status.ready": False},
    "ElementalRegistration": {
        "spec.config.elemental.agent": {
            "debug": False,
            "hostname": {"useExisting": False},
            "osPlugin": PLUGIN,
            "reconciliation": TEN_SECONDS_NS,
        },
        "spec.config.elemental.agent.hostname": {"useExisting": True},
        "spec.config.elemental.agent.hostname.useExisting": False,
        "spec.config.elemental.agent.osPlugin": PLUGIN,
        "spec.config.elemental.agent.reconciliation": TEN_SECONDS_NS,
        "spec.config.elemental.agent.workDir": WORK_DIR,
    },
}
UPSTREAM_FREE_FORM = {
    "ElementalHost": {"spec.osVersionManagement"},
    "ElementalMachine": {"spec.osVersionManagement"},
    "ElementalMachineTemplate": {"spec.template.spec.osVersionManagement"},
    "ElementalRegistration": {
        "spec.config.cloudConfig",
        "spec.config.elemental.install",
        "spec.config.elemental.reset",
    },
}
UPSTREAM_ATOMIC = {  # x-kubernetes-map-type / x-kubernetes-list-type: atomic (server-side apply)
    "ElementalHost": {"spec.bootstrapSecret", "spec.machineRef", "status.addresses"},
    "ElementalMachine": {
        "status.addresses",
        "spec.hostRef",
        "spec.selector",
        "spec.selector.matchExpressions",
        "spec.selector.matchExpressions[].values",
    },
    "ElementalMachineTemplate": {
        "spec.template.spec.hostRef",
        "spec.template.spec.selector",
        "spec.template.spec.selector.matchExpressions",
        "spec.template.spec.selector.matchExpressions[].values",
    },
    "ElementalRegistration": {"spec.privateKeyRef"},
}


def schema_nodes(schema: Obj, path: str = "") -> Iterator[tuple[str, Obj]]:
    """Every (dotted path, schema) below `schema`: properties, list items (`[]`), map values (`*`)."""
    properties = schema.get("properties", {})
    children = [(f"{path}.{name}" if path else name, sub) for name, sub in properties.items()]
    if "items" in schema:
        children.append((f"{path}[]", schema["items"]))
    if isinstance(schema.get("additionalProperties"), dict):
        children.append((f"{path}.*", schema["additionalProperties"]))
    for child, sub in children:
        yield child, sub
        yield from schema_nodes(sub, child)


def property_paths(schema: Obj) -> set[str]:
    """The named properties below `schema`, in the notation of UPSTREAM_PATHS."""
    return {p for p, _ in schema_nodes(schema) if not p.endswith(("[]", "*"))}


def root_schema(cp: ControlPlane, kind: str) -> Obj:
    schema: Obj = crd(cp, kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("kind", sorted(UPSTREAM_PLURALS))
def test_schema_matches_upstream_structurally(control_plane: ControlPlane, kind: str) -> None:
    root = root_schema(control_plane, kind)
    nodes = dict(schema_nodes(root))

    assert set(root["properties"]) == {"apiVersion", "kind", "metadata"} | set(UPSTREAM_PATHS[kind])
    for part, expected in UPSTREAM_PATHS[kind].items():
        got = property_paths(root["properties"][part])
        assert got == expected, f"{part}: extra {sorted(got - expected)}, missing {sorted(expected - got)}"
    required = {p: s["required"] for p, s in nodes.items() if "required" in s}
    assert required == UPSTREAM_REQUIRED.get(kind, {})
    defaults = {p: s["default"] for p, s in nodes.items() if "default" in s}
    assert defaults == UPSTREAM_DEFAULTS.get(kind, {})
    free_form = {p for p, s in nodes.items() if s.get("x-kubernetes-preserve-unknown-fields")}
    assert free_form == UPSTREAM_FREE_FORM.get(kind, set())
    atomic = {
        p
        for p, s in nodes.items()
        if "atomic" in (s.get("x-kubernetes-map-type"), s.get("x-kubernetes-list-type"))
    }
    assert atomic == UPSTREAM_ATOMIC.get(kind, set())


# Scalar types of every leaf the Go agent or controllers read with a fixed type.
UPSTREAM_LEAF_TYPES = {
    "ElementalCluster": {
        "spec.controlPlaneEndpoint.host": ("string", None),
        "spec.controlPlaneEndpoint.port": ("integer", "int32"),
        "status.ready": ("boolean", None),
        "status.conditions[].lastTransitionTime": ("string", "date-time"),
    },
    "ElementalHost": {"spec.pubKey": ("string", None), "status.phase": ("string", None)},
    "ElementalMachine": {"spec.providerID": ("string", None), "status.ready": ("boolean", None)},
    "ElementalRegistration": {
        "spec.config.elemental.agent.reconciliation": ("integer", "int64"),
        "spec.config.elemental.registration.tokenDuration": ("integer", "int64"),
        "spec.config.elemental.agent.debug": ("boolean", None),
        "spec.config.elemental.agent.insecureAllowHttp": ("boolean", None),
        "spec.config.elemental.agent.insecureSkipTlsVerify": ("boolean", None),
        "spec.config.elemental.agent.noSmbios": ("boolean", None),
        "spec.config.elemental.agent.useSystemCertPool": ("boolean", None),
        "spec.config.elemental.agent.postInstall.reboot": ("boolean", None),
        "spec.config.elemental.agent.postReset.powerOff": ("boolean", None),
        "spec.config.elemental.registration.caCert": ("string", None),
        "spec.config.elemental.registration.uri": ("string", None),
        "spec.hostLabels.*": ("string", None),
        "spec.hostAnnotations.*": ("string", None),
    },
}


@pytest.mark.parametrize("kind", sorted(UPSTREAM_LEAF_TYPES))
def test_leaf_types_match_upstream(control_plane: ControlPlane, kind: str) -> None:
    root = root_schema(control_plane, kind)
    nodes = dict(schema_nodes(root))
    got = {p: (nodes[p].get("type"), nodes[p].get("format")) for p in UPSTREAM_LEAF_TYPES[kind]}

    assert got == UPSTREAM_LEAF_TYPES[kind]


# -- remediation: the reboot request on the host, ElementalRemediation and its template ----------

DEFAULT_STRATEGY = {
    "type": "Reboot",
    "retryLimit": 1,
    "rebootTimeoutSeconds": 300,
    "recoveryTimeoutSeconds": 600,
}
REBOOT_ID = "0b5f4c1e-8d3a-4f6e-9a2b-7c1d2e3f4a5b-1"


def remediation(name: str, spec: Obj | None = None) -> Obj:
    doc: Obj = {"apiVersion": API_VERSION, "kind": "ElementalRemediation", "metadata": {"name": name}}
    if spec is not None:
        doc["spec"] = spec
    return doc


def test_host_carries_the_reboot_request_and_its_acknowledgement(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    host = load_example("ElementalHost")
    name = host["metadata"]["name"]
    host["spec"]["rebootRequest"] = REBOOT_ID
    applied = apply_doc(control_plane, kube_namespace, tmp_path, host)
    assert applied.returncode == 0, applied.stderr

    patch_status(control_plane, kube_namespace, "elementalhosts", name, {"rebootAccepted": REBOOT_ID})

    got = get_json(control_plane, kube_namespace, "elementalhosts", name)
    assert got["spec"]["rebootRequest"] == REBOOT_ID
    assert got["status"]["rebootAccepted"] == REBOOT_ID
    for bad in ("", "-starts-with-a-dash", "has space", "x" * 101, "slash/in-it"):
        refused = apply_doc(
            control_plane, kube_namespace, tmp_path, {**host, "spec": {**host["spec"], "rebootRequest": bad}}
        )
        assert refused.returncode != 0, bad
        assert "spec.rebootRequest" in refused.stderr
        stderr = refused_status(
            control_plane, kube_namespace, "elementalhosts", name, {"rebootAccepted": bad}
        )
        assert "status.rebootAccepted" in stderr
    assert (
        get_json(control_plane, kube_namespace, "elementalhosts", name)["spec"]["rebootRequest"] == REBOOT_ID
    )


def test_remediation_template_example_keeps_what_it_sets_and_defaults_the_rest(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    example = load_example("ElementalRemediationTemplate")
    run_ok(
        control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalRemediationTemplate"))
    )
    partial = {
        **example,
        "metadata": {"name": "partial"},
        "spec": {"template": {"spec": {"strategy": {"retryLimit": 0}}}},
    }
    no_strategy = {**example, "metadata": {"name": "no-strategy"}, "spec": {"template": {"spec": {}}}}
    for doc in (partial, no_strategy):
        applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)
        assert applied.returncode == 0, applied.stderr

    def template(name: str) -> Obj:
        got: Obj = get_json(control_plane, kube_namespace, "elementalremediationtemplates", name)
        template: Obj = got["spec"]["template"]
        return template

    assert template(example["metadata"]["name"]) == example["spec"]["template"]
    assert template("partial")["spec"]["strategy"] == DEFAULT_STRATEGY | {"retryLimit": 0}
    assert template("no-strategy")["spec"]["strategy"] == DEFAULT_STRATEGY


def test_remediation_without_spec_gets_the_whole_default_strategy(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    for doc in (
        remediation("no-spec"),
        remediation("empty-spec", {}),
        remediation("some-strategy", {"strategy": {"rebootTimeoutSeconds": 30}}),
    ):
        applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)
        assert applied.returncode == 0, applied.stderr

    def strategy(name: str) -> Obj:
        got: Obj = get_json(control_plane, kube_namespace, "elementalremediations", name)["spec"]["strategy"]
        return got

    assert strategy("no-spec") == DEFAULT_STRATEGY
    assert strategy("empty-spec") == DEFAULT_STRATEGY
    assert strategy("some-strategy") == DEFAULT_STRATEGY | {"rebootTimeoutSeconds": 30}


INVALID_STRATEGIES = {
    "unknown-type": ({"type": "PowerCycle"}, "spec.strategy.type"),
    "negative-retry-limit": ({"retryLimit": -1}, "spec.strategy.retryLimit"),
    "retry-limit-over-ten": ({"retryLimit": 11}, "spec.strategy.retryLimit"),
    "retry-limit-as-string": ({"retryLimit": "2"}, "spec.strategy.retryLimit"),
    "zero-reboot-timeout": ({"rebootTimeoutSeconds": 0}, "spec.strategy.rebootTimeoutSeconds"),
    "zero-recovery-timeout": ({"recoveryTimeoutSeconds": 0}, "spec.strategy.recoveryTimeoutSeconds"),
    "misspelt-field": ({"retryLimt": 2}, 'unknown field "spec.strategy.retryLimt"'),
}


@pytest.mark.parametrize("case", sorted(INVALID_STRATEGIES))
@pytest.mark.parametrize("kind", ["ElementalRemediation", "ElementalRemediationTemplate"])
def test_invalid_strategy_is_refused_naming_the_field(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path, kind: str, case: str
) -> None:
    strategy, fragment = INVALID_STRATEGIES[case]
    spec: Obj = {"strategy": strategy}
    if kind == "ElementalRemediationTemplate":
        spec = {"template": {"spec": spec}}
        fragment = fragment.replace("spec.strategy", "spec.template.spec.strategy")
    doc = {"apiVersion": API_VERSION, "kind": kind, "metadata": {"name": "bad"}, "spec": spec}

    applied = apply_doc(control_plane, kube_namespace, tmp_path, doc)

    assert applied.returncode != 0, applied.stdout
    assert fragment in applied.stderr
    missing = control_plane.kubectl("get", "-n", kube_namespace, PLURALS[kind], "bad")
    assert missing.returncode != 0 and "NotFound" in missing.stderr


def test_remediation_template_needs_its_template(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    doc = {"apiVersion": API_VERSION, "kind": "ElementalRemediationTemplate", "metadata": {"name": "bad"}}

    refused = apply_doc(control_plane, kube_namespace, tmp_path, {**doc, "spec": {}})

    assert refused.returncode != 0
    assert "spec.template" in refused.stderr and "Required value" in refused.stderr


def test_remediation_status_is_the_operators_and_checked(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    name = load_example("ElementalRemediation")["metadata"]["name"]
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalRemediation")))
    status = {
        "phase": "WaitingForRecovery",
        "retryCount": 1,
        "lastRemediated": "2025-01-01T00:00:00Z",
        "rebootRequest": REBOOT_ID,
        "conditions": [v1beta2_condition("Ready", "False", "WaitingForRecovery", observedGeneration=1)],
    }
    patch_status(control_plane, kube_namespace, "elementalremediations", name, status)
    assert get_json(control_plane, kube_namespace, "elementalremediations", name)["status"] == status
    for phase in ("Rebooting", "Recovered", "ReplacingMachine", "Failed"):
        patch_status(control_plane, kube_namespace, "elementalremediations", name, {"phase": phase})

    def refused(bad: Obj) -> str:
        return refused_status(control_plane, kube_namespace, "elementalremediations", name, bad)

    assert "status.phase" in refused({"phase": "Rebooted"})
    assert "status.retryCount" in refused({"retryCount": -1})
    assert "status.lastRemediated" in refused({"lastRemediated": "yesterday"})
    assert "status.rebootRequest" in refused({"rebootRequest": "has space"})
    assert "status.conditions[0].reason" in refused(
        {"conditions": [{**v1beta2_condition("Ready"), "reason": ""}]}
    )
    # The main resource does not write status: a spec apply carrying one leaves it as it was.
    with_status = {**load_example("ElementalRemediation"), "status": {"phase": "Failed"}}
    assert apply_doc(control_plane, kube_namespace, tmp_path, with_status).returncode == 0
    assert (
        get_json(control_plane, kube_namespace, "elementalremediations", name)["status"]["phase"] == "Failed"
    )


def test_get_elementalremediations_shows_phase_and_retries(
    control_plane: ControlPlane, kube_namespace: str
) -> None:
    name = load_example("ElementalRemediation")["metadata"]["name"]
    run_ok(control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalRemediation")))
    patch_status(
        control_plane, kube_namespace, "elementalremediations", name, {"phase": "Rebooting", "retryCount": 2}
    )

    out = run_ok(control_plane, "get", "elementalremediations", "-n", kube_namespace)

    assert header(out) == ["NAME", "PHASE", "RETRIES", "AGE"]
    [row] = table(out)
    assert re.fullmatch(r"\d+s", row.pop("AGE"))
    assert row == {"NAME": name, "PHASE": "Rebooting", "RETRIES": "2"}


@pytest.fixture(scope="module")
def machine_health_checks(control_plane: ControlPlane) -> None:
    """Cluster API's MachineHealthCheck CRD (the release's, conversion None as for Machines)."""
    (mhc,) = load_yaml_documents([find_binaries() / "cluster-api" / "crd" / MHC_CRD])
    mhc["spec"]["conversion"] = {"strategy": "None"}
    control_plane.install_crds([write_temp_yaml(mhc)])


MHC_CRD = "cluster.x-k8s.io_machinehealthchecks.yaml"


def write_temp_yaml(doc: Obj) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="elemental-capi-mhc-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "crd.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_machine_health_check_example_names_the_template_example(
    control_plane: ControlPlane, kube_namespace: str, machine_health_checks: None
) -> None:
    """The MachineHealthCheck example is valid for Cluster API v1beta2's own CRD, and its
    templateRef points at the ElementalRemediationTemplate example as kube-apiserver serves it."""
    path = EXAMPLES_DIR / "machinehealthcheck.yaml"
    (mhc,) = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert path.read_text().startswith("#")
    assert mhc["apiVersion"] == "cluster.x-k8s.io/v1beta2" and mhc["kind"] == "MachineHealthCheck"
    run_ok(
        control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalRemediationTemplate"))
    )

    applied = apply_file(control_plane, kube_namespace, path)

    assert applied.returncode == 0, applied.stderr
    assert applied.stderr == ""
    got = get_json(
        control_plane, kube_namespace, "machinehealthchecks.cluster.x-k8s.io", mhc["metadata"]["name"]
    )
    ref = got["spec"]["remediation"]["templateRef"]
    group, version = ref["apiVersion"].split("/")
    resource = f"{PLURALS[ref['kind']]}.{version}.{group}"
    template = get_json(control_plane, kube_namespace, resource, ref["name"])
    assert template["kind"] == "ElementalRemediationTemplate"
    conditions = got["spec"]["checks"]["unhealthyMachineConditions"]
    assert {"type": "HostReachable", "status": "False", "timeoutSeconds": 120} in conditions


def test_remediation_made_from_the_template_as_machine_health_check_does(
    control_plane: ControlPlane, kube_namespace: str, tmp_path: Path
) -> None:
    """Cluster API's external.GenerateTemplate: spec.template becomes the object (its metadata
    the object's labels and annotations, its spec the spec), kind without "Template", the
    Machine's name, the cluster-name label and the Machine as owner. Our CRDs keep all of it."""
    run_ok(
        control_plane, "apply", "-n", kube_namespace, "-f", str(example_path("ElementalRemediationTemplate"))
    )
    name = load_example("ElementalRemediationTemplate")["metadata"]["name"]
    template = get_json(control_plane, kube_namespace, "elementalremediationtemplates", name)
    machine: Obj = {
        "apiVersion": "cluster.x-k8s.io/v1beta2",
        "kind": "Machine",
        "metadata": {"name": "edge-cluster-md-0-6fd9c-x7k2p", "labels": {LABEL_CLUSTER: "edge-cluster"}},
        "spec": {
            "clusterName": "edge-cluster",
            "bootstrap": {"dataSecretName": "edge-cluster-md-0-6fd9c-x7k2p-bootstrap"},
            "infrastructureRef": {"apiGroup": GROUP, "kind": "ElementalMachine", "name": "m"},
        },
    }
    assert apply_doc(control_plane, kube_namespace, tmp_path, machine).returncode == 0
    uid = get_json(control_plane, kube_namespace, "machines.cluster.x-k8s.io", machine["metadata"]["name"])[
        "metadata"
    ]["uid"]
    clone: Obj = json.loads(json.dumps(template["spec"]["template"]))
    clone["metadata"]["labels"][LABEL_CLUSTER] = "edge-cluster"
    clone["metadata"]["annotations"] = {
        "cluster.x-k8s.io/cloned-from-name": name,
        "cluster.x-k8s.io/cloned-from-groupkind": f"ElementalRemediationTemplate.{GROUP}",
    }
    clone["metadata"] |= {
        "name": machine["metadata"]["name"],
        "ownerReferences": [
            {
                "apiVersion": "cluster.x-k8s.io/v1beta2",
                "kind": "Machine",
                "name": machine["metadata"]["name"],
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }
    clone |= {"apiVersion": API_VERSION, "kind": "ElementalRemediation"}

    created = apply_doc(control_plane, kube_namespace, tmp_path, clone)

    assert created.returncode == 0, created.stderr
    got = get_json(control_plane, kube_namespace, "elementalremediations", machine["metadata"]["name"])
    assert got["spec"] == template["spec"]["template"]["spec"]
    assert got["metadata"]["labels"] == {
        "elemental.example.com/remediation": "reboot",
        LABEL_CLUSTER: "edge-cluster",
    }
    assert got["metadata"]["annotations"]["cluster.x-k8s.io/cloned-from-name"] == name
    assert got["metadata"]["ownerReferences"][0]["uid"] == uid
