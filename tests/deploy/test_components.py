"""infrastructure-components.yaml on a real kube-apiserver: every object accepted; the RBAC
exactly as docs/RBAC.md says; and the API and the operator, each run with a token of its own
ServiceAccount, doing their work (registration, host check-ins, reconciliation) without one
refused request, while what they must not do is refused."""

from __future__ import annotations

import re
import secrets
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client import ApiException

from elemental_core.hosts import DEFAULT_HEARTBEAT_GRACE, DEFAULT_HEARTBEAT_INTERVAL
from elemental_core.records import Registration
from elemental_core.vocabulary import LABEL_INSTALLED, LABEL_NEEDS_RESET
from tests.controlplane import REPO_ROOT
from tests.deploy.rendering import documents
from tests.deploy.service_accounts import (
    API_DEPLOYMENT,
    OPERATOR_DEPLOYMENT,
    AuditedControlPlane,
    Components,
    ServiceAccountRun,
    apply_components,
    render_components,
    run_with_service_accounts,
    service_account_name,
    username,
)
from tests.helpers import HostIdentity, wait_for

G, V = "infrastructure.cluster.x-k8s.io", "v1beta1"
CAPI_G, CAPI_V = "cluster.x-k8s.io", "v1beta2"  # Cluster API's objects as v1.11+ stores them
RBAC_DOC = REPO_ROOT / "docs" / "RBAC.md"
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
# What the access reviews ask about: everything the rules name, and neighbours they must not reach.
ELEMENTAL = (
    "elementalclusters",
    "elementalclustertemplates",
    "elementalhosts",
    "elementalmachines",
    "elementalmachinetemplates",
    "elementalregistrations",
    "elementalremediations",
    "elementalremediationtemplates",
)
REVIEWED = [
    *[(G, r, sub) for r in ELEMENTAL for sub in ("", "status", "finalizers")],
    *[("cluster.x-k8s.io", r, sub) for r in ("clusters", "machines") for sub in ("", "status")],
    *[("", r, "") for r in ("secrets", "configmaps", "pods", "events", "serviceaccounts")],
    ("coordination.k8s.io", "leases", ""),
    ("rbac.authorization.k8s.io", "roles", ""),
]
LEASE = "elemental-operator-leader"
T = TypeVar("T")
Obj = dict[str, Any]


@pytest.fixture(scope="module")
def plane() -> Iterator[AuditedControlPlane]:
    control_plane = AuditedControlPlane()
    with control_plane:
        yield control_plane


@pytest.fixture(scope="module")
def components(
    plane: AuditedControlPlane, release_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Components:
    """The components with the defaults plus an endpoint, applied once."""
    out = tmp_path_factory.mktemp("components") / "infrastructure-components.yaml"
    rendered = render_components(release_dir, out, {"ELEMENTAL_API_ENDPOINT": "elemental.example.com"})
    apply_components(plane, rendered)
    return rendered


# -- every object ------------------------------------------------------------------------------


def test_every_object_is_accepted_and_stored(plane: AuditedControlPlane, components: Components) -> None:
    kinds = [o["kind"] for o in components.objects]
    for kind in (
        "Namespace",
        "CustomResourceDefinition",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
    ):
        assert kind in kinds
    for kind in ("Role", "RoleBinding", "ConfigMap", "Service", "Deployment", "Issuer", "Certificate"):
        assert kind in kinds
    assert kinds.count("CustomResourceDefinition") == 8
    assert kinds.count("Deployment") == 2
    listed = plane.kubectl("get", "-f", str(components.path), "-o", "name")
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.split()) == len(components.objects)
    # Applying again changes nothing: what was sent is what the server keeps.
    again = plane.kubectl("apply", "-f", str(components.path))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(" unchanged") == len(components.objects), again.stdout


