"""Picks the name a host registers under (upstream's hostname formatter)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from elemental_agent.config import HostnameConfig

log = logging.getLogger(__name__)


def choose_hostname(conf: HostnameConfig, current: Callable[[], str]) -> str:
    """`prefix` + the machine's hostname with `useExisting`, else `prefix` + a random UUID."""
    if conf.use_existing:
        log.debug("Using existing hostname")
        return f"{conf.prefix}{current()}"
    log.debug("Using random hostname")
    return f"{conf.prefix}{uuid.uuid4()}"


def is_random(conf: HostnameConfig) -> bool:
    """Whether a new attempt picks a new name (so a name clash is worth another try)."""
    return not conf.use_existing
