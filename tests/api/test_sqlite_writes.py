"""The SQLite store's write path: writers queue on the lock file (never on SQLite's polling
busy wait), checkpoints run after the write lock is released, and the one-statement
updates still refuse a stale version (no lost update) and tell a missing host apart."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from elemental_api.store import Conflict, NotFound
from elemental_api.store import sqlite as sqlite_store
from elemental_api.store.sqlite import SqliteStore
from elemental_core.hosts import may_be_released
from elemental_core.records import Host
from elemental_core.vocabulary import LABEL_RESET
from tests.helpers import make_registration, wait_for


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    opened = SqliteStore(str(tmp_path / "e.db"))
    make_registration(opened)
    return opened


def _host(name: str) -> Host:
    return Host(namespace="default", name=name, registration="test")


def _blocked_on(lock_file: Path) -> bool:
    """Whether some process waits for a flock of `lock_file` (Linux's /proc/locks marks the
    waiters with `->`; the inode identifies the file)."""
    inode = str(os.stat(lock_file).st_ino)
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "->" in fields and "FLOCK" in fields and fields[-3].rsplit(":", 1)[-1] == inode:
            return True
    return False


def _hosts_in_database_file(path: Path) -> int:
    """Hosts in the database file itself, not counting what is still only in its WAL."""
    with sqlite3.connect(f"file:{path}?immutable=1", uri=True) as db:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name='hosts'").fetchone():
            return 0  # not even the schema is in it yet
        return int(db.execute("SELECT count(*) FROM hosts").fetchone()[0])


def test_a_write_waits_for_the_holder_of_the_lock_file(store: SqliteStore, tmp_path: Path) -> None:
    lock_file = tmp_path / f"e.db{sqlite_store.LOCK_SUFFIX}"
    holder = os.open(lock_file, os.O_RDONLY)  # another process's writer, as far as flock knows
    fcntl.flock(holder, fcntl.LOCK_EX)
    writer = threading.Thread(target=store.create_host, args=(_host("waiting"),))
    try:
        writer.start()
        wait_for(lambda: _blocked_on(lock_file), 10, "the writer queued on the lock file")
        assert store.get_host("default", "waiting") is None
    finally:
        fcntl.flock(holder, fcntl.LOCK_UN)
        os.close(holder)
    writer.join(timeout=10)
    assert store.get_host("default", "waiting") is not None


def test_the_lock_file_is_owner_only(store: SqliteStore, tmp_path: Path) -> None:
    store.create_host(_host("h"))
    assert (os.stat(tmp_path / f"e.db{sqlite_store.LOCK_SUFFIX}").st_mode & 0o777) == 0o600


def test_the_wal_is_checkpointed_every_so_many_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "CHECKPOINT_EVERY", 3)
    path = tmp_path / "c.db"
    store = SqliteStore(str(path))
    try:
        store.create_host(_host("one"))
        store.create_host(_host("two"))
        assert _hosts_in_database_file(path) == 0  # SQLite's own checkpoints are off
        store.create_host(_host("three"))
        assert _hosts_in_database_file(path) == 3
    finally:
        store.close()


def test_an_update_from_a_stale_version_is_refused(store: SqliteStore) -> None:
    created = store.create_host(_host("h"))
    first, second = created.copy(), created.copy()
    first.phase, second.phase = "Running", "Installing"
    updated = store.update_host(first)
    assert updated.version == str(int(created.version) + 1)
    with pytest.raises(Conflict):
        store.update_host(second)
    stored = store.get_host("default", "h")
    assert stored is not None and stored.phase == "Running" and stored.version == updated.version


def test_an_update_of_a_missing_host_is_not_found(store: SqliteStore) -> None:
    with pytest.raises(NotFound):
        store.update_host(Host(namespace="default", name="gone", registration="test", version="1"))


def test_a_released_host_goes_only_from_its_current_version(store: SqliteStore) -> None:
    store.request_host_deletion(store.create_host(_host("h")))
    marked = store.get_host("default", "h")
    assert marked is not None and marked.deleting
    stale = _released(marked)
    marked.phase = "Running"  # another write lands first
    store.update_host(marked)
    with pytest.raises(Conflict):
        store.update_host(stale)
    current = store.get_host("default", "h")
    assert current is not None
    store.update_host(_released(current))
    assert store.get_host("default", "h") is None


def _released(host: Host) -> Host:
    """The host as its agent leaves it once reset."""
    released = host.copy()
    released.labels[LABEL_RESET] = "true"
    assert may_be_released(released), "the test's reset no longer matches the release rule"
    return released