def test_one_namespace_and_upstreams_names(components: Components) -> None:
    assert components.namespace == "elemental-system"
    namespaced = [o for o in components.objects if "namespace" in o["metadata"]]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"elemental-system"}
    for kind, name in [
        ("ServiceAccount", "elemental-controller-manager"),
        ("ClusterRole", "elemental-system-manager-role"),
        ("Role", "elemental-leader-election-role"),
        ("ConfigMap", "elemental-controller-manager-envs"),
        ("Service", "elemental-controller-manager"),
        ("Service", "elemental-controller-manager-metrics-service"),
        ("Deployment", "elemental-controller-manager"),
        ("Certificate", "elemental-api-ca"),
        ("Certificate", "elemental-api-ssl"),
        ("Issuer", "elemental-ca"),
        ("Issuer", "elemental-selfsigned"),
    ]:
        components.find(kind, name)
    for crd in (o for o in components.objects if o["kind"] == "CustomResourceDefinition"):
        # Cluster API finds the version of a provider's CRD for its contract by these labels
        # (v1.11+ the v1beta2 one, older releases the v1beta1 one).
        assert crd["metadata"]["labels"]["cluster.x-k8s.io/v1beta2"] == "v1beta1"
        assert crd["metadata"]["labels"]["cluster.x-k8s.io/v1beta1"] == "v1beta1"


