"""The Python SDK generator (openapi-python-client, pinned in pyproject.toml): a client
generated from the served URL equals, file for file, one generated from openapi.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.contract.conftest import ROOT
from tests.live import LiveServer


def _generate(source: list[str], output: Path) -> dict[str, str]:
    bin_dir = Path(sys.executable).parent
    output.parent.mkdir()
    options = ["--meta", "none", "--output-path", str(output), "--fail-on-warning"]
    result = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", *source, *options],
        cwd=output.parent,
        # Its post-generation hooks run ruff from PATH.
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return {str(path.relative_to(output)): path.read_text() for path in sorted(output.rglob("*.py"))}


def test_client_from_the_served_url_equals_the_client_from_the_file(
    server: LiveServer, tmp_path: Path
) -> None:
    url = f"{server.base_url}/elemental/v1/openapi.json"
    # `serve --api-endpoint` is what the published spec declares as its server.
    assert httpx.get(url, timeout=10).json()["servers"][0]["url"] == f"{server.base_url}/elemental/v1"
    served = _generate(["--url", url], tmp_path / "served" / "elemental_api_client")
    from_file = _generate(["--path", str(ROOT / "openapi.yaml")], tmp_path / "file" / "elemental_api_client")
    assert served == from_file
    models = {name for name in served if name.startswith("models/")}
    assert "models/problem.py" in models and "models/api_host_response.py" in models
    assert len(models) < 40  # one model per schema, not one per use (connexion's inlined copy gave 180)
    assert {"api/registrations/get_registration.py", "api/hosts/create_host.py"} <= set(served)
