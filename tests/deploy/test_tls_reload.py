"""`elemental-api serve` over TLS: a renewed certificate is served without a restart, whether
the files are rewritten in place or swapped the way the kubelet updates a Secret volume;
TLS switched on by upstream's environment variables; the kubelet probe of the Deployment."""

from __future__ import annotations

import logging
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from elemental_api import tls
from tests.controlplane import free_port
from tests.deploy.pki import Pair, SecretVolume, issue, make_ca, secret_files
from tests.deploy.processes import Process, clean_env, script

RELOAD_WITHIN = 10.0  # seconds, a bound on waits: the server looks at the files at most once a second
REFUSED = "TLS certificate not reloaded, serving the previous one"
CONNECTIONS = 8  # new connections per check: with 2 workers, both are all but surely reached


class TlsServer:
    def __init__(
        self, folder: Path, cert: Path, key: Path, *, use_environment: bool = False, workers: int = 2
    ) -> None:
        self.port = free_port()
        self.ca_path = folder / "client-ca.crt"
        command = [
            script("elemental-api"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--store",
            f"sqlite:///{folder / 'e.db'}",
            "--workers",
            str(workers),
        ]
        env = {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
        if use_environment:
            env.update(
                {
                    tls.ENABLE_TLS_ENV: "true",
                    tls.CERTIFICATE_ENV: str(cert),
                    tls.PRIVATE_KEY_ENV: str(key),
                }
            )
        else:
            command += ["--tls-cert", str(cert), "--tls-key", str(key)]
        self.env = env
        self.process = Process("elemental-api", command, clean_env(env), folder / "server.log")

    def wait_ready(self, ca: Pair) -> None:
        self.ca_path.write_bytes(ca.cert_pem)

        def healthy() -> bool:
            try:
                response = httpx.get(
                    f"https://localhost:{self.port}/healthz", verify=self.context(), timeout=2
                )
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        self.process.wait_for(healthy, 30, "an https answer on /healthz")

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_path))

    def served_serial(self) -> int:
        """The serial number of the certificate a new connection is shown (verified)."""
        with (
            socket.create_connection(("127.0.0.1", self.port), timeout=5) as raw,
            self.context().wrap_socket(raw, server_hostname="localhost") as conn,
        ):
            der = conn.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der).serial_number

    def serials(self) -> set[int]:
        return {self.served_serial() for _ in range(CONNECTIONS)}

    def wait_serving(self, pair: Pair) -> None:
        self.process.wait_for(
            lambda: self.serials() == {pair.serial}, RELOAD_WITHIN, f"certificate {pair.serial:x} served"
        )

    def refusals(self, error: str = "") -> int:
        """How many times the server logged that it refused the files (with `error`)."""
        lines = self.process.log_path.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if REFUSED in line and error in line)

    def wait_refused(self, serving: Pair, before: int, error: str = "") -> None:
        """Until the server has looked at the files and refused them (logged past `before`),
        with handshakes to make it look; `serving` must be served all along."""

        def refused() -> bool:
            assert self.serials() == {serving.serial}, "refused files were served"
            return self.refusals(error) > before

        self.process.wait_for(refused, RELOAD_WITHIN, f"the files refused ({error or 'any error'})")

    def stop(self) -> None:
        assert self.process.stop() == 0, self.process.log()


@pytest.fixture
def servers() -> Iterator[list[TlsServer]]:
    started: list[TlsServer] = []
    yield started
    for server in started:
        server.process.stop()


def test_symlink_swap_of_a_secret_volume_is_served_without_restart(
    tmp_path: Path, servers: list[TlsServer]
) -> None:
    ca = make_ca()
    first, second = issue(ca), issue(ca)
    volume = SecretVolume(tmp_path / "ssl")
    volume.write(secret_files(ca, first))
    server = TlsServer(tmp_path, volume.path("tls.crt"), volume.path("tls.key"))
    servers.append(server)
    server.wait_ready(ca)
    pid = server.process.popen.pid
    assert server.serials() == {first.serial}

    # A keep-alive connection opened before the renewal keeps working.
    with httpx.Client(base_url=f"https://localhost:{server.port}", verify=server.context()) as client:
        assert client.get("/healthz").status_code == 200
        volume.write(secret_files(ca, second))
        server.wait_serving(second)
        assert client.get("/healthz").status_code == 200

    assert server.process.popen.pid == pid and server.process.alive()
    server.stop()


def test_in_place_rewrite_waits_for_a_matching_pair_and_ignores_broken_files(
    tmp_path: Path, servers: list[TlsServer]
) -> None:
    ca = make_ca()
    first, second = issue(ca), issue(ca)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(first.cert_pem)
    key.write_bytes(first.key_pem)
    # One worker: each worker keeps the last good pair *it* loaded, and loads only when a
    # handshake comes; with two, the one the test's connections missed would still serve the
    # first pair after the broken write below.
    server = TlsServer(tmp_path, cert, key, workers=1)
    servers.append(server)
    server.wait_ready(ca)

    # The new certificate without its key: it does not load; the old pair is still served.
    # (Only the complete new certificate with the old key gives this error, not a half-written file.)
    cert.write_bytes(second.cert_pem)
    server.wait_refused(first, server.refusals("KEY_VALUES_MISMATCH"), "KEY_VALUES_MISMATCH")
    assert server.serials() == {first.serial}

    key.write_bytes(second.key_pem)
    server.wait_serving(second)

    # A broken file (a half-written renewal) is not used; the last good pair stays.
    before = server.refusals()
    cert.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64\n")
    server.wait_refused(second, before)
    assert server.serials() == {second.serial}
    server.stop()