def test_deployments_as_asked(components: Components) -> None:
    operator = components.find("Deployment", OPERATOR_DEPLOYMENT)["spec"]
    api = components.find("Deployment", API_DEPLOYMENT)["spec"]
    assert operator["replicas"] == 2 and api["replicas"] >= 2
    (op,) = operator["template"]["spec"]["containers"]
    (ap,) = api["template"]["spec"]["containers"]
    assert "--leader-elect" in op["args"]
    assert ap["args"] == ["serve", "--store", "kubernetes", "--host", "0.0.0.0", "--port", "9090"]
    assert ap["readinessProbe"]["exec"]["command"][-1] == "/readyz"
    assert ap["livenessProbe"]["exec"]["command"][-1] == "/healthz"
    assert op["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for pod in (operator["template"]["spec"], api["template"]["spec"]):
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == containerfile_user()
        (spec,) = pod["containers"]
        assert spec["securityContext"]["readOnlyRootFilesystem"] is True
        assert spec["envFrom"] == [{"configMapRef": {"name": "elemental-controller-manager-envs"}}]
        mounts = {m["name"]: m["mountPath"] for m in spec["volumeMounts"]}
        assert mounts["elemental-api-ssl"] == "/etc/elemental/ssl"
    # The ports agree: flags, container ports, probes, Services.
    op_ports = {p["name"]: p["containerPort"] for p in op["ports"]}
    ap_ports = {p["name"]: p["containerPort"] for p in ap["ports"]}
    (bind,) = [a for a in op["args"] if a.startswith("--health-bind-address=")]
    assert int(bind.rsplit(":", 1)[1]) == op_ports["health"]
    assert op["readinessProbe"]["httpGet"]["port"] == op["livenessProbe"]["httpGet"]["port"] == "health"
    assert int(ap["args"][ap["args"].index("--port") + 1]) == ap_ports["api"]
    for probe in ("readinessProbe", "livenessProbe"):
        command = ap[probe]["exec"]["command"]
        assert int(command[command.index("--port") + 1]) == ap_ports["api"]
    service = components.find("Service", "elemental-controller-manager")["spec"]
    assert service["ports"][0]["targetPort"] in ap_ports
    metrics_port = components.find("Service", "elemental-controller-manager-metrics-service")["spec"][
        "ports"
    ][0]
    assert metrics_port["targetPort"] in op_ports
    assert service["ports"][0]["port"] == 9090
    assert service["selector"] == api["selector"]["matchLabels"]
    metrics = components.find("Service", "elemental-controller-manager-metrics-service")["spec"]
    assert metrics["selector"] == operator["selector"]["matchLabels"]
    assert components.find("Certificate", "elemental-api-ssl")["spec"]["dnsNames"] == [
        "elemental.example.com"
    ]


def containerfile_user() -> int:
    """The numeric USER of the Containerfile's last stage."""
    users = re.findall(r"^USER\s+(\d+)(?::\d+)?\s*$", (REPO_ROOT / "Containerfile").read_text(), re.MULTILINE)
    assert users, "the Containerfile sets no numeric USER"
    return int(users[-1])


# -- RBAC: the manifests, the document, the API server's decisions -----------------------------

Grant = tuple[str, str, str, str, str]  # role, API group, resource, verb, resource name ("" any)


def documented_grants() -> set[Grant]:
    heading = re.compile(r"^### (?:Cluster)?Role `([^`]+)`")
    row = re.compile(
        r"^\| `([^`]*)`(?: \(core\))? \| `([a-z/]+)`(?: \(name `([^`]+)`\))? \| ((?:`[a-z]+`(?:, )?)+) \|"
    )
    grants: set[Grant] = set()
    role = None
    for line in RBAC_DOC.read_text().splitlines():
        if match := heading.match(line):
            role = match[1]
        elif (match := row.match(line)) and role:
            group = "" if match[1] == '""' else match[1]
            for verb in re.findall(r"`([a-z]+)`", match[4]):
                grants.add((role, group, match[2], verb, match[3] or ""))
    return grants


def manifest_grants(components: Components) -> set[Grant]:
    grants: set[Grant] = set()
    for role in (o for o in components.objects if o["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            grants.add((role["metadata"]["name"], group, resource, verb, name))
    return grants


def test_rbac_md_lists_exactly_the_rules_of_the_manifests(components: Components) -> None:
    documented, granted = documented_grants(), manifest_grants(components)
    assert granted, "no rules found"
    assert documented - granted == set(), "docs/RBAC.md lists rules the manifests do not grant"
    assert granted - documented == set(), "the manifests grant rules docs/RBAC.md does not explain"
    assert "*" not in {g[3] for g in granted} | {g[2] for g in granted}


def test_bindings_give_each_service_account_its_own_roles(components: Components) -> None:
    namespace = components.namespace
    bound: dict[str, set[str]] = {}
    for binding in (o for o in components.objects if o["kind"] in ("ClusterRoleBinding", "RoleBinding")):
        for subject in binding["subjects"]:
            assert subject["kind"] == "ServiceAccount" and subject["namespace"] == namespace
            bound.setdefault(subject["name"], set()).add(binding["roleRef"]["name"])
    assert bound == {
        service_account_name(components, API_DEPLOYMENT): {"elemental-system-api-role"},
        service_account_name(components, OPERATOR_DEPLOYMENT): {
            "elemental-system-manager-role",
            "elemental-leader-election-role",
        },
    }


def _allowed(
    authorization: k8s.AuthorizationV1Api,
    user: str,
    namespace_of_sa: str,
    group: str,
    resource: str,
    subresource: str,
    verb: str,
    namespace: str,
    name: str = "",
) -> bool:
    review = k8s.V1SubjectAccessReview(
        spec=k8s.V1SubjectAccessReviewSpec(
            user=user,
            groups=[
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace_of_sa}",
                "system:authenticated",
            ],
            resource_attributes=k8s.V1ResourceAttributes(
                group=group,
                resource=resource,
                subresource=subresource or None,
                verb=verb,
                namespace=namespace,
                name=name or None,
            ),
        )
    )
    status = authorization.create_subject_access_review(review).status
    return bool(status and status.allowed)


def test_the_api_server_grants_what_the_document_says_and_nothing_more(
    plane: AuditedControlPlane, components: Components
) -> None:
    """A SubjectAccessReview for each ServiceAccount x verb x resource (with subresources)."""
    namespace = components.namespace
    documented = documented_grants()
    roles = {
        API_DEPLOYMENT: ({"elemental-system-api-role"}, set()),
        OPERATOR_DEPLOYMENT: ({"elemental-system-manager-role"}, {"elemental-leader-election-role"}),
    }
    mismatches = []
    with plane.api_client() as api:
        authorization = k8s.AuthorizationV1Api(api)
        for deployment, (cluster_roles, namespaced_roles) in roles.items():
            sa = service_account_name(components, deployment)
            user = username(namespace, sa)
            for group, resource, subresource in REVIEWED:
                full = f"{resource}/{subresource}" if subresource else resource
                for verb in VERBS:
                    for where, name in (("tenant-a", ""), (namespace, ""), (namespace, LEASE)):
                        expected = any(
                            (role, group, full, verb, granted_name) in documented
                            for role in cluster_roles | (namespaced_roles if where == namespace else set())
                            for granted_name in ({"", name} if name else {""})
                        )
                        actual = _allowed(
                            authorization, user, namespace, group, resource, subresource, verb, where, name
                        )
                        if actual != expected:
                            mismatches.append((sa, verb, group, full, where, name, actual))
    assert not mismatches, "the API server decides otherwise than docs/RBAC.md:\n" + "\n".join(
        map(str, mismatches)
    )


CAPI_ROLE = "elemental-system-capi-manager-role"


def test_cluster_apis_manager_gets_the_remediation_kinds_through_aggregation(
    plane: AuditedControlPlane, components: Components
) -> None:
    """The ClusterRole Cluster API's manager aggregates (by its label) grants what
    docs/RBAC.md says on the Elemental kinds and nothing more: checked for a user bound to it
    alone (no kube-controller-manager aggregates roles here)."""
    role = components.find("ClusterRole", CAPI_ROLE)
    assert role["metadata"]["labels"]["cluster.x-k8s.io/aggregate-to-manager"] == "true"
    documented = {g for g in documented_grants() if g[0] == CAPI_ROLE}
    assert {(g[2], g[3]) for g in documented} >= {
        ("elementalremediationtemplates", "get"),
        ("elementalremediations", "create"),
        ("elementalremediations", "delete"),
    }
    user = f"capi-manager-{secrets.token_hex(4)}"
    binding = k8s.V1ClusterRoleBinding(
        metadata=k8s.V1ObjectMeta(name=user),
        role_ref=k8s.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=CAPI_ROLE),
        subjects=[k8s.RbacV1Subject(api_group="rbac.authorization.k8s.io", kind="User", name=user)],
    )
    with plane.api_client() as api:
        rbac, authorization = k8s.RbacAuthorizationV1Api(api), k8s.AuthorizationV1Api(api)
        rbac.create_cluster_role_binding(binding)
        try:

            def allowed(resource: str, subresource: str, verb: str) -> bool:
                return _allowed(authorization, user, "none", G, resource, subresource, verb, "tenant-a")

            wait_for(lambda: allowed("elementalremediations", "", "create"), what="the binding in force")
            mismatches = [
                (resource, subresource, verb)
                for resource in ELEMENTAL
                for subresource in ("", "status", "finalizers")
                for verb in VERBS
                if allowed(resource, subresource, verb)
                != (
                    (CAPI_ROLE, G, f"{resource}/{subresource}" if subresource else resource, verb, "")
                    in documented
                )
            ]
        finally:
            rbac.delete_cluster_role_binding(user)
    assert not mismatches, mismatches


# -- the programs, each with its own ServiceAccount --------------------------------------------


def _kube(kubeconfig: Path) -> k8s.ApiClient:
    api: k8s.ApiClient = k8s_config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    return api


def _status(call: Callable[[], object]) -> int:
    try:
        call()
    except ApiException as error:
        return int(error.status)
    return 200


def _condition(obj: Obj | None, kind: str) -> Obj | None:
    for condition in ((obj or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return dict(condition)
    return None


def test_service_accounts_run_the_provider(
    plane: AuditedControlPlane, release_dir: Path, tmp_path: Path
) -> None:
    with run_with_service_accounts(plane, release_dir, tmp_path / "run") as run:
        tenant = f"tenant-{secrets.token_hex(4)}"
        with plane.api_client() as admin_api:
            admin = k8s.CustomObjectsApi(admin_api)
            k8s.CoreV1Api(admin_api).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=tenant)))
            exercise_operator_reconcilers(run, admin, tenant)
            exercise_host_lifecycle(run, admin, tenant)

    check_no_request_was_refused(plane, run)
    check_forbidden_actions_are_refused(run, tenant)


