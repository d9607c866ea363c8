"""A real, throwaway Kubernetes control plane (etcd + kube-apiserver) for tests.

No kubelet, scheduler or controller-manager run: objects are stored and served, nothing
reconciles them. That is what tests of API clients, stores and operators need.

Usage::

    with ControlPlane(crd_paths=[...]) as cp:
        api = kubernetes.client.CoreV1Api(cp.api_client())
        cp.kubectl("get", "namespaces")
        cp.stop()   # kube-apiserver only; etcd keeps the data
        cp.start()
"""

from __future__ import annotations

import atexit
import base64
import datetime
import ipaddress
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from kubernetes import client as k8s

_REQUEST_SERIES = re.compile(r"^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$", re.M)
_METRIC_LABEL = re.compile(r'(\w+)="([^"]*)"')

REPO_ROOT = Path(__file__).resolve().parent.parent
ENVTEST_SCRIPT = REPO_ROOT / "scripts" / "envtest"
LOOPBACK = "127.0.0.1"
LOG_TAIL_LINES = 40
# Readiness checks that only seed built-in RBAC roles and priority classes (over a second on
# 2 cores); the admin token in system:masters does not need them to install CRDs.
BOOTSTRAP_CHECKS = (
    "poststarthook/rbac/bootstrap-roles",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
)
# kube-apiserver sleeps 2s in a custom resource create that comes within 2s of its CRD's
# Established transition (for HA consistency); install_crds waits that window out instead.
CRD_CREATE_DELAY = 2.0
# CRDs are installed by server-side apply, as this field manager.
CRD_FIELD_MANAGER = "elemental-test-harness"
APPLY_PATCH = "application/apply-patch+yaml"


class ControlPlaneError(RuntimeError):
    """The control plane could not be started or used."""


