"""Certificates for the deployment tests: a CA and serving certificates signed by it, written
the way cert-manager's Secret lands in a pod (ca.crt, tls.crt, tls.key), optionally behind
the kubelet's atomic symlink swap."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class Pair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    @property
    def serial(self) -> int:
        return self.cert.serial_number


def _builder(subject: str, issuer: x509.Name, key: ec.EllipticCurvePrivateKey) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def make_ca(name: str = "elemental-test-api-ca") -> Pair:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        _builder(name, subject, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pair(cert, key)


def issue(
    ca: Pair, dns_names: tuple[str, ...] = ("localhost",), ips: tuple[str, ...] = ("127.0.0.1",)
) -> Pair:
    """A serving certificate for the names, signed by the CA (as cert-manager's CA Issuer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        _builder(dns_names[0] if dns_names else "elemental-api", ca.cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Pair(cert, key)


def secret_files(ca: Pair, serving: Pair) -> dict[str, bytes]:
    """The data of a cert-manager certificate Secret."""
    return {"ca.crt": ca.cert_pem, "tls.crt": serving.cert_pem, "tls.key": serving.key_pem}


class SecretVolume:
    """A folder laid out as the kubelet mounts a Secret: `name -> ..data/name`, `..data ->
    ..<version>/`; an update writes a new version folder and renames a fresh `..data` link
    over the old one, so readers see either all old or all new files."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._versions = 0

    def write(self, files: dict[str, bytes]) -> None:
        self._versions += 1
        version = f"..{self._versions:04d}_{os.getpid()}"
        (self.folder / version).mkdir()
        for name, data in files.items():
            (self.folder / version / name).write_bytes(data)
        data_link = self.folder / "..data"
        previous = os.readlink(data_link) if data_link.is_symlink() else None
        staging = self.folder / "..data_tmp"
        os.symlink(version, staging)
        os.replace(staging, data_link)
        for name in files:
            visible = self.folder / name
            if not visible.is_symlink():
                os.symlink(f"..data/{name}", visible)
        if previous is not None:
            for leftover in (self.folder / previous).iterdir():
                leftover.unlink()
            (self.folder / previous).rmdir()

    def path(self, name: str) -> Path:
        return self.folder / name