def exercise_operator_reconcilers(run: ServiceAccountRun, admin: k8s.CustomObjectsApi, tenant: str) -> None:
    """The operator (its ServiceAccount) fills a registration in, marks an owned
    ElementalCluster ready and a machine without owner as such: status and spec patches,
    Secret creation, reads through its caches."""

    def create(
        group: str, plural: str, kind: str, name: str, spec: Obj, owners: list[Obj] | None = None
    ) -> Obj:
        version = CAPI_V if group == CAPI_G else V
        metadata: Obj = {"name": name, **({"ownerReferences": owners} if owners else {})}
        body = {"apiVersion": f"{group}/{version}", "kind": kind, "metadata": metadata, "spec": spec}
        return cast(Obj, admin.create_namespaced_custom_object(group, version, tenant, plural, body))

    create(G, "elementalregistrations", "ElementalRegistration", "reg", {})
    infrastructure = {"infrastructureRef": {"apiGroup": G, "kind": "ElementalCluster", "name": "c1"}}
    cluster = create(CAPI_G, "clusters", "Cluster", "c1", infrastructure)
    owner = {
        "apiVersion": f"{CAPI_G}/{CAPI_V}",
        "kind": "Cluster",
        "name": "c1",
        "uid": cluster["metadata"]["uid"],
    }
    endpoint = {"controlPlaneEndpoint": {"host": "10.0.0.9", "port": 6443}}
    create(G, "elementalclusters", "ElementalCluster", "c1", endpoint, owners=[owner])
    create(G, "elementalmachines", "ElementalMachine", "m1", {})

    def get(plural: str, name: str) -> Obj:
        obj = cast(Obj, admin.get_namespaced_custom_object(G, V, tenant, plural, name))
        return obj

    registration = wait_for(
        lambda: (r := get("elementalregistrations", "reg")) and _condition(r, "Ready") and r,
        30,
        "registration Ready",
    )
    reg = registration["spec"]["config"]["elemental"]["registration"]
    assert reg["uri"] == f"{run.api_url}/elemental/v1/namespaces/{tenant}/registrations/reg"
    assert reg["caCert"] == run.ca_path.read_text()  # ELEMENTAL_ENABLE_DEFAULT_CA
    assert reg["token"] and registration["spec"]["privateKeyRef"]["name"] == "reg"
    wait_for(
        lambda: (get("elementalclusters", "c1").get("status") or {}).get("ready"),
        30,
        "ElementalCluster ready",
    )
    wait_for(
        lambda: (
            (_condition(get("elementalmachines", "m1"), "AssociationReady") or {}).get("reason")
            == "MissingMachineOwner"
        ),
        30,
        "ElementalMachine condition",
    )


