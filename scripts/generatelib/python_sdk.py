"""Writes the Python SDK (the `elemental_client` package) from openapi.yaml with
openapi-python-client, pinned in pyproject.toml; its settings are in python-sdk.yaml.

Usage: python python_sdk.py OPENAPI_YAML OUTPUT_DIR (the package goes to OUTPUT_DIR/elemental_client).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().parent / "python-sdk.yaml"
PACKAGE = "elemental_client"


def main(spec_path: str, out_dir: str) -> None:
    bin_dir = Path(sys.executable).parent
    package = Path(out_dir) / PACKAGE
    shutil.rmtree(package, ignore_errors=True)  # a schema removed from the contract leaves no module behind
    package.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(Path(spec_path).resolve()),
            "--config",
            str(CONFIG),
            "--meta",
            "none",
            "--output-path",
            str(package.resolve()),
            "--fail-on-warning",
        ],
        cwd=package.parent,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},  # its hooks run ruff
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.exit(f"openapi-python-client failed:\n{result.stdout}{result.stderr}")
    (package / "py.typed").write_text("")  # the SDK carries its types to whoever installs it


if __name__ == "__main__":
    main(*sys.argv[1:])