def test_upstream_environment_turns_tls_on_and_the_probe_follows(
    tmp_path: Path, servers: list[TlsServer]
) -> None:
    ca = make_ca()
    serving = issue(ca)
    volume = SecretVolume(tmp_path / "ssl")
    volume.write(secret_files(ca, serving))
    server = TlsServer(tmp_path, volume.path("tls.crt"), volume.path("tls.key"), use_environment=True)
    servers.append(server)
    server.wait_ready(ca)
    assert server.served_serial() == serving.serial
    probe = [sys.executable, "-m", "elemental_api.tls", "probe", "--port", str(server.port)]
    env = clean_env(server.env)
    for path in ("/healthz", "/readyz"):
        result = subprocess.run(
            [*probe, path], check=False, env=env, capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
    # Without the variable the probe speaks plain http, which a TLS server does not answer.
    plain = subprocess.run(
        [*probe, "/healthz"], check=False, env=clean_env(), capture_output=True, text=True, timeout=30
    )
    assert plain.returncode == 1 and "no answer" in plain.stderr
    server.stop()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ("missing", "ELEMENTAL_API_TLS_CERTIFICATE"),
        ("mismatched", "ELEMENTAL_API_TLS_CERTIFICATE and ELEMENTAL_API_TLS_PRIVATE_KEY do not load"),
    ],
)
def test_bad_files_from_the_environment_fail_at_startup(tmp_path: Path, files: str, message: str) -> None:
    ca = make_ca()
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    if files == "mismatched":
        cert.write_bytes(issue(ca).cert_pem)
        key.write_bytes(issue(ca).key_pem)
    env = clean_env(
        {tls.ENABLE_TLS_ENV: "true", tls.CERTIFICATE_ENV: str(cert), tls.PRIVATE_KEY_ENV: str(key)}
    )
    command = [script("elemental-api"), "serve", "--store", f"sqlite:///{tmp_path / 'e.db'}"]
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr


# -- the reloading context on its own ------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _serial(context: ssl.SSLContext, ca: Pair) -> int:
    """The certificate `context` serves, over a loopback socket pair."""
    client_context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    server_side, client_side = socket.socketpair()
    with server_side, client_side:
        server_side.settimeout(5)
        client_side.settimeout(5)
        result: list[int] = []

        def handshake() -> None:
            with context.wrap_socket(server_side, server_side=True, do_handshake_on_connect=False) as s:
                s.do_handshake()

        thread = threading.Thread(target=handshake)
        thread.start()
        with client_context.wrap_socket(client_side, server_hostname="localhost") as conn:
            der = conn.getpeercert(binary_form=True)
            assert der is not None
            result.append(x509.load_der_x509_certificate(der).serial_number)
        thread.join(5)
    return result[0]


def test_reloading_context_checks_at_most_once_per_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ca = make_ca()
    first, second = issue(ca), issue(ca)
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(first.cert_pem)
    key.write_bytes(first.key_pem)
    clock = FakeClock()
    reloading = tls.ReloadingContext(str(cert), str(key), check_seconds=1.0, clock=clock)
    assert _serial(reloading.context, ca) == first.serial

    cert.write_bytes(second.cert_pem)
    key.write_bytes(second.key_pem)
    clock.now = 0.5
    assert _serial(reloading.context, ca) == first.serial  # not time to look yet
    clock.now = 1.0
    assert _serial(reloading.context, ca) == second.serial

    # Refused versions are logged once, not at every check.
    cert.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="elemental_api.tls"):
        for step in range(2, 6):
            clock.now = float(step)
            assert _serial(reloading.context, ca) == second.serial
    assert [r.getMessage() for r in caplog.records].count(
        "TLS certificate not reloaded, serving the previous one"
    ) == 1

    # Files gone (mid-swap): still the last good pair.
    cert.unlink()
    clock.now = 10.0
    assert _serial(reloading.context, ca) == second.serial


def test_reloading_context_refuses_a_bad_pair_at_startup(tmp_path: Path) -> None:
    ca = make_ca()
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    cert.write_bytes(issue(ca).cert_pem)
    key.write_bytes(issue(ca).key_pem)
    with pytest.raises(ssl.SSLError):
        tls.ReloadingContext(str(cert), str(key))


def test_paths_from_environment_follows_upstream() -> None:
    assert tls.paths_from_environment({}) is None
    assert tls.paths_from_environment({"ELEMENTAL_API_ENABLE_TLS": "false"}) is None
    assert tls.paths_from_environment({"ELEMENTAL_API_ENABLE_TLS": "true"}) == (
        "/etc/elemental/ssl/tls.crt",
        "/etc/elemental/ssl/tls.key",
    )
    assert tls.paths_from_environment(
        {
            "ELEMENTAL_API_ENABLE_TLS": "true",
            "ELEMENTAL_API_TLS_CERTIFICATE": "/c",
            "ELEMENTAL_API_TLS_PRIVATE_KEY": "/k",
        }
    ) == ("/c", "/k")
