"""The host's identity key in <workDir>/private.key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

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


def test_a_key_written_by_the_go_agent_is_read(tmp_path: Path) -> None:
    # Go's x509.MarshalPKCS8PrivateKey + pem "PRIVATE KEY" is the same PKCS#8 PEM.
    key = tokens.SigningKey.generate()
    (tmp_path / "w").mkdir()
    (tmp_path / "w/private.key").write_bytes(key.to_pem())
    assert load_or_create(HostRoot(tmp_path), "/w").public_pem() == key.public_pem()


def test_unusable_key_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "w").mkdir()
    (tmp_path / "w/private.key").write_text("not a key")
    with pytest.raises(AgentError, match="no usable Ed25519 private key"):
        load_or_create(HostRoot(tmp_path), "/w")


def test_key_path() -> None:
    assert key_path("/var/lib/elemental/agent") == "/var/lib/elemental/agent/private.key"
