"""The store interface both implementations honour, and its errors."""

from __future__ import annotations

from typing import Protocol

from elemental_core.records import Bootstrap, Host, Registration


class StoreError(Exception):
    """Base of store errors."""


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    """The record changed since it was read (optimistic concurrency); read again and retry."""


class Rejected(StoreError):
    """The backing store refused the change as invalid (for instance a CRD's schema)."""


class StoreUnavailable(StoreError):
    """The backing store cannot be reached right now; the caller may retry later."""


class Store(Protocol):
    """Registrations, their signing keys, hosts and bootstrap data.

    Hosts carry a `version`; `update_host` writes only if the stored version still matches
    and raises Conflict otherwise, so concurrent writers never lose an update.
    """

    def ping(self) -> None:
        """Raises StoreUnavailable when the store cannot serve requests."""

    def get_registration(self, namespace: str, name: str) -> Registration | None: ...

    def list_registrations(self, namespace: str | None = None) -> list[Registration]: ...

    def create_registration(self, registration: Registration) -> Registration:
        """Stores a new registration (its URI set, its token empty); AlreadyExists if taken.

        It is completed (signing-key Secret, token) by the one rule for that,
        elemental_core.registrations.complete: in-process by the embedded store, by the
        operator on Kubernetes (the answer may then still lack its token)."""

    def get_signing_key(self, registration: Registration) -> bytes | None:
        """The PEM private key (`privKey` of the registration's Secret)."""

    def get_host(self, namespace: str, name: str) -> Host | None: ...

    def list_hosts(self, namespace: str | None = None) -> list[Host]: ...

    def create_host(self, host: Host) -> Host:
        """AlreadyExists if a host of that name exists in the namespace."""

    def update_host(self, host: Host) -> Host:
        """Writes `host` if its version is current (Conflict otherwise); returns the new state."""

    def request_host_deletion(self, host: Host) -> None:
        """Marks the host for deletion; it goes away once it has reported a reset."""

    def get_bootstrap(self, host: Host) -> Bootstrap | None:
        """The bootstrap data the host's bootstrap secret holds, or None."""

    def attach_bootstrap(self, host: Host, bootstrap: Bootstrap) -> Host:
        """Stores bootstrap data as a Secret and points the host at it."""

    def close(self) -> None: ...
