"""Settings the programs read the same way: the API's URL from upstream's clusterctl
variables (ELEMENTAL_API_PROTOCOL://ELEMENTAL_API_ENDPOINT), one name for one setting."""

from __future__ import annotations

import math
from collections.abc import Mapping

PROTOCOLS = ("http", "https")


def api_endpoint_from(environ: Mapping[str, str]) -> str | None:
    """The API's URL from the environment, or None when ELEMENTAL_API_ENDPOINT is unset.

    ELEMENTAL_API_ENDPOINT is a host name (and port), as upstream's; a value that already
    carries a scheme is taken as the whole URL."""
    endpoint = environ.get("ELEMENTAL_API_ENDPOINT", "").strip()
    if not endpoint:
        return None
    if endpoint.startswith(("http://", "https://")):
        return endpoint
    protocol = environ.get("ELEMENTAL_API_PROTOCOL") or "https"
    if protocol not in PROTOCOLS:
        raise ValueError(f"ELEMENTAL_API_PROTOCOL must be http or https, not {protocol!r}")
    return f"{protocol}://{endpoint}"


def seconds_setting(flag: str, value: str | None, default: float, zero: bool = False) -> float:
    """A number of seconds from a flag or its variable (`default` when unset): above 0, or 0
    itself too if `zero`; ValueError naming the flag otherwise."""
    if value is None or value == "":
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds >= 0 if zero else seconds > 0) or math.isinf(seconds):
        raise ValueError(f"{flag} {value!r} must be a number of seconds{'' if zero else ' above 0'}")
    return seconds


def count_setting(flag: str, value: str | None, default: int) -> int:
    """A count from a flag or its variable (`default` when unset): a whole number, at least 1;
    ValueError naming the flag otherwise."""
    if value is None or value == "":
        return default
    try:
        count = int(value)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(f"{flag} {value!r} must be a whole number, at least 1")
    return count
