"""Fixtures of the deployment tests: the release files, rendered once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.rendering import release


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """OUTDIR/infrastructure-elemental/VERSION/ as `scripts/release` wrote it."""
    return release(tmp_path_factory.mktemp("release"))
