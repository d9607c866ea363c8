"""The embedded store: one SQLite file, transactions, a version per record.

It also plays the part the operator's finalizer plays on Kubernetes: a host marked for
deletion is asked to reset, and goes away once it reports the reset.

The file holds every registration's signing key and the bootstrap data (cluster
credentials): it is created owner-only (0600; SQLite gives its -wal and -shm files the
database's mode), in a directory created 0700 when it is missing (one level, as mkdir). An existing file
readable or writable by others is tightened to owner-only, with a warning in the log (refused
with a clear error when it can't be, for instance when another user owns it).
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import itertools
import json
import logging
import os
import sqlite3
import stat
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elemental_api.store.base import AlreadyExists, Conflict, NotFound, Rejected, StoreUnavailable
from elemental_core import names, registrations
from elemental_core.conditions import now_rfc3339
from elemental_core.hosts import marked_for_reset, may_be_released
from elemental_core.records import Bootstrap, Host, ObjectRef, Registration
from elemental_core.tokens import SigningKey
from elemental_core.vocabulary import (
    BOOTSTRAP_FORMAT_FIELD,
    BOOTSTRAP_VALUE_FIELD,
    DEFAULT_BOOTSTRAP_FORMAT,
    SIGNING_KEY_FIELD,
)

log = logging.getLogger(__name__)
FILE_MODE = 0o600
DIRECTORY_MODE = 0o700
LOCK_SUFFIX = "-lock"
_COMPANIONS = ("-wal", "-shm", "-journal", LOCK_SUFFIX)
# About SQLite's default of 1,000 WAL pages: a host record and its index entries fill ~2 pages.
CHECKPOINT_EVERY = 500

_SCHEMA = """
CREATE TABLE IF NOT EXISTS registrations (
    namespace TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS secrets (
    namespace TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
CREATE TABLE IF NOT EXISTS hosts (
    namespace TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (namespace, name));
"""


class SqliteStore:
    """The Store interface on an SQLite file; safe across threads and processes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._writes = itertools.count(1)
        self._write_lock = _WriteLock(None if path == ":memory:" else path + LOCK_SUFFIX)
        if path != ":memory:":
            _prepare_owner_only(path)
        try:
            self._connection().executescript(_SCHEMA)
        except sqlite3.Error as error:
            raise StoreUnavailable(f"cannot use {path}: {error}") from error

    # -- plumbing ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                # Checkpoints (which fsync) are run by _after_write, outside the write lock.
                db.execute("PRAGMA wal_autocheckpoint=0")
            except sqlite3.Error as error:
                raise StoreUnavailable(f"cannot open {self.path}: {error}") from error
            self._local.db = db
        return db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, entered once this store's writers before it are done (see
        _WriteLock); keep work that needs no lock (encoding, keys, tokens) outside it."""
        db = self._connection()
        try:
            with self._write_lock.held():
                db.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(str(error)) from error
        self._after_write(db)

    def _write(self, statement: str, args: tuple[str, ...]) -> int:
        """One statement, its own transaction; the number of rows it changed."""
        db = self._connection()
        try:
            with self._write_lock.held():
                changed = db.execute(statement, args).rowcount
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(str(error)) from error
        self._after_write(db)
        return changed

    def _after_write(self, db: sqlite3.Connection) -> None:
        """Every CHECKPOINT_EVERY writes of this process, copies the WAL into the database.

        SQLite's automatic checkpoint runs inside the COMMIT, so every other writer waited
        for its fsyncs; a passive checkpoint here, after the write lock is released, holds up
        only this request (writers go on appending to the WAL meanwhile)."""
        if next(self._writes) % CHECKPOINT_EVERY == 0:
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.OperationalError as error:  # the next one catches up
                log.warning("checkpoint failed", extra={"error": str(error)})

    def _read(self, table: str, namespace: str, name: str) -> tuple[int, dict[str, Any]] | None:
        try:
            row = (
                self._connection()
                .execute(
                    f"SELECT version, data FROM {table} WHERE namespace=? AND name=?",  # noqa: S608
                    (namespace, name),
                )
                .fetchone()
            )
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(str(error)) from error
        return (row[0], json.loads(row[1])) if row else None

    def _list(self, table: str, namespace: str | None) -> list[tuple[int, dict[str, Any]]]:
        query = f"SELECT version, data FROM {table}"  # noqa: S608
        args: tuple[str, ...] = ()
        if namespace is not None:
            query, args = query + " WHERE namespace=?", (namespace,)
        rows = self._connection().execute(query + " ORDER BY namespace, name", args).fetchall()
        return [(row[0], json.loads(row[1])) for row in rows]

    @staticmethod
    def _secret_holds(db: sqlite3.Connection, namespace: str, name: str, field: str) -> bool:
        """Signing keys and bootstrap data share the secrets table, as on Kubernetes: never
        let one overwrite the other (`web-bootstrap` may name both)."""
        row = db.execute(
            "SELECT data FROM secrets WHERE namespace=? AND name=?", (namespace, name)
        ).fetchone()
        return row is not None and field in json.loads(row[0])

    def ping(self) -> None:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error as error:
            raise StoreUnavailable(str(error)) from error

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- registrations ----------------------------------------------------------------------

    def get_registration(self, namespace: str, name: str) -> Registration | None:
        found = self._read("registrations", namespace, name)
        return _registration(*found) if found else None

    def list_registrations(self, namespace: str | None = None) -> list[Registration]:
        return [_registration(v, d) for v, d in self._list("registrations", namespace)]

    def create_registration(self, registration: Registration) -> Registration:
        try:
            names.check_registration_metadata(registration.host_labels, registration.host_annotations)
        except names.InvalidMetadata as error:
            raise Rejected(str(error)) from error
        # No operator here: the store completes the registration itself, by the core's rule.
        key = SigningKey.generate()
        config = registrations.complete(
            registration.config,
            namespace=registration.namespace,
            name=registration.name,
            api_endpoint="",
            signing_key=key,
        )
        stored = dataclasses.replace(
            registration,
            config=config,
            private_key_ref=registration.private_key_ref
            or {"name": registration.name, "namespace": registration.namespace},
            uid=registration.uid or str(uuid.uuid4()),
            version="1",
        )
        record = json.dumps(_fields(stored))
        secret = json.dumps({SIGNING_KEY_FIELD: base64.b64encode(key.to_pem()).decode()})
        with self._transaction() as db:
            if self._secret_holds(db, stored.namespace, stored.signing_key_secret, BOOTSTRAP_VALUE_FIELD):
                raise AlreadyExists(
                    f"secret {stored.namespace}/{stored.signing_key_secret} holds bootstrap data"
                )
            try:
                db.execute(
                    "INSERT INTO registrations VALUES (?, ?, 1, ?)",
                    (stored.namespace, stored.name, record),
                )
                db.execute(
                    "INSERT OR REPLACE INTO secrets VALUES (?, ?, 1, ?)",
                    (stored.namespace, stored.signing_key_secret, secret),
                )
            except sqlite3.IntegrityError as error:
                raise AlreadyExists(f"registration {stored.namespace}/{stored.name} exists") from error
        return stored

    def get_signing_key(self, registration: Registration) -> bytes | None:
        found = self._read("secrets", registration.namespace, registration.signing_key_secret)
        if not found or SIGNING_KEY_FIELD not in found[1]:
            return None
        return base64.b64decode(found[1][SIGNING_KEY_FIELD])

    # -- hosts ------------------------------------------------------------------------------

    def get_host(self, namespace: str, name: str) -> Host | None:
        found = self._read("hosts", namespace, name)
        return _host(*found) if found else None

    def list_hosts(self, namespace: str | None = None) -> list[Host]:
        return [_host(v, d) for v, d in self._list("hosts", namespace)]

    def create_host(self, host: Host) -> Host:
        stored = dataclasses.replace(host, version="1", created=host.created or now_rfc3339())
        record = json.dumps(_fields(stored))
        try:
            self._write("INSERT INTO hosts VALUES (?, ?, 1, ?)", (stored.namespace, stored.name, record))
        except sqlite3.IntegrityError as error:
            raise AlreadyExists(f"host {stored.namespace}/{stored.name} exists") from error
        return stored

    def update_host(self, host: Host) -> Host:
        # One statement each, checking the version itself: the shortest hold of the write lock.
        key = (host.namespace, host.name, host.version)
        if may_be_released(host):
            # The finalizer's job: a host being deleted goes away once it has reset.
            if self._write("DELETE FROM hosts WHERE namespace=? AND name=? AND version=?", key):
                return host
        else:
            record = json.dumps(_fields(host))  # the version is kept beside the data, not in it
            if self._write(
                "UPDATE hosts SET version=version+1, data=? WHERE namespace=? AND name=? AND version=?",
                (record, *key),
            ):
                return dataclasses.replace(host, version=str(int(host.version) + 1))
        if self._read("hosts", host.namespace, host.name) is None:
            raise NotFound(f"host {host.namespace}/{host.name}")
        raise Conflict(f"host {host.namespace}/{host.name} changed")

    def request_host_deletion(self, host: Host) -> None:
        while True:
            current = self.get_host(host.namespace, host.name)
            if current is None or current.deleting:
                return
            current = marked_for_reset(current)
            current.deleting = True
            try:
                self.update_host(current)
                return
            except Conflict:
                continue

    def get_bootstrap(self, host: Host) -> Bootstrap | None:
        if host.bootstrap_secret is None:
            return None
        found = self._read("secrets", host.bootstrap_secret.namespace, host.bootstrap_secret.name)
        if not found or BOOTSTRAP_VALUE_FIELD not in found[1]:
            return None
        data = found[1]
        return Bootstrap(
            config=base64.b64decode(data[BOOTSTRAP_VALUE_FIELD]).decode(),
            format=base64.b64decode(data[BOOTSTRAP_FORMAT_FIELD]).decode()
            if BOOTSTRAP_FORMAT_FIELD in data
            else DEFAULT_BOOTSTRAP_FORMAT,
        )

    def attach_bootstrap(self, host: Host, bootstrap: Bootstrap) -> Host:
        secret_name = f"{host.name}-bootstrap"
        data = json.dumps(
            {
                BOOTSTRAP_VALUE_FIELD: base64.b64encode(bootstrap.config.encode()).decode(),
                BOOTSTRAP_FORMAT_FIELD: base64.b64encode(bootstrap.format.encode()).decode(),
            }
        )
        with self._transaction() as db:
            if self._secret_holds(db, host.namespace, secret_name, SIGNING_KEY_FIELD):
                raise Conflict(f"secret {host.namespace}/{secret_name} holds a registration's signing key")
            db.execute(
                "INSERT OR REPLACE INTO secrets VALUES (?, ?, 1, ?)",
                (host.namespace, secret_name, data),
            )
        while True:
            current = self.get_host(host.namespace, host.name)
            if current is None:
                raise NotFound(f"host {host.namespace}/{host.name}")
            current.bootstrap_secret = ObjectRef(namespace=host.namespace, name=secret_name)
            try:
                return self.update_host(current)
            except Conflict:
                continue


class _WriteLock:
    """Lets one writer of the database at a time into SQLite: threads queue on a mutex and
    processes (gunicorn's workers, a CLI command) on flock(2) of PATH-lock, an empty file.

    SQLite's own wait for its write lock is a poll: a writer that finds the database locked
    sleeps 1, 2, 5 ... up to 100 ms between tries, and under a registration burst one
    unlucky writer lost try after try (p99 of 750 ms at 32 connections). Here a waiter is
    woken the moment the holder is done, so BEGIN IMMEDIATE seldom waits at all (only for
    a writer that does not take this lock, which SQLite's busy timeout still covers).
    The lock is a separate file because closing any descriptor of the database itself
    would drop the POSIX locks SQLite holds on it in this process."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._mutex = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._mutex:
            fd = self._descriptor()
            if fd is None:
                yield
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self) -> int | None:
        if self._path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            # A forked child opens its own: a descriptor shared with its parent would share
            # the parent's lock too, as flock locks belong to the open file.
            try:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
            except OSError as error:
                raise StoreUnavailable(f"cannot open {self._path}: {error.strerror or error}") from error
            self._pid = os.getpid()
        return self._fd


def _prepare_owner_only(path: str) -> None:
    """The database file, created 0600 (and its directory 0700 if missing); an existing one
    open to others tightened to 0600, or StoreUnavailable saying why it can't be."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if not os.path.isdir(directory) and os.path.isdir(os.path.dirname(directory)):
            # One level, as mkdir does: a mistyped deeper path still fails, and clearly.
            os.mkdir(directory, DIRECTORY_MODE)
            os.chmod(directory, DIRECTORY_MODE)  # mkdir's mode is subject to the umask
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
            os.chmod(path, FILE_MODE)
        except FileExistsError:
            pass
        for candidate in (path, *(path + suffix for suffix in _COMPANIONS)):
            _tighten(candidate)
    except OSError as error:
        raise StoreUnavailable(f"cannot make {path} owner-only: {error.strerror or error}") from error


def _tighten(path: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return
    if mode & 0o077:
        os.chmod(path, mode & 0o700)
        log.warning(
            "database file was open to other users: now owner-only",
            extra={"path": path, "mode": oct(mode), "now": oct(mode & 0o700)},
        )


def _fields(record: Registration | Host) -> dict[str, Any]:
    data = dataclasses.asdict(record)
    data.pop("version", None)
    return data


def _registration(version: int, data: dict[str, Any]) -> Registration:
    return Registration(**data, version=str(version))


def _host(version: int, data: dict[str, Any]) -> Host:
    ref = data.pop("bootstrap_secret", None)
    return Host(**data, bootstrap_secret=ObjectRef(**ref) if ref else None, version=str(version))
