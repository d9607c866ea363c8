"""elemental-agent: drives one host through the Elemental lifecycle (register, install, bootstrap,
run, reset) against the Elemental API, with an OS plugin doing the host-specific work."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("elemental-capi")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0"
