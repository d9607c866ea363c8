"""SMBIOS (dmidecode) data as host labels."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from elemental_agent import smbios
from elemental_agent.runner import CommandRunner
from elemental_core.names import check_client_metadata

DATA = Path(__file__).parent / "data"
P = smbios.LABEL_PREFIX
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def test_virtual_machine_labels() -> None:
    labels = smbios.labels_from_dmidecode((DATA / "dmidecode-qemu.txt").read_text())
    assert labels == {
        f"{P}bios-vendor": "EFI-Development-Kit-II-OVMF",
        f"{P}bios-version": "0.0.0",
        f"{P}bios-release-date": "02-06-2015",
        f"{P}system-manufacturer": "QEMU",
        f"{P}system-product-name": "Standard-PC-Q35-ICH9-2009",
        f"{P}system-version": "pc-q35-8.2",
        f"{P}system-uuid": "4c4c4544-0039-3010-8048-b4c04f4d4a32",
        f"{P}chassis-manufacturer": "QEMU",
        f"{P}chassis-type": "Other",
        f"{P}chassis-version": "pc-q35-8.2",
    }


def test_server_labels_skip_placeholders_and_take_the_first_table() -> None:
    labels = smbios.labels_from_dmidecode((DATA / "dmidecode-server.txt").read_text())
    assert labels[f"{P}system-manufacturer"] == "Dell-Inc"
    assert labels[f"{P}system-product-name"] == "PowerEdge-R640"
    assert labels[f"{P}system-serial-number"] == "9X3Z2M3"
    assert labels[f"{P}system-sku-number"] == "SKU-NotProvided-ModelName-PowerEdge-R640"
    assert labels[f"{P}system-family"] == "PowerEdge"
    assert labels[f"{P}baseboard-manufacturer"] == "Dell-Inc"
    assert labels[f"{P}baseboard-serial-number"] == "9X3Z2M3.CNCMS0096E00UP"
    assert labels[f"{P}chassis-type"] == "Rack-Mount-Chassis"
    assert f"{P}system-version" not in labels  # Not Specified
    assert f"{P}chassis-serial-number" not in labels  # To Be Filled By O.E.M.
    assert "Second-Board-Vendor" not in labels.values()


@pytest.mark.parametrize("name", ["dmidecode-qemu.txt", "dmidecode-server.txt"])
def test_labels_are_valid_kubernetes_labels_the_api_accepts(name: str) -> None:
    labels = smbios.labels_from_dmidecode((DATA / name).read_text())
    check_client_metadata("label", labels)
    assert all(LABEL_VALUE.fullmatch(value) and len(value) <= 63 for value in labels.values())


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("QEMU", "QEMU"),
        ("  Dell Inc.  ", "Dell-Inc"),
        ("(Q35 + ICH9, 2009)", "Q35-ICH9-2009"),
        ("a" * 80, "a" * 63),
        ("x" * 62 + " y", "x" * 62),
        ("---", ""),
        ("ÄÖÜ", ""),
        ("_under_", "under"),
    ],
)
def test_label_value_sanitizing(raw: str, value: str) -> None:
    assert smbios.label_value(raw) == value


def test_parse_keeps_fields_per_table() -> None:
    tables = smbios.parse_dmidecode((DATA / "dmidecode-qemu.txt").read_text())
    assert tables["System Information"]["Wake-up Type"] == "Power Switch"
    assert "Characteristics" not in tables["BIOS Information"]
    assert tables["BIOS Information"]["BIOS Revision"] == "0.0"
    assert smbios.parse_dmidecode("") == {}


def _stand_in(directory: Path, script: str) -> None:
    path = directory / "dmidecode"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_host_labels_run_dmidecode_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _stand_in(tmp_path, f'echo "$@" > {tmp_path}/args\ncat {DATA / "dmidecode-qemu.txt"}\n')
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    labels = smbios.host_labels(CommandRunner())
    assert labels[f"{P}system-manufacturer"] == "QEMU"
    assert (tmp_path / "args").read_text().split() == [
        "-t",
        "bios",
        "-t",
        "system",
        "-t",
        "baseboard",
        "-t",
        "chassis",
    ]


def test_no_labels_without_dmidecode_or_when_it_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert smbios.host_labels(CommandRunner()) == {}
    _stand_in(tmp_path, "echo '/dev/mem: Permission denied' >&2\nexit 1\n")
    assert smbios.host_labels(CommandRunner()) == {}
