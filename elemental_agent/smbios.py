"""The host's SMBIOS data (from `dmidecode`) as host labels, unless `agent.noSmbios`.

Upstream declares `noSmbios` but never implemented the labels. Here a few identifying fields
of the BIOS, System, Base Board and Chassis tables become labels such as
`smbios.elemental.cattle.io/system-manufacturer: QEMU`, so an ElementalMachine selector can
pick hosts by hardware. Values are made valid Kubernetes label values (invalid characters
become `-`, at most 63 characters, alphanumeric at both ends); placeholder values vendors
leave in the tables ("Not Specified", "To Be Filled By O.E.M.") are left out.
"""

from __future__ import annotations

import logging
import re
import shutil

from elemental_agent.errors import CommandError
from elemental_agent.runner import CommandRunner

log = logging.getLogger(__name__)

LABEL_PREFIX = "smbios.elemental.cattle.io/"
DMIDECODE_TYPES = ("bios", "system", "baseboard", "chassis")

# table title in dmidecode's output -> label name part, and the fields kept from it.
_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "BIOS Information": ("bios", ("Vendor", "Version", "Release Date")),
    "System Information": (
        "system",
        ("Manufacturer", "Product Name", "Version", "Serial Number", "UUID", "SKU Number", "Family"),
    ),
    "Base Board Information": ("baseboard", ("Manufacturer", "Product Name", "Version", "Serial Number")),
    "Chassis Information": ("chassis", ("Manufacturer", "Type", "Version", "Serial Number")),
}
_PLACEHOLDERS = {
    "",
    "not specified",
    "not present",
    "not available",
    "not applicable",
    "not settable",
    "to be filled by o.e.m.",
    "to be filled by oem",
    "default string",
    "none",
    "unknown",
    "n/a",
    "na",
    "o.e.m.",
    "oem",
    "0",
    "00000000",
    "0123456789",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
}
_INVALID = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_MAX_VALUE = 63


def parse_dmidecode(text: str) -> dict[str, dict[str, str]]:
    """dmidecode's text output as {table title: {field: value}}; the first table of each
    title wins; list fields (a name ending with ':' and indented lines below) are skipped."""
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    expect_title = False
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.startswith("Handle "):
            expect_title = True
            current = None
            continue
        if expect_title:
            expect_title = False
            title = line.strip()
            if title and title not in tables:
                current = tables[title] = {}
            continue
        if current is None or not line:
            if not line:
                current = None
            continue
        if line.startswith("\t\t") or not line.startswith("\t"):
            continue
        name, separator, value = line.strip().partition(":")
        if separator and value.strip() and name not in current:
            current[name.strip()] = value.strip()
    return tables


def label_value(value: str) -> str:
    """`value` as a valid label value ('' when nothing valid is left)."""
    cleaned = _INVALID.sub("-", value.strip())
    cleaned = re.sub(r"-{2,}", "-", cleaned)
    cleaned = cleaned[:_MAX_VALUE]
    cleaned = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
    return cleaned if _LABEL_VALUE.fullmatch(cleaned) else ""


def labels_from_dmidecode(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    tables = parse_dmidecode(text)
    for title, (table_name, fields) in _TABLES.items():
        table = tables.get(title, {})
        for field in fields:
            raw = table.get(field, "")
            if raw.strip().lower() in _PLACEHOLDERS:
                continue
            value = label_value(raw)
            if value:
                name = f"{table_name}-{field.lower().replace(' ', '-')}"
                labels[LABEL_PREFIX + name] = value
    return labels


def host_labels(runner: CommandRunner) -> dict[str, str]:
    """The SMBIOS labels of this machine; none when dmidecode is missing or fails."""
    if shutil.which("dmidecode") is None:
        log.debug("dmidecode not found: no SMBIOS labels")
        return {}
    argv = ["dmidecode"]
    for table in DMIDECODE_TYPES:
        argv += ["-t", table]
    try:
        output = runner.run(argv, capture=True)
    except CommandError as error:
        log.warning("No SMBIOS labels: %s", error)
        return {}
    labels = labels_from_dmidecode(output)
    log.debug("SMBIOS labels: %s", labels)
    return labels
