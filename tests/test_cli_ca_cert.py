"""`elemental-api registration create --ca-cert FILE`: the CA agents trust the API with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from elemental_api.store import Store, open_store
from tests.test_cli import fails, ok


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


CA = "-----BEGIN CERTIFICATE-----\nMIIBODCB3qADAgECAgEB\n-----END CERTIFICATE-----\n"


def test_ca_cert_goes_into_the_agent_config(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CA)
    ok(capsys, store_url, "registration", "create", "demo", "--ca-cert", str(ca))
    config = yaml.safe_load(ok(capsys, store_url, "registration", "agent-config", "demo"))
    assert config["registration"]["caCert"] == CA
    assert config["registration"]["uri"].endswith("/registrations/demo")


def test_ca_cert_overrides_the_config_file_s(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CA)
    config = tmp_path / "reg.yaml"
    config.write_text("elemental:\n  registration:\n    caCert: old\n  agent:\n    debug: true\n")
    ok(capsys, store_url, "registration", "create", "demo", "--config", str(config), "--ca-cert", str(ca))
    printed = yaml.safe_load(ok(capsys, store_url, "registration", "agent-config", "demo"))
    assert printed["registration"]["caCert"] == CA
    assert printed["agent"]["debug"] is True


@pytest.mark.parametrize(("content", "mentions"), [(None, "--ca-cert"), ("not a certificate", "PEM")])
def test_unusable_ca_cert_is_refused(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    store: Store,
    tmp_path: Path,
    content: str | None,
    mentions: str,
) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_text(content)
    assert mentions in fails(capsys, store_url, "registration", "create", "demo", "--ca-cert", str(ca))
    assert store.get_registration("default", "demo") is None