def exercise_host_lifecycle(run: ServiceAccountRun, admin: k8s.CustomObjectsApi, tenant: str) -> None:
    """An agent's calls to the API (its ServiceAccount) over TLS, trusting the CA the operator
    put into the registration: register, check in, bootstrap poll, removal and reset. Twice:
    one host removed through the API (which asks it to reset), one deleted as kubectl would
    (the operator asks it to reset: its own writes to the host and its status)."""
    obj = cast(Obj, admin.get_namespaced_custom_object(G, V, tenant, "elementalregistrations", "reg"))
    registration = Registration(namespace=tenant, name="reg", config=obj["spec"]["config"])
    trust = ssl.create_default_context(cadata=registration.config["elemental"]["registration"]["caCert"])
    with httpx.Client(base_url=run.api_url, verify=trust, timeout=30) as agent:
        for name, through_the_api in (("host-1", True), ("host-2", False)):
            host = HostIdentity(registration, name)
            install_and_remove(agent, admin, tenant, host, registration, through_the_api)


def install_and_remove(
    agent: httpx.Client,
    admin: k8s.CustomObjectsApi,
    tenant: str,
    host: HostIdentity,
    registration: Registration,
    through_the_api: bool,
) -> None:
    def get_host() -> Obj | None:
        try:
            found = cast(Obj, admin.get_namespaced_custom_object(G, V, tenant, "elementalhosts", host.name))
        except ApiException as error:
            if error.status == 404:
                return None
            raise
        return found

    reg_path = host.hosts_path.rsplit("/hosts", 1)[0]
    got = agent.get(reg_path, headers={"Registration-Authorization": f"Bearer {registration.token}"})
    assert got.status_code == 200, got.text
    created = agent.post(host.hosts_path, json=host.create_body(), headers=host.create_headers())
    assert created.status_code == 201, created.text
    patched = agent.patch(host.path, json={"installed": True, "phase": "Running"}, headers=host.auth())
    assert patched.status_code == 200, patched.text
    # Its conditions follow the agent's labels (the API writes them with the label).
    installed = wait_for(
        lambda: (
            (h := get_host()) and (_condition(h, "InstallationReady") or {}).get("status") == "True" and h
        ),
        30,
        "the host's InstallationReady condition",
    )
    assert installed["metadata"]["labels"][LABEL_INSTALLED] == "true"
    assert installed["status"]["phase"] == "Running"
    assert agent.get(f"{host.path}/bootstrap", headers=host.auth()).status_code == 404
    if through_the_api:
        assert agent.delete(host.path, headers=host.auth()).status_code == 202
    else:
        admin.delete_namespaced_custom_object(G, V, tenant, "elementalhosts", host.name)
    deleting = wait_for(
        lambda: (
            (h := get_host())
            and h["metadata"].get("deletionTimestamp")
            and (_condition(h, "ResetReady") or {}).get("status") == "False"
            and h
        ),
        30,
        "deletion, and the host asked to reset",
    )
    assert deleting["metadata"]["labels"][LABEL_NEEDS_RESET] == "true"
    reset = agent.patch(host.path, json={"reset": True}, headers=host.auth())
    assert reset.status_code == 200, reset.text
    wait_for(lambda: get_host() is None, 30, "the reset host to go away")


