"""The TypeScript SDK: openapi-typescript types generated from the served spec, type-checked
with `tsc --strict`, and openapi-fetch driving all five operations (and their problem+json
error answers) against a live server."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from elemental_core import tokens
from elemental_core.records import Bootstrap
from tests.contract.conftest import ROOT, TS_DIR, run_node_tool
from tests.live import LiveServer

SCHEMA = TS_DIR / "generated" / "schema.ts"
HOST = "ts-host"


def _generate(node_tools: Path, source: str, output: Path) -> str:
    result = run_node_tool(node_tools, "openapi-typescript", source, "--output", str(output))
    assert result.returncode == 0, result.stdout + result.stderr
    return output.read_text()


def test_types_from_the_served_spec_equal_those_from_the_file(
    node_tools: Path, server: LiveServer, tmp_path: Path
) -> None:
    served = _generate(node_tools, f"{server.base_url}/elemental/v1/openapi.json", tmp_path / "served.ts")
    from_file = _generate(node_tools, str(ROOT / "openapi.yaml"), tmp_path / "file.ts")
    assert served == from_file
    # One type per schema, shared: the error shape is one `Problem`, not one per answer.
    assert "Problem: {" in served
    assert "ApiHostResponse: {" in served
    assert "ElementalHostSpec" not in served  # CRD-only schemas are not published


def test_sdk_type_checks_and_runs_every_operation(
    node_tools: Path, server: LiveServer, tmp_path: Path
) -> None:
    _generate(node_tools, f"{server.base_url}/elemental/v1/openapi.json", SCHEMA)
    compiled = run_node_tool(node_tools, "tsc", "--project", "tsconfig.json")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr

    registration = server.make_registration("ts-registration")
    key = tokens.SigningKey.generate()
    settings = {
        "SPEC_URL": f"{server.base_url}/elemental/v1/openapi.json",
        "REGISTRATION": registration.name,
        "REGISTRATION_TOKEN": registration.token,
        "HOST_NAME": HOST,
        "PUB_KEY": key.public_pem(),
    }

    def run(phase: str) -> list[str]:
        # A fresh host token per phase: they live ten minutes at most.
        env = {**settings, "HOST_TOKEN": tokens.issue_host_token(key, HOST, registration.uri)}
        result = subprocess.run(
            ["node", str(TS_DIR / "build" / "src" / "client.js"), phase],
            cwd=TS_DIR,
            env={"PATH": os.environ["PATH"], **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["phase"] == phase
        passed: list[str] = summary["passed"]
        return passed

    registered = run("register")
    for expected in (
        "getRegistration 200",
        "getRegistration with a wrong token is a 403 problem",
        "getRegistration of an unknown registration is a 404 problem",
        "createHost 201",
        "createHost again is a 409 problem",
        "createHost without the registration token is a 401 problem",
        "patchHost 200",
        "patchHost bootstrapped without bootstrap data is a 400 problem",
        "patchHost with a text body is a 415 problem",
        "getBootstrap before any is attached is a 404 problem",
    ):
        assert expected in registered

    store = server.store()
    host = store.get_host("default", HOST)
    assert host is not None and host.labels["hardware"] == "nuc-13"
    store.attach_bootstrap(host, Bootstrap(config="#cloud-config\nruncmd:\n- echo hello\n"))
    finished = run("finish")
    for expected in ("getBootstrap 200", "deleteHost with a wrong token is a 403 problem", "deleteHost 202"):
        assert expected in finished
    assert "patchHost after deleteHost says needsReset" in finished
