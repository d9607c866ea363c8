"""Spec lint: Redocly CLI (recommended rules) and Spectral (the oas ruleset), with the pinned
npm packages and their configs in tests/contract/ts: no error and no warning, on the file and
on the published copy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.conftest import ROOT, TS_DIR, run_node_tool
from tests.live import LiveServer


@pytest.fixture(scope="module")
def documents(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    published = tmp_path_factory.mktemp("published") / "openapi.yaml"
    response = httpx.get(f"{server.base_url}/elemental/v1/openapi.yaml", timeout=10)
    assert response.status_code == 200
    published.write_bytes(response.content)
    return {"file": ROOT / "openapi.yaml", "published": published}


@pytest.mark.parametrize("which", ["file", "published"])
def test_redocly_recommended_finds_nothing(node_tools: Path, documents: dict[str, Path], which: str) -> None:
    status, report = redocly(node_tools, documents[which])
    problems = [(p["ruleId"], p["severity"], p["message"]) for p in report["problems"]]
    assert report["totals"]["errors"] == report["totals"]["warnings"] == 0, problems
    assert status == 0


def redocly(node_tools: Path, document: Path) -> tuple[int, dict[str, Any]]:
    config = str(TS_DIR / "redocly.yaml")
    result = run_node_tool(
        node_tools, "redocly", "lint", "--config", config, "--format", "json", str(document)
    )
    report: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, report


def spectral(node_tools: Path, document: Path, output: Path) -> tuple[int, list[dict[str, Any]]]:
    result = run_node_tool(
        node_tools, "spectral", "lint", "--ruleset", str(TS_DIR / ".spectral.yaml"), "--format", "json",
        "--output", str(output), "--fail-severity", "hint", str(document),
    )  # fmt: skip
    assert output.exists(), result.stdout + result.stderr
    findings: list[dict[str, Any]] = json.loads(output.read_text())
    return result.returncode, findings


@pytest.mark.parametrize("which", ["file", "published"])
def test_spectral_oas_finds_nothing(
    node_tools: Path, documents: dict[str, Path], which: str, tmp_path: Path
) -> None:
    status, findings = spectral(node_tools, documents[which], tmp_path / "spectral.json")
    assert findings == [], [(f["code"], f["severity"], f["message"], f["path"]) for f in findings]
    assert status == 0


def test_the_linters_do_find_problems(node_tools: Path, tmp_path: Path) -> None:
    """The rules are live: a spec with an unused schema and no license is flagged by both."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\nservers: [{url: 'https://api.test'}]\npaths: {}\n"
        "components: {schemas: {Unused: {type: string}}}\n"
    )
    assert redocly(node_tools, broken)[1]["totals"]["warnings"] > 0
    status, findings = spectral(node_tools, broken, tmp_path / "spectral.json")
    assert status != 0
    assert "oas3-unused-component" in {f["code"] for f in findings}