def free_port() -> int:
    """A currently free loopback TCP port (the usual small race is acceptable for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port


def find_binaries() -> Path:
    """The folder with etcd, kube-apiserver and kubectl, as printed by scripts/envtest."""
    try:
        result = subprocess.run(
            [str(ENVTEST_SCRIPT)], capture_output=True, text=True, check=True, timeout=3600
        )
    except subprocess.CalledProcessError as exc:
        raise ControlPlaneError(f"scripts/envtest failed:\n{exc.stderr[-4000:]}") from exc
    folder = Path(result.stdout.strip())
    for name in ("etcd", "kube-apiserver", "kubectl"):
        if not os.access(folder / name, os.X_OK):
            raise ControlPlaneError(f"{folder} has no executable {name}")
    return folder


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path.name}: no log)"
    return f"--- last {lines} lines of {path.name} ---\n" + "\n".join(text.splitlines()[-lines:])


def _pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    """A CA certificate when issuer is None, else a serving certificate for loopback."""
    now = datetime.datetime.now(datetime.UTC)
    is_ca = issuer is None
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(issuer_id, False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=is_ca,
                crl_sign=is_ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
    if not is_ca:
        # 10.0.0.1 is the in-cluster "kubernetes" service IP of --service-cluster-ip-range.
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.DNSName("kubernetes.default.svc"),
                    x509.IPAddress(ipaddress.IPv4Address(LOOPBACK)),
                    x509.IPAddress(ipaddress.IPv4Address("10.0.0.1")),
                ]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pki(folder: Path) -> None:
    """CA, serving cert and service-account key pair that kube-apiserver reads at startup."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert("elemental-test-ca", ca_key, None, ca_key)
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving = _cert("kube-apiserver", serving_key, ca, ca_key)
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = serialization.Encoding.PEM
    (folder / "ca.crt").write_bytes(ca.public_bytes(pem))
    (folder / "apiserver.crt").write_bytes(serving.public_bytes(pem))
    (folder / "apiserver.key").write_bytes(_pem_key(serving_key))
    (folder / "sa.key").write_bytes(_pem_key(sa_key))
    (folder / "sa.pub").write_bytes(
        sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if still running after `grace` seconds (at once if grace is 0)."""
    if proc is None or proc.poll() is not None:
        return
    if grace > 0:
        proc.terminate()
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait()


def load_yaml_documents(paths: Iterable[Path | str]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            docs.extend(doc for doc in yaml.safe_load_all(fh) if doc)
    return docs


class ControlPlane:
    """etcd plus kube-apiserver on loopback, with an admin bearer token and RBAC."""

    def __init__(self, crd_paths: Iterable[Path | str] = (), startup_timeout: float = 60.0) -> None:
        """crd_paths: CRD YAML files installed during the first start (faster than later)."""
        self.crd_paths = list(crd_paths)
        self.startup_timeout = startup_timeout
        self.binaries = find_binaries()
        self.workdir = Path(tempfile.mkdtemp(prefix="elemental-controlplane-"))
        self.token = secrets.token_urlsafe(32)
        self.etcd_client_port = free_port()
        self.etcd_peer_port = free_port()
        self.apiserver_port = free_port()
        self.server_url = f"https://{LOOPBACK}:{self.apiserver_port}"
        self.kubeconfig_path = self.workdir / "kubeconfig"
        self.ca_path = self.workdir / "pki" / "ca.crt"
        self._etcd: subprocess.Popen[bytes] | None = None
        self._apiserver: subprocess.Popen[bytes] | None = None
        self._closed = False
        # Children and files must not outlive a normally exiting interpreter, even if close()
        # is forgotten.
        atexit.register(self.close)

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
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
        """Start etcd (first time only) and kube-apiserver, and wait until the API is ready."""
        if self._closed:
            raise ControlPlaneError("control plane was closed")
        if self._etcd is None:
            self._first_start()
        elif not self.running:
            self._apiserver = self._spawn("kube-apiserver", self._apiserver_args())
            self.wait_ready()

    def _first_start(self) -> None:
        self._etcd = self._spawn("etcd", self._etcd_args())
        # Key generation overlaps with etcd startup.
        write_pki(self.workdir / "pki")
        self._write_token_file()
        self._write_kubeconfig()
        # kube-apiserver would retry etcd, but its gRPC backoff costs more than waiting.
        self._wait_etcd()
        self._apiserver = self._spawn("kube-apiserver", self._apiserver_args())
        # Overlap CRD installation with the slow RBAC bootstrap.
        self.wait_ready(exclude=BOOTSTRAP_CHECKS)
        names = self._apply_crds(self.crd_paths)
        self.wait_ready()
        self._wait_crds(names)

    def stop(self, graceful: bool = True) -> None:
        """Stop kube-apiserver only; etcd and its data stay, start() brings the API back.

        graceful=False kills it at once: a crash, and a second faster than a clean shutdown.
        """
        stop_process(self._apiserver, grace=10.0 if graceful else 0.0)
        self._apiserver = None

    def close(self) -> None:
        """Stop both processes and delete the temporary folder (data, keys, logs)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        # Everything is thrown away, so kube-apiserver needs no graceful shutdown.
        stop_process(self._apiserver, grace=0.0)
        stop_process(self._etcd)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._apiserver is not None and self._apiserver.poll() is None

    # -- processes -------------------------------------------------------------------------

    def _spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        # Append so that the log of a restarted kube-apiserver keeps the earlier run too.
        with open(self.workdir / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [str(self.binaries / name), *args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )

    def _etcd_args(self) -> list[str]:
        client = f"http://{LOOPBACK}:{self.etcd_client_port}"
        peer = f"http://{LOOPBACK}:{self.etcd_peer_port}"
        return [
            "--name=test",
            f"--data-dir={self.workdir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=test={peer}",
            # A single member has no peers to miss: short raft timers make it leader sooner.
            "--heartbeat-interval=10",
            "--election-timeout=100",
            # Test data is disposable: skip fsync and keep the backend small.
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=1073741824",
            "--log-level=warn",
        ]

    def _apiserver_args(self) -> list[str]:
        pki = self.workdir / "pki"
        return [
            f"--etcd-servers=http://{LOOPBACK}:{self.etcd_client_port}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={self.apiserver_port}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            # No controller-manager runs, so nothing would create default service accounts.
            "--disable-admission-plugins=ServiceAccount",
        ]

    def _write_token_file(self) -> None:
        path = self.workdir / "tokens.csv"
        path.write_text(f'{self.token},test-admin,test-admin,"system:masters"\n')
        path.chmod(0o600)

    def _write_kubeconfig(self) -> None:
        ca_data = base64.b64encode(self.ca_path.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {"server": self.server_url, "certificate-authority-data": ca_data},
                }
            ],
            "users": [{"name": "test-admin", "user": {"token": self.token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test-admin"}}],
            "current-context": "test",
        }
        self.kubeconfig_path.write_text(yaml.safe_dump(config))
        self.kubeconfig_path.chmod(0o600)

    # -- kube-apiserver's own request count ---------------------------------------------------

    def request_counts(self) -> list[tuple[dict[str, str], float]]:
        """kube-apiserver's `apiserver_request_total`: each series' labels (verb, resource,
        subresource, code, ...) and its count so far. What reached kube-apiserver, counted by
        kube-apiserver itself."""
        response = httpx.get(
            f"{self.server_url}/metrics",
            headers={"Authorization": f"Bearer {self.token}"},
            verify=str(self.ca_path),
            timeout=30,
        )
        response.raise_for_status()
        return [
            (dict(_METRIC_LABEL.findall(match["labels"])), float(match["value"]))
            for match in _REQUEST_SERIES.finditer(response.text)
        ]

    # -- readiness -------------------------------------------------------------------------

    def wait_ready(self, timeout: float | None = None, exclude: Sequence[str] = ()) -> None:
        """Poll /readyz until it answers 200; raise with both logs' tails if it never does."""
        timeout = timeout or self.startup_timeout
        deadline = time.monotonic() + timeout
        context = ssl.create_default_context(cafile=str(self.ca_path))
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.server_url}/readyz"
        last = "no answer"
        with httpx.Client(verify=context, headers=headers, timeout=2.0) as http:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    response = http.get(url, params=[("exclude", c) for c in exclude])
                except httpx.TransportError as exc:
                    last = repr(exc)
                else:
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[-2000:]}"
                time.sleep(0.1)
        raise self._failure(f"kube-apiserver not ready after {timeout}s (last /readyz: {last})")

    def _wait_etcd(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = f"http://{LOOPBACK}:{self.etcd_client_port}/health"
        with httpx.Client(timeout=2.0) as http:
            while time.monotonic() < deadline:
                self._check_alive()
                try:
                    if http.get(url).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise self._failure(f"etcd not healthy after {self.startup_timeout}s")

    def _check_alive(self) -> None:
        for name, proc in (("etcd", self._etcd), ("kube-apiserver", self._apiserver)):
            if proc is not None and proc.poll() is not None:
                raise self._failure(f"{name} exited with code {proc.returncode}")

    def _failure(self, message: str) -> ControlPlaneError:
        tails = [log_tail(self.workdir / f"{n}.log") for n in ("etcd", "kube-apiserver")]
        return ControlPlaneError("\n".join([message, *tails]))

    # -- clients ---------------------------------------------------------------------------

    def configuration(self) -> k8s.Configuration:
        """Python-client settings for the admin user, verifying the test CA; tweak and use."""
        config = k8s.Configuration()
        config.host = self.server_url
        config.ssl_ca_cert = str(self.ca_path)
        config.api_key = {"authorization": self.token}
        config.api_key_prefix = {"authorization": "Bearer"}
        return config

    def api_client(self) -> k8s.ApiClient:
        """A new python-client ApiClient authenticated as the admin."""
        return k8s.ApiClient(self.configuration())

    def kubectl(
        self, *args: str, check: bool = False, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        """Run the matching kubectl against this control plane; output is captured as text."""
        cmd = [
            str(self.binaries / "kubectl"),
            f"--kubeconfig={self.kubeconfig_path}",
            # Ports get reused across runs: keep discovery caches per control plane.
            f"--cache-dir={self.workdir / 'kubectl-cache'}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=timeout)

    def create_namespace(self, name: str) -> k8s.V1Namespace:
        with self.api_client() as api:
            body = k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name))
            namespace: k8s.V1Namespace = k8s.CoreV1Api(api).create_namespace(body)
            return namespace

    def install_crds(self, paths: Iterable[Path | str], timeout: float = 30.0) -> list[str]:
        """Create or replace every CRD in the YAML files; wait until each is Established.

        Also waits until custom resources can be created without the API server's 2s delay.
        Returns the CRD names.
        """
        names = self._apply_crds(paths)
        self._wait_crds(names, timeout)
        return names

    def _apply_crds(self, paths: Iterable[Path | str]) -> list[str]:
        docs = load_yaml_documents(paths)
        crds = [doc for doc in docs if doc.get("kind") == "CustomResourceDefinition"]
        with self.api_client() as api:
            ext = k8s.ApiextensionsV1Api(api)
            return [apply_crd(ext, crd) for crd in crds]

    def _wait_crds(self, names: Sequence[str], timeout: float = 30.0) -> None:
        if not names:
            return
        latest = 0.0
        with self.api_client() as api:
            ext = k8s.ApiextensionsV1Api(api)
            for name in names:
                latest = max(latest, wait_established(ext, name, timeout))
        # Same host, same clock; the transition time is truncated to whole seconds.
        time.sleep(max(0.0, latest + CRD_CREATE_DELAY + 0.05 - time.time()))


def apply_crd(ext: k8s.ApiextensionsV1Api, crd: dict[str, Any]) -> str:
    """Create or update the CRD by server-side apply (forced); return its name.

    An apply carries no resourceVersion, so it cannot lose a race with the API server's own
    CRD controllers, which write a CRD right after it is created: a read-then-replace did, with
    a 409 ("the object has been modified") in about 2 of 10 starts on a loaded machine. Fields
    the manifest drops are removed, as this field manager owns every field it applied.
    """
    name: str = crd["metadata"]["name"]
    # The client sends plain dicts as they are (JSON, which is YAML); no models needed.
    ext.patch_custom_resource_definition(
        name,
        crd,
        field_manager=CRD_FIELD_MANAGER,
        force=True,
        _content_type=APPLY_PATCH,
    )
    return name


def wait_established(ext: k8s.ApiextensionsV1Api, name: str, timeout: float) -> float:
    """Wait for Established=True; return the condition's transition time (epoch seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = ext.read_custom_resource_definition(name).status
        for cond in (status.conditions if status else None) or []:
            if cond.type == "Established" and cond.status == "True":
                since: datetime.datetime | None = cond.last_transition_time
                return since.timestamp() if since else time.time()
        time.sleep(0.05)
    raise ControlPlaneError(f"CRD {name} not Established after {timeout}s")