def check_no_request_was_refused(plane: AuditedControlPlane, run: ServiceAccountRun) -> None:
    """The audit log: every request of either ServiceAccount succeeded (no 401/403), and the
    writes the rules are for did happen (so the check is not empty)."""
    for user, must_use in (
        (
            run.api_username,
            {
                ("list", "elementalregistrations"), ("watch", "elementalhosts"), ("get", "secrets"),
                ("create", "elementalhosts"), ("patch", "elementalhosts"), ("patch", "elementalhosts/status"),
                ("delete", "elementalhosts"),
            },
        ),
        (
            run.operator_username,
            {
                ("watch", "machines"), ("create", "secrets"), ("get", "secrets"),
                ("patch", "elementalregistrations"), ("patch", "elementalregistrations/status"),
                ("patch", "elementalhosts"), ("patch", "elementalhosts/status"),
                ("patch", "elementalclusters/status"), ("patch", "elementalmachines/status"),
                ("create", "leases"), ("get", "leases"), ("update", "leases"),
            },
        ),
    ):  # fmt: skip
        events = plane.audit_events(user)
        refused = [
            (e["verb"], e.get("objectRef"), e["responseStatus"].get("code"))
            for e in events
            if e["responseStatus"].get("code") in (401, 403)
        ]
        assert not refused, f"{user} was refused:\n" + "\n".join(map(str, refused))
        used = set()
        for event in events:
            ref = event.get("objectRef") or {}
            resource = ref.get("resource", "")
            used.add(
                (event["verb"], f"{resource}/{ref['subresource']}" if ref.get("subresource") else resource)
            )
        assert must_use <= used, f"{user} never did {sorted(must_use - used)}"


def check_forbidden_actions_are_refused(run: ServiceAccountRun, tenant: str) -> None:
    with _kube(run.api_kubeconfig) as api:
        core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
        secret = k8s.V1Secret(metadata=k8s.V1ObjectMeta(name="stolen"), string_data={"a": "b"})
        assert _status(core.list_node) == 403
        assert _status(lambda: core.list_namespaced_secret(tenant)) == 403
        assert _status(lambda: core.create_namespaced_secret(tenant, secret)) == 403
        assert (
            _status(
                lambda: custom.delete_namespaced_custom_object(G, V, tenant, "elementalregistrations", "reg")
            )
            == 403
        )
        assert _status(lambda: custom.list_cluster_custom_object(G, V, "elementalmachines")) == 403
        # Allowed, as a control: the same client can read what it needs.
        assert _status(lambda: custom.list_cluster_custom_object(G, V, "elementalhosts")) == 200
    with _kube(run.operator_kubeconfig) as api:
        core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
        coordination = k8s.CoordinationV1Api(api)
        lease = k8s.V1Lease(metadata=k8s.V1ObjectMeta(name="x"), spec=k8s.V1LeaseSpec(holder_identity="x"))
        assert _status(lambda: core.list_namespaced_secret(tenant)) == 403
        assert (
            _status(
                lambda: custom.delete_namespaced_custom_object(G, V, tenant, "elementalregistrations", "reg")
            )
            == 403
        )
        assert _status(lambda: coordination.create_namespaced_lease(tenant, lease)) == 403
        assert _status(lambda: coordination.read_namespaced_lease("someone-elses", run.namespace)) == 403
        assert _status(lambda: custom.list_cluster_custom_object(G, V, "elementalregistrations")) == 200


