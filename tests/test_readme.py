"""The README's walk-through, run as written: its shell block, extracted from README.md, in
one bash (errors fatal) in a fresh directory, with the repository's .venv, on a free port."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import free_port

ROOT = Path(__file__).resolve().parents[1]
WALK_THROUGH = "## Walk-through on one machine (embedded store)"
TIMEOUT_SECONDS = 240


def walk_through() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index(WALK_THROUGH) :]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the walk-through has no ```sh block"
    return block.group(1)


def test_walk_through_runs_as_written(tmp_path: Path) -> None:
    script = walk_through()
    assert "PORT=${PORT:-9090}" in script  # the port is taken from the environment
    venv = Path(sys.prefix)
    (tmp_path / ".venv").symlink_to(venv, target_is_directory=True)
    env = {**os.environ, "PORT": str(free_port())}
    env.pop("ELEMENTAL_STORE", None)
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so whatever it left running can be ended with it
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"the walk-through did not finish in {TIMEOUT_SECONDS}s:\n{output}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # nothing should be left; make sure
    assert process.returncode == 0, output
    assert "registration default/demo created" in output
    assert "bootstrap data (cloud-config) attached to host default/m-" in output
    assert "Reset was triggered successfully" in output
    assert "Host reset" in output
    actions = (tmp_path / "host/var/log/elemental-agent-actions.log").read_text().splitlines()
    # Only the bootstrap reboots: with the walk-through's config, installing does not.
    assert [line.split("\t")[1] for line in actions] == ["set-hostname", "reboot"]
    config = (tmp_path / "host/etc/elemental/agent/config.yaml").read_text()
    assert "caCert: '-----BEGIN CERTIFICATE-----" in config or "caCert: |" in config
    assert f"uri: https://127.0.0.1:{env['PORT']}/elemental/v1/" in config
