"""Item 2: the SQLite database holds every registration's signing key and the bootstrap
data (cluster credentials): owner-only, as are its -wal and -shm files. An existing file
open to others is tightened (with a warning in the log), not refused."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from elemental_api.store import open_store
from elemental_core.records import Bootstrap, Host
from tests.helpers import make_registration
from tests.live import LiveServer


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    """The most permissive umask a user could have: the modes must not come from it."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_new_database_and_its_wal_files_are_owner_only(tmp_path: Path, open_umask: object) -> None:
    path = tmp_path / "e.db"
    store = open_store(f"sqlite:///{path}")
    try:
        registration, _ = make_registration(store)
        host = store.create_host(Host(namespace="default", name="h", registration=registration.name))
        store.attach_bootstrap(host, Bootstrap(config="#cloud-config\n"))
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)  # WAL mode, a connection open
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        store.close()


def test_missing_directory_is_created_owner_only(tmp_path: Path, open_umask: object) -> None:
    path = tmp_path / "state" / "e.db"
    open_store(f"sqlite:///{path}").close()
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_existing_files_open_to_others_are_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, suffix: str
) -> None:
    path = tmp_path / "e.db"
    open_store(f"sqlite:///{path}").close()
    loose = Path(f"{path}{suffix}")
    loose.touch()
    loose.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        open_store(f"sqlite:///{path}").close()
    if loose.exists():  # SQLite removes an empty -wal/-shm on the last close
        assert mode(loose) == 0o600
    assert any("owner-only" in record.getMessage() for record in caplog.records)


def test_the_served_database_is_owner_only(tmp_path: Path) -> None:
    with LiveServer(tmp_path / "live", workers=1) as server:
        server.make_registration()
        assert mode(server.db_path) == 0o600
