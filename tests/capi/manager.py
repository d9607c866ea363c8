"""Cluster API's core manager and kube-controller-manager over a test ControlPlane.

Both run as subprocesses against the control plane's kube-apiserver, every listener on
127.0.0.1, from the binaries and manifests that scripts/envtest builds from the pinned
releases (the folder ControlPlane.binaries):

- ``ClusterAPIManager`` installs that release's CRDs with their conversion webhook pointed at
  the manager's webhook server on loopback (serving certificate from a CA made here, as
  cert-manager would), starts the manager, waits until it is ready, then installs the
  release's mutating and validating webhook configurations, likewise pointed at loopback.
- ``KubeControllerManager`` runs only the controllers asked for: the garbage collector by
  default, which deletes objects whose owners are gone (CAPI relies on it).

Usage::

    with ControlPlane() as cp, ClusterAPIManager(cp) as capi, KubeControllerManager(cp):
        ...  # create cluster.x-k8s.io/v1beta2 objects; capi.log_path has the manager's log
"""

from __future__ import annotations

import atexit
import base64
import ipaddress
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import yaml
from kubernetes import client as k8s
from kubernetes.client import ApiException

from tests.controlplane import (
    LOOPBACK,
    ControlPlane,
    ControlPlaneError,
    free_port,
    load_yaml_documents,
    log_tail,
    stop_process,
)
from tests.deploy.pki import issue, make_ca

MANAGER_BINARY = "cluster-api-manager"
CONTROLLER_MANAGER_BINARY = "kube-controller-manager"
CAPI_FOLDER = "cluster-api"
# ClusterClass (managed topologies) is alpha and off by default; MachinePool is on already.
DEFAULT_FEATURE_GATES: Mapping[str, bool] = {"ClusterTopology": True, "MachinePool": True}
# CAPI's manager takes no webhook bind host; scripts/envtest's build reads it from here.
WEBHOOK_HOST_ENV = "CAPI_WEBHOOK_HOST"
# kustomize's namePrefix in CAPI's config/default.
NAME_PREFIX = "capi-"
CLUSTERCTL_LABELS = {"clusterctl.cluster.x-k8s.io": "", "cluster.x-k8s.io/provider": "cluster-api"}
# Log lines that mean the API server and a webhook server did not get along: TLS failures at
# any level (Go's http.Server logs handshake errors unprefixed), and klog errors and warnings
# about webhooks or certificates.
WEBHOOK_TROUBLE = re.compile(
    r"(?i:TLS handshake error|x509:|bad certificate|unknown authority|failed calling webhook)"
    r"|^[EW]\d{4} .*(?i:webhook|conversion|tls|certificate)"
)


class HarnessError(ControlPlaneError):
    """A CAPI test component could not be started or used."""


def cluster_api_folder(binaries: Path) -> Path:
    """The release's manifests beside the binaries: crd/*.yaml, webhook/manifests.yaml."""
    return binaries / CAPI_FOLDER


def require(binaries: Path, *names: str) -> None:
    """Fail, naming them, if scripts/envtest's folder lacks any of these files."""
    missing = [name for name in names if not (binaries / name).exists()]
    if missing:
        raise HarnessError(
            f"{binaries} has no {', '.join(missing)} (scripts/envtest builds them; a "
            "$KUBEBUILDER_ASSETS folder must hold them too, or leave it unset)"
        )


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that process `pid` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: TCP_LISTEN
                continue
            address, port = local.split(":")
            found.add((_proc_address(address, width), int(port, 16)))
    return found


def _proc_address(hex_address: str, width: int) -> str:
    """/proc/net/tcp{,6} addresses: 32-bit words in host (little-endian) byte order."""
    raw = b"".join(bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, width, 8))
    if width == 8:
        return ".".join(str(b) for b in raw)
    return str(ipaddress.IPv6Address(raw))


