"""The release files as clusterctl sees them: `scripts/release` output, and a small envsubst
with clusterctl's rules for the variables it fills in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.controlplane import REPO_ROOT

PROVIDER = "infrastructure-elemental"
TEST_VERSION = "v0.1.0"
# ${VAR}, ${VAR:=default}, ${VAR:-default}, ${VAR=default}, ${VAR-default} (drone/envsubst,
# which clusterctl uses); the `:` forms take the default for an empty value too.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[=-])([^}]*))?\}")
REQUIRED = None
TEMPLATES_DOC = REPO_ROOT / "docs" / "TEMPLATES.md"


class MissingVariable(KeyError):
    pass


def release(outdir: Path, version: str = TEST_VERSION, *extra: str) -> Path:
    """Runs scripts/release; the folder it wrote the provider files to."""
    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "release"), version, str(outdir), *extra],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=60,
    )
    assert result.returncode == 0, f"scripts/release failed:\n{result.stderr}"
    return outdir / PROVIDER / version


def envsubst(text: str, variables: Mapping[str, str]) -> str:
    """Fills in the variables as clusterctl does; a variable without value nor default fails."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name, operator, default = match[1], match[2], match[3]
        value = variables.get(name)
        if operator is None:
            if value is None:
                missing.append(name)
                return ""
            return value
        if value is None or (operator.startswith(":") and value == ""):
            return default
        return value

    rendered = VARIABLE.sub(fill, text)
    if missing:
        raise MissingVariable(f"value for variables {sorted(set(missing))} is not set")
    # envsubst reads `${NAME}` and `$NAME`; a `$` before anything else is kept (a pattern's anchor).
    found = re.search(r"\$[{A-Za-z_]", rendered)
    assert found is None, f"a '$' clusterctl would also read: {rendered[found.start() :][:60]!r}"
    return rendered


def variables_used(text: str) -> dict[str, set[str | None]]:
    """Each variable with the defaults it is given (None: used without a default)."""
    used: dict[str, set[str | None]] = {}
    for match in VARIABLE.finditer(text):
        used.setdefault(match[1], set()).add(match[3] if match[2] else REQUIRED)
    return used


def documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def documented_variables() -> dict[str, str | None]:
    """docs/TEMPLATES.md's tables: variable -> default as written in the files (None: required)."""
    row = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \| (?:`([^`]*)`|(\*required\*)) \|")
    found: dict[str, str | None] = {}
    for line in TEMPLATES_DOC.read_text().splitlines():
        match = row.match(line)
        if match:
            assert match[1] not in found, f"{match[1]} is documented twice"
            found[match[1]] = REQUIRED if match[3] else match[2]
    return found
