"""The host's identity key in <workDir>/private.key."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from elemental_agent.errors import AgentError
from elemental_agent.hostroot import HostRoot
from elemental_agent.identity import key_path, load_or_create
from elemental_core import tokens


def test_created_when_absent_as_pkcs8_pem_readable_by_owner_only(tmp_path: Path) -> None:
    root = HostRoot(tmp_path)
    key = load_or_create(root, "/var/lib/elemental/agent")
    stored = tmp_path / "var/lib/elemental/agent/private.key"
    assert stored.read_bytes() == key.to_pem()
    assert stored.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600


def test_reused_when_present(tmp_path: Path) -> None:
    root = HostRoot(tmp_path)
    first = load_or_create(root, "/work")
    second = load_or_create(root, "/work")
    assert second.public_pem() == first.public_pem()
    # and it signs host tokens the API accepts with the public key
    token = tokens.issue_host_token(second, "h", "https://api/x")
    claims = tokens.verify_host_token(
        token, public_key_pem=first.public_pem(), host_name="h", uri="https://api/x"
    )
    assert claims["sub"] == "h"


def go_agent_key_file(key: Ed25519PrivateKey) -> bytes:
    """private.key as upstream's agent writes it (its internal/identity package):
    x509.MarshalPKCS8PrivateKey (RFC 8410's PKCS#8 v1: version 0, OID 1.3.101.112, the
    32-byte seed in a nested OCTET STRING, no public key) in a pem.EncodeToMemory block of
    type PRIVATE KEY (base64 in 64-column lines), installed 0640."""
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n").encode()


# What Go's x509.MarshalPKCS8PrivateKey + pem.EncodeToMemory write for the seed 00 01 .. 1f.
GO_KEY_FILE_OF_SEED_0_TO_31 = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n"
    b"-----END PRIVATE KEY-----\n"
)


def test_the_go_key_file_builder_matches_go() -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    assert go_agent_key_file(key) == GO_KEY_FILE_OF_SEED_0_TO_31


def test_a_key_written_by_the_go_agent_is_read(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    written = go_agent_key_file(key)
    (tmp_path / "w").mkdir()
    stored = tmp_path / "w/private.key"
    stored.write_bytes(written)
    stored.chmod(0o640)  # upstream installs it 0640

    loaded = load_or_create(HostRoot(tmp_path), "/w")

    raw = (Encoding.Raw, PublicFormat.Raw)
    assert loaded.private_key.public_key().public_bytes(*raw) == key.public_key().public_bytes(*raw)
    # and it signs host tokens that verify with the Go agent's key
    token = tokens.issue_host_token(loaded, "h", "https://api/x")
    header, payload, signature = token.split(".")
    key.public_key().verify(base64.urlsafe_b64decode(signature + "=="), f"{header}.{payload}".encode())
    assert stored.read_bytes() == written  # read, not replaced


def test_unusable_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w/private.key").write_text("not a key")
    with pytest.raises(AgentError, match="no usable Ed25519 private key"):
        load_or_create(HostRoot(tmp_path), "/w")


def test_key_path() -> None:
    assert key_path("/var/lib/elemental/agent") == "/var/lib/elemental/agent/private.key"
