"""Kubernetes naming rules for label and annotation keys (values are checked by the spec)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from elemental_core.vocabulary import PROVIDER_OWNED_PREFIXES

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
MAX_ANNOTATIONS_BYTES = 256 * 1024


class InvalidMetadata(ValueError):
    """A label or annotation breaks a rule; the message names it."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid Kubernetes label/annotation key, or None when it is.

    fullmatch, not match: `$` alone would let a trailing newline through ("key\\n").
    """
    prefix, _, name = key.rpartition("/")
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return "name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    if "/" in key and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        return "prefix must be a DNS-1123 subdomain"
    return None


def check_client_metadata(kind: str, items: Mapping[str, str] | None) -> None:
    """Refuses invalid keys and keys the provider owns in client-supplied labels/annotations."""
    if not items:
        return
    for key in items:
        problem = key_problem(key)
        if problem:
            raise InvalidMetadata(f"{kind} key '{_shorten(key)}' is invalid: {problem}")
        if key.startswith(PROVIDER_OWNED_PREFIXES):
            raise InvalidMetadata(f"{kind} key '{key}' is reserved for the provider")
    # Bytes of UTF-8, as the API server counts them (a Go string's len); JSON may carry a
    # lone surrogate, which the API server turns into U+FFFD: 3 bytes, as surrogatepass counts.
    size = sum(len(k) + len(v.encode("utf-8", "surrogatepass")) for k, v in items.items())
    if kind == "annotation" and size > MAX_ANNOTATIONS_BYTES:
        raise InvalidMetadata("annotations are over 256 KiB in total")


def _shorten(key: str) -> str:
    return key if len(key) <= 80 else key[:77] + "..."