class _Component:
    """A subprocess over the control plane, with its own folder, log and certificates."""

    name = "component"

    def __init__(self, control_plane: ControlPlane, startup_timeout: float) -> None:
        self.control_plane = control_plane
        self.startup_timeout = startup_timeout
        self.workdir = Path(tempfile.mkdtemp(prefix=f"elemental-{self.name}-"))
        self.log_path = self.workdir / f"{self.name}.log"
        self.ca = make_ca(f"elemental-test-{self.name}-ca")
        self.serving = issue(self.ca, dns_names=("localhost",), ips=(LOOPBACK,))
        self.cert_dir = self.workdir / "certs"
        self.cert_dir.mkdir()
        (self.cert_dir / "tls.crt").write_bytes(self.serving.cert_pem)
        (self.cert_dir / "tls.key").write_bytes(self.serving.key_pem)
        (self.cert_dir / "ca.crt").write_bytes(self.ca.cert_pem)
        self._process: subprocess.Popen[bytes] | None = None
        self._closed = False
        atexit.register(self.close)

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        raise NotImplementedError

    @property
    def pid(self) -> int:
        if self._process is None:
            raise HarnessError(f"{self.name} is not running")
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """SIGTERM (the managers shut down cleanly), SIGKILL after 15s."""
        stop_process(self._process, grace=15.0)

    def close(self) -> None:
        """Stop the process and delete its folder (log included)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_lines(self, pattern: re.Pattern[str]) -> list[str]:
        """The log's lines that match."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return [line for line in text.splitlines() if pattern.search(line)]

    def _spawn(self, binary: Path, args: Sequence[str], env: Mapping[str, str] = {}) -> None:
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [str(binary), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env={**os.environ, **env},
            )

    def _wait_healthy(self, url: str, verify: ssl.SSLContext | bool) -> None:
        """Poll `url` until it answers 200; raise with the log's tail if it never does."""
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        with httpx.Client(verify=verify, timeout=2.0) as http:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise self._failure(f"{self.name} exited with code {self._process.returncode}")
                try:
                    response = http.get(url)
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[-2000:]}"
                time.sleep(0.1)
        raise self._failure(f"{self.name} not ready after {self.startup_timeout}s (last: {last})")

    def _wait_log(self, pattern: re.Pattern[str], what: str) -> None:
        """Poll the log until a line matches; raise with the log's tail if none does."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise self._failure(f"{self.name} exited with code {self._process.returncode}")
            if self.log_lines(pattern):
                return
            time.sleep(0.1)
        raise self._failure(f"{self.name}: no sign of {what} after {self.startup_timeout}s")

    def _failure(self, message: str) -> HarnessError:
        return HarnessError(f"{message}\n{log_tail(self.log_path)}")


GC_CONTROLLER = "garbage-collector-controller"
GC_SYNCED = re.compile(r"Garbage collector: all resource monitors have synced")


class KubeControllerManager(_Component):
    """kube-controller-manager with only `controllers` (the garbage collector by default).

    Start it after the CRDs whose objects it should collect: its garbage collector watches
    the resource types it discovers at startup and looks for new ones only every 30s.
    start() returns once the collector's monitors have synced.
    """

    name = "kube-controller-manager"

    def __init__(
        self,
        control_plane: ControlPlane,
        controllers: Iterable[str] = (GC_CONTROLLER,),
        startup_timeout: float = 60.0,
    ) -> None:
        require(control_plane.binaries, CONTROLLER_MANAGER_BINARY)
        super().__init__(control_plane, startup_timeout)
        self.controllers = list(controllers)
        self.port = free_port()

    def start(self) -> None:
        if self._closed:
            raise HarnessError(f"{self.name} was closed")
        if self.running:
            return
        kubeconfig = self.control_plane.kubeconfig_path
        args = [
            f"--kubeconfig={kubeconfig}",
            # The admin may create token and access reviews: delegated authn/authz work.
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            # kube-apiserver has no client CA or front proxy to publish in kube-system.
            "--authentication-skip-lookup",
            f"--controllers={','.join(self.controllers)}",
            "--leader-elect=false",
            "--use-service-account-credentials=false",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={self.port}",
            f"--tls-cert-file={self.cert_dir / 'tls.crt'}",
            f"--tls-private-key-file={self.cert_dir / 'tls.key'}",
        ]
        self._spawn(self.control_plane.binaries / CONTROLLER_MANAGER_BINARY, args)
        context = ssl.create_default_context(cafile=str(self.cert_dir / "ca.crt"))
        self._wait_healthy(f"https://{LOOPBACK}:{self.port}/healthz", context)
        if GC_CONTROLLER in self.controllers:
            self._wait_log(GC_SYNCED, "the garbage collector's monitors to sync")


class ClusterAPIManager(_Component):
    """CAPI's core manager (all its controllers and webhooks), leader election off."""

    name = "cluster-api-manager"

    def __init__(
        self,
        control_plane: ControlPlane,
        feature_gates: Mapping[str, bool] = DEFAULT_FEATURE_GATES,
        extra_args: Sequence[str] = (),
        startup_timeout: float = 120.0,
    ) -> None:
        binaries = control_plane.binaries
        require(binaries, MANAGER_BINARY, f"{CAPI_FOLDER}/crd", f"{CAPI_FOLDER}/webhook")
        super().__init__(control_plane, startup_timeout)
        self.manifests = cluster_api_folder(binaries)
        self.feature_gates = dict(feature_gates)
        self.extra_args = list(extra_args)
        self.webhook_port = free_port()
        self.health_port = free_port()
        self.diagnostics_port = free_port()
        self.webhook_url = f"https://{LOOPBACK}:{self.webhook_port}"
        self.crd_names: list[str] = []
        self._webhook_configurations: list[tuple[str, str]] = []  # (kind, name)

    @property
    def version(self) -> str:
        """The CAPI release the binaries and manifests come from."""
        return (self.manifests / "VERSION").read_text().strip()

    @property
    def ca_bundle(self) -> str:
        """The webhook server's CA, as clientConfig.caBundle wants it (base64 PEM)."""
        return base64.b64encode(self.ca.cert_pem).decode()

    def start(self) -> None:
        """Install the CRDs, start the manager, wait for /readyz, install the webhooks."""
        if self._closed:
            raise HarnessError(f"{self.name} was closed")
        if self.running:
            return
        crds = self.workdir / "crds.yaml"
        crds.write_text(yaml.safe_dump_all(webhook_crds(self.manifests, self.webhook_url, self.ca_bundle)))
        self.crd_names = self.control_plane.install_crds([crds])
        self._spawn(
            self.control_plane.binaries / MANAGER_BINARY,
            self.args(),
            env={WEBHOOK_HOST_ENV: LOOPBACK},
        )
        # /readyz includes the webhook server's started check.
        self._wait_healthy(f"http://{LOOPBACK}:{self.health_port}/readyz", verify=False)
        # Installed once the server answers: with failurePolicy Fail they would block writes.
        self._install_webhook_configurations()

    def args(self) -> list[str]:
        gates = ",".join(f"{k}={str(v).lower()}" for k, v in sorted(self.feature_gates.items()))
        return [
            f"--kubeconfig={self.control_plane.kubeconfig_path}",
            "--leader-elect=false",
            f"--health-addr={LOOPBACK}:{self.health_port}",
            # Plain-HTTP metrics without authn (and without the pprof handlers of the TLS one).
            f"--diagnostics-address={LOOPBACK}:{self.diagnostics_port}",
            "--insecure-diagnostics",
            f"--webhook-port={self.webhook_port}",
            f"--webhook-cert-dir={self.cert_dir}",
            f"--feature-gates={gates}",
            *self.extra_args,
        ]

    def close(self) -> None:
        """Remove the webhook configurations (they would block writes), stop, clean up.

        The CRDs stay, their conversion webhook pointing at the stopped server: reads in
        other than the storage version fail from then on.
        """
        if not self._closed and self.control_plane.running:
            self._delete_webhook_configurations()
        super().close()

    def webhook_errors(self) -> list[str]:
        """Lines of the manager's log that tell of TLS or webhook trouble."""
        return self.log_lines(WEBHOOK_TROUBLE)

    def _install_webhook_configurations(self) -> None:
        docs = webhook_configurations(self.manifests, self.webhook_url, self.ca_bundle)
        with self.control_plane.api_client() as api:
            admission = k8s.AdmissionregistrationV1Api(api)
            for doc in docs:
                kind, name = doc["kind"], doc["metadata"]["name"]
                if kind == "MutatingWebhookConfiguration":
                    create, read, replace = (
                        admission.create_mutating_webhook_configuration,
                        admission.read_mutating_webhook_configuration,
                        admission.replace_mutating_webhook_configuration,
                    )
                elif kind == "ValidatingWebhookConfiguration":
                    create, read, replace = (
                        admission.create_validating_webhook_configuration,
                        admission.read_validating_webhook_configuration,
                        admission.replace_validating_webhook_configuration,
                    )
                else:
                    continue
                try:
                    create(doc)
                except ApiException as exc:
                    if exc.status != 409:
                        raise
                    # Left by an earlier manager on this control plane: point it here.
                    version = read(name).metadata.resource_version
                    replace(name, {**doc, "metadata": {**doc["metadata"], "resourceVersion": version}})
                self._webhook_configurations.append((kind, name))

    def _delete_webhook_configurations(self) -> None:
        with self.control_plane.api_client() as api:
            admission = k8s.AdmissionregistrationV1Api(api)
            for kind, name in self._webhook_configurations:
                delete = (
                    admission.delete_mutating_webhook_configuration
                    if kind == "MutatingWebhookConfiguration"
                    else admission.delete_validating_webhook_configuration
                )
                try:
                    delete(name)
                except ApiException as exc:
                    if exc.status != 404:
                        raise
        self._webhook_configurations.clear()


