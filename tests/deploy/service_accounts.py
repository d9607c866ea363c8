"""The released components, applied to a test control plane and run as their Deployments say,
each program with a token of its own ServiceAccount: `run_with_service_accounts`.

No kubelet runs here, so the test plays its part: it reads each Deployment's container
(command, args, env, envFrom, probes), runs the same program from this checkout with loopback
addresses instead of the pod's, and gives it a kubeconfig holding a token that the
TokenRequest API issued for the Deployment's ServiceAccount. The API's serving certificate is
written the way cert-manager's Secret reaches the pod (tests/deploy/pki.py).
"""

from __future__ import annotations

import base64
import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.controlplane import ControlPlane, free_port
from tests.deploy.pki import SecretVolume, issue, make_ca, secret_files
from tests.deploy.processes import Process, clean_env, script
from tests.deploy.rendering import documents, envsubst
from tests.kube_fixtures import capi_crd_files

CERT_MANAGER_CRDS = Path(__file__).resolve().parent / "crds" / "cert-manager.yaml"
API_DEPLOYMENT = "elemental-api"
OPERATOR_DEPLOYMENT = "elemental-controller-manager"
PROGRAMS = ("elemental-api", "elemental-operator", "elemental-agent")
Obj = dict[str, Any]


class AuditedControlPlane(ControlPlane):
    """A ControlPlane whose kube-apiserver also writes an audit log of ServiceAccount requests,
    and enforces owner-reference permissions (OwnerReferencesPermissionEnforcement, on in
    OpenShift and hardened clusters), so that least privilege is checked where it is strict.

    Its CRDs: Cluster API's Cluster and Machine and cert-manager's (both installed before a provider,
    as clusterctl does); the Elemental CRDs come with the components."""

    def __init__(self) -> None:
        super().__init__(crd_paths=[*capi_crd_files(), CERT_MANAGER_CRDS])
        self.audit_log = self.workdir / "audit.log"
        self.audit_policy = self.workdir / "audit-policy.yaml"
        policy = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived"],
            "rules": [
                {"level": "Metadata", "userGroups": ["system:serviceaccounts"]},
                {"level": "None"},
            ],
        }
        self.audit_policy.write_text(yaml.safe_dump(policy))

    def _apiserver_args(self) -> list[str]:
        return [
            *super()._apiserver_args(),
            f"--audit-policy-file={self.audit_policy}",
            f"--audit-log-path={self.audit_log}",
            "--audit-log-mode=blocking",
            "--enable-admission-plugins=OwnerReferencesPermissionEnforcement",
        ]

    def audit_events(self, username: str) -> list[Obj]:
        """Completed requests of that user, in order."""
        events = []
        for line in self.audit_log.read_text().splitlines():
            event = json.loads(line)
            if event["user"].get("username") == username and event["stage"] == "ResponseComplete":
                events.append(event)
        return events


# -- rendering and applying -------------------------------------------------------------------


@dataclass
class Components:
    path: Path  # the rendered infrastructure-components.yaml
    objects: list[Obj]
    variables: dict[str, str]

    def find(self, kind: str, name: str) -> Obj:
        matches = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{kind} {name}: {len(matches)} in the components"
        return matches[0]

    @property
    def namespace(self) -> str:
        names: list[str] = [o["metadata"]["name"] for o in self.objects if o["kind"] == "Namespace"]
        (namespace,) = names
        return namespace


def render_components(release_dir: Path, out: Path, variables: Mapping[str, str]) -> Components:
    """infrastructure-components.yaml with the variables filled in, as `clusterctl init` does."""
    text = envsubst((release_dir / "infrastructure-components.yaml").read_text(), variables)
    out.write_text(text)
    return Components(out, documents(text), dict(variables))


def apply_components(control_plane: ControlPlane, components: Components) -> str:
    """`kubectl apply` of every object, then waits for the CRDs; kubectl's output."""
    result = control_plane.kubectl("apply", "-f", str(components.path))
    assert result.returncode == 0, f"kubectl apply failed:\n{result.stderr}"
    crds = [
        f"crd/{o['metadata']['name']}" for o in components.objects if o["kind"] == "CustomResourceDefinition"
    ]
    waited = control_plane.kubectl("wait", "--for=condition=Established", "--timeout=30s", *crds)
    assert waited.returncode == 0, waited.stderr
    return result.stdout


# -- ServiceAccount credentials ---------------------------------------------------------------