def test_components_render_with_upstreams_defaults(release_dir: Path, tmp_path: Path) -> None:
    """Only ELEMENTAL_API_ENDPOINT given: the ConfigMap holds upstream's defaults (and the
    heartbeat settings' own, the programs' defaults), as strings."""
    rendered = render_components(release_dir, tmp_path / "c.yaml", {"ELEMENTAL_API_ENDPOINT": "api.example"})
    data = rendered.find("ConfigMap", "elemental-controller-manager-envs")["data"]
    assert data == {
        "ELEMENTAL_API_ENABLE_TLS": "false",
        "ELEMENTAL_API_ENDPOINT": "api.example",
        "ELEMENTAL_API_PROTOCOL": "https",
        "ELEMENTAL_API_TLS_CA": "/etc/elemental/ssl/ca.crt",
        "ELEMENTAL_API_TLS_CERTIFICATE": "/etc/elemental/ssl/tls.crt",
        "ELEMENTAL_API_TLS_PRIVATE_KEY": "/etc/elemental/ssl/tls.key",
        "ELEMENTAL_ENABLE_DEBUG": "false",
        "ELEMENTAL_ENABLE_DEFAULT_CA": "false",
        "ELEMENTAL_HEARTBEAT_INTERVAL": str(int(DEFAULT_HEARTBEAT_INTERVAL)),
        "ELEMENTAL_HEARTBEAT_GRACE": str(int(DEFAULT_HEARTBEAT_GRACE)),
    }
    # Upstream's way to pass a boolean: with its quotes.
    quoted = render_components(
        release_dir,
        tmp_path / "q.yaml",
        {"ELEMENTAL_API_ENDPOINT": "a", "ELEMENTAL_API_ENABLE_TLS": '"true"'},
    )
    assert (
        quoted.find("ConfigMap", "elemental-controller-manager-envs")["data"]["ELEMENTAL_API_ENABLE_TLS"]
        == "true"
    )
    assert documents(rendered.path.read_text()) == rendered.objects


def test_service_accounts_run_the_whole_scenario(
    plane: AuditedControlPlane, release_dir: Path, tmp_path: Path
) -> None:
    """The end-to-end scenario of tests/e2e, with the API and the operator running under the
    manifests' ServiceAccounts (TLS on, default CA on) instead of an admin credential."""
    from tests.controlplane import ControlPlane
    from tests.e2e.scenario import Scenario
    from tests.e2e.test_capi_lifecycle import run as run_scenario

    with (
        ControlPlane() as workload_cluster,
        run_with_service_accounts(plane, release_dir, tmp_path / "run") as run,
        plane.api_client() as admin,
    ):
        namespace = f"e2e-{secrets.token_hex(4)}"
        k8s.CoreV1Api(admin).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=namespace)))
        scenario = Scenario(
            admin=admin, namespace=namespace, downstream=workload_cluster, workdir=tmp_path / "hosts"
        )
        try:
            run_scenario(scenario, workload_cluster)
            registration = scenario.elemental("elementalregistrations", "edge-hosts")
            assert registration is not None
            uri = registration["spec"]["config"]["elemental"]["registration"]["uri"]
            assert uri.startswith(run.api_url) and uri.startswith("https://")
            assert registration["spec"]["config"]["elemental"]["registration"]["caCert"]
        finally:
            scenario.stop_all()