def webhook_crds(manifests: Path, webhook_url: str, ca_bundle: str) -> list[dict[str, Any]]:
    """The release's CRDs, each converted by the manager's /convert at `webhook_url`, and
    labelled as `clusterctl init` installs them.

    As the release's kustomize patches (config/crd/patches) do for every one of its CRDs,
    with a URL and CA bundle in place of the in-cluster Service and cert-manager injection.
    """
    crds = load_yaml_documents(sorted((manifests / "crd").glob("*.yaml")))
    for crd in crds:
        # What `clusterctl init` adds to the core provider's objects; `clusterctl move` finds
        # the kinds it moves by the first label.
        crd["metadata"].setdefault("labels", {}).update(CLUSTERCTL_LABELS)
        crd["spec"]["conversion"] = {
            "strategy": "Webhook",
            "webhook": {
                "conversionReviewVersions": ["v1"],
                "clientConfig": {"url": f"{webhook_url}/convert", "caBundle": ca_bundle},
            },
        }
    return crds


def webhook_configurations(manifests: Path, webhook_url: str, ca_bundle: str) -> list[dict[str, Any]]:
    """The release's webhook configurations, each webhook calling `webhook_url` + its path."""
    docs = load_yaml_documents([manifests / "webhook" / "manifests.yaml"])
    for doc in docs:
        doc["metadata"]["name"] = NAME_PREFIX + doc["metadata"]["name"]
        for webhook in doc.get("webhooks", []):
            path = webhook["clientConfig"]["service"]["path"]
            webhook["clientConfig"] = {"url": f"{webhook_url}{path}", "caBundle": ca_bundle}
    return docs