def service_account_kubeconfig(
    control_plane: ControlPlane, namespace: str, service_account: str, path: Path
) -> Path:
    """A kubeconfig with a token the TokenRequest API issued for the ServiceAccount."""
    created = control_plane.kubectl("create", "token", service_account, "-n", namespace, "--duration=2h")
    assert created.returncode == 0, f"TokenRequest for {namespace}/{service_account}: {created.stderr}"
    user = f"system:serviceaccount:{namespace}:{service_account}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "test",
                "cluster": {
                    "server": control_plane.server_url,
                    "certificate-authority-data": base64.b64encode(
                        control_plane.ca_path.read_bytes()
                    ).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": created.stdout.strip()}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def service_account_name(components: Components, deployment: str) -> str:
    name: str = components.find("Deployment", deployment)["spec"]["template"]["spec"]["serviceAccountName"]
    return name


def username(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


# -- containers as local processes ------------------------------------------------------------


@dataclass
class Container:
    """A Deployment's container, with the pod's addresses swapped for loopback ones."""

    name: str
    argv: list[str]
    env: dict[str, str]
    spec: Obj = field(repr=False)

    def probe_argv(self, probe: str, replacements: Mapping[str, str]) -> list[str]:
        return localize(self.spec[probe]["exec"]["command"], replacements)


def container(components: Components, deployment: str, replacements: Mapping[str, str]) -> Container:
    """The (only) container of the Deployment: argv and environment as the kubelet would give
    them, with each `--flag VALUE`/`--flag=VALUE` of `replacements` set to the given value."""
    pod = components.find("Deployment", deployment)["spec"]["template"]["spec"]
    (spec,) = pod["containers"]
    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        config_map = components.find("ConfigMap", source["configMapRef"]["name"])
        env.update({k: str(v) for k, v in config_map["data"].items()})
    for variable in spec.get("env", []):
        if "value" in variable:
            env[variable["name"]] = variable["value"]
        else:
            field_path = variable["valueFrom"]["fieldRef"]["fieldPath"]
            assert field_path == "metadata.namespace", f"{variable['name']}: {field_path} is not played here"
            env[variable["name"]] = components.namespace
    return Container(
        spec["name"], localize([*spec["command"], *spec.get("args", [])], replacements), env, spec
    )


def localize(argv: Sequence[str], replacements: Mapping[str, str]) -> list[str]:
    """The image's programs from this checkout; flags' values replaced."""
    out: list[str] = []
    pending: str | None = None
    for arg in argv:
        if pending is not None:
            out.append(replacements[pending])
            pending = None
            continue
        flag, sep, _value = arg.partition("=")
        if flag in replacements:
            if sep:
                out.append(f"{flag}={replacements[flag]}")
            else:
                out.append(arg)
                pending = flag
            continue
        if not out and arg in PROGRAMS:
            out.append(script(arg))
        elif not out and arg == "python":
            out.append(sys.executable)
        else:
            out.append(arg)
    assert pending is None, f"{pending} without a value"
    return out


# -- the run ----------------------------------------------------------------------------------


@dataclass
class ServiceAccountRun:
    """What `run_with_service_accounts` started; the processes stop when it ends."""

    namespace: str  # the provider's namespace (elemental-system)
    api_kubeconfig: Path  # token of the API's ServiceAccount
    operator_kubeconfig: Path  # token of the operator's ServiceAccount
    api_username: str
    operator_username: str
    api_url: str  # ELEMENTAL_API_PROTOCOL://ELEMENTAL_API_ENDPOINT, what registrations point at
    ca_path: Path  # the CA of the API's serving certificate (the Secret's ca.crt)
    components: Components
    api: Process
    operators: list[Process]
    operator_health_ports: list[int]

    def operator_get(self, index: int, path: str) -> int:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.operator_health_ports[index]}{path}", timeout=2)
        except httpx.TransportError:
            return 0
        return response.status_code


@contextlib.contextmanager
def run_with_service_accounts(
    control_plane: ControlPlane,
    release_dir: Path,
    workdir: Path,
    *,
    operator_replicas: int | None = None,
    variables: Mapping[str, str] | None = None,
) -> Iterator[ServiceAccountRun]:
    """Renders and applies the components (TLS on, default CA on), then runs the API and the
    operator as their Deployments say, each with a token of its own ServiceAccount, until the
    block ends; they are ready when it starts. `operator_replicas` defaults to the Deployment's.

    The API listens on https://localhost:PORT, which is also ELEMENTAL_API_ENDPOINT, so new
    registrations point at it and carry the CA (`ca_path`) their agents must trust.
    `api_kubeconfig` and `operator_kubeconfig` are the two ServiceAccounts' credentials."""
    workdir.mkdir(parents=True, exist_ok=True)
    api_port = free_port()
    ca = make_ca()
    volume = SecretVolume(workdir / "elemental-api-ssl")
    volume.write(secret_files(ca, issue(ca, ("localhost",), ("127.0.0.1",))))
    chosen = {
        "ELEMENTAL_API_ENDPOINT": f"localhost:{api_port}",
        "ELEMENTAL_API_ENABLE_TLS": '"true"',
        "ELEMENTAL_ENABLE_DEFAULT_CA": '"true"',
        "ELEMENTAL_API_TLS_CA": str(volume.path("ca.crt")),
        "ELEMENTAL_API_TLS_CERTIFICATE": str(volume.path("tls.crt")),
        "ELEMENTAL_API_TLS_PRIVATE_KEY": str(volume.path("tls.key")),
        **(variables or {}),
    }
    components = render_components(release_dir, workdir / "infrastructure-components.yaml", chosen)
    apply_components(control_plane, components)
    namespace = components.namespace
    api_sa = service_account_name(components, API_DEPLOYMENT)
    operator_sa = service_account_name(components, OPERATOR_DEPLOYMENT)
    api_kubeconfig = service_account_kubeconfig(control_plane, namespace, api_sa, workdir / "api.kubeconfig")
    operator_kubeconfig = service_account_kubeconfig(
        control_plane, namespace, operator_sa, workdir / "operator.kubeconfig"
    )

    started: list[Process] = []
    try:
        api_replacements = {"--host": "127.0.0.1", "--port": str(api_port)}
        api_container = container(components, API_DEPLOYMENT, api_replacements)
        api_env = clean_env({**api_container.env, "KUBECONFIG": str(api_kubeconfig)})
        api = Process("elemental-api", api_container.argv, api_env, workdir / "api.log")
        started.append(api)

        deployment = components.find("Deployment", OPERATOR_DEPLOYMENT)
        replicas = operator_replicas if operator_replicas is not None else deployment["spec"]["replicas"]
        operators, health_ports = [], []
        for index in range(replicas):
            port = free_port()
            operator_container = container(
                components, OPERATOR_DEPLOYMENT, {"--health-bind-address": f"127.0.0.1:{port}"}
            )
            env = clean_env({**operator_container.env, "KUBECONFIG": str(operator_kubeconfig)})
            log = workdir / f"operator-{index}.log"
            operators.append(Process(f"elemental-operator-{index}", operator_container.argv, env, log))
            health_ports.append(port)
        started += operators

        run = ServiceAccountRun(
            namespace=namespace,
            api_kubeconfig=api_kubeconfig,
            operator_kubeconfig=operator_kubeconfig,
            api_username=username(namespace, api_sa),
            operator_username=username(namespace, operator_sa),
            api_url=f"https://localhost:{api_port}",
            ca_path=volume.path("ca.crt"),
            components=components,
            api=api,
            operators=operators,
            operator_health_ports=health_ports,
        )
        _wait_ready(run, api_container, api_env, api_replacements)
        yield run
        for process in started:
            assert process.stop() == 0, f"{process.name} did not stop cleanly:\n{process.log()}"
    finally:
        for process in started:
            process.stop(grace=5)


def _wait_ready(
    run: ServiceAccountRun, api_container: Container, api_env: dict[str, str], replacements: Mapping[str, str]
) -> None:
    """As the kubelet's probes would see it: the API's exec probes pass, every operator
    replica's httpGet probes pass, and one replica leads (its /readyz)."""

    def passes(probe: str) -> bool:
        argv = api_container.probe_argv(probe, replacements)
        result = subprocess.run(argv, check=False, env=api_env, capture_output=True, timeout=30)
        return result.returncode == 0

    run.api.wait_for(lambda: passes("readinessProbe"), 60, "a passing readiness probe")
    run.api.wait_for(lambda: passes("livenessProbe"), 10, "a passing liveness probe")
    deployment = run.components.find("Deployment", OPERATOR_DEPLOYMENT)
    (spec,) = deployment["spec"]["template"]["spec"]["containers"]
    for index, process in enumerate(run.operators):
        for probe in ("readinessProbe", "livenessProbe"):
            path: str = spec[probe]["httpGet"]["path"]

            def answers(index: int = index, path: str = path) -> bool:
                return run.operator_get(index, path) == 200

            process.wait_for(answers, 60, f"200 on {path}")

    def leading() -> bool:
        return any(run.operator_get(i, "/readyz") == 200 for i in range(len(run.operators)))

    run.operators[0].wait_for(leading, 60, "a leading operator replica")
