"""The contract's tools: the pinned npm packages of tests/contract/ts and Debian's Chromium,
installed by scripts/contract-tools (the project's own set-up) when missing."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = Path(__file__).resolve().parent / "ts"
# The linters would otherwise try to phone home and print update notices.
NODE_ENV = {
    **os.environ,
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "NO_UPDATE_NOTIFIER": "1",
    "NO_COLOR": "1",
}


def install_tools(*tools: str) -> dict[str, str]:
    """Runs scripts/contract-tools; returns what it printed (`name=path` lines) as a dict."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "contract-tools"), *tools],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)


@pytest.fixture(scope="session")
def node_tools() -> Path:
    install_tools("node")
    return TS_DIR / "node_modules" / ".bin"


def run_node_tool(
    tool_dir: Path, tool: str, *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool_dir / tool), *args],
        cwd=TS_DIR,
        env={**NODE_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A fresh `elemental-api serve` (one worker) for this module."""
    with LiveServer(tmp_path_factory.mktemp("contract"), workers=1) as live:
        yield live
        live.assert_no_server_errors()
