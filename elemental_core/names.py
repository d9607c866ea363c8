"""Kubernetes naming rules: object names, label and annotation keys, label values; and the
rules for the labels and annotations a registration gives its hosts.

One place for the rules the API (through the spec's patterns), the CLI and the stores apply.
Every check is a full match (`re.fullmatch`): `$` alone would let a trailing newline through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from elemental_core.vocabulary import PROVIDER_OWNED_PREFIXES

_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
MAX_LABEL_VALUE_CHARS = 63
MAX_DNS_LABEL_CHARS = 63
MAX_SUBDOMAIN_CHARS = 253
MAX_ANNOTATIONS_BYTES = 256 * 1024
# A registration's host labels and annotations: at most half of what a host may carry, so a
# host always has room for the labels it reports itself (elemental_core.hosts).
MAX_REGISTRATION_HOST_LABELS = 64
MAX_REGISTRATION_HOST_ANNOTATIONS = 64
# How much of a client's input an error message may quote.
MAX_QUOTED_CHARS = 40


class InvalidMetadata(ValueError):
    """A name, label or annotation breaks a rule; the message names it."""


def key_problem(key: str) -> str | None:
    """Why `key` is not a valid Kubernetes label/annotation key, or None when it is."""
    prefix, _, name = key.rpartition("/")
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return "name part must be 1-63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    if "/" in key and (not prefix or len(prefix) > 253 or not _SUBDOMAIN.fullmatch(prefix)):
        return "prefix must be a DNS-1123 subdomain"
    return None


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a valid Kubernetes label value, or None when it is (empty is valid)."""
    if value == "":
        return None
    if len(value) > MAX_LABEL_VALUE_CHARS or not _NAME.fullmatch(value):
        return "must be at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric"
    return None


def name_problem(value: str, *, dns_label: bool = False) -> str | None:
    """Why `value` is not a DNS-1123 subdomain (object names) or label (namespaces)."""
    pattern, limit = (_DNS_LABEL, MAX_DNS_LABEL_CHARS) if dns_label else (_SUBDOMAIN, MAX_SUBDOMAIN_CHARS)
    if len(value) > limit or not pattern.fullmatch(value):
        kind = "label" if dns_label else "subdomain"
        return f"must be a DNS-1123 {kind} (lowercase alphanumerics and '-', at most {limit} characters)"
    return None


def is_provider_owned(key: str) -> bool:
    return key.startswith(PROVIDER_OWNED_PREFIXES)


def check_client_metadata(kind: str, items: Mapping[str, str] | None) -> None:
    """Refuses invalid keys and keys the provider owns in client-supplied labels/annotations."""
    if not items:
        return
    for key in items:
        problem = key_problem(key)
        if problem:
            raise InvalidMetadata(f"{kind} key {quote(key)} is invalid: {problem}")
        if is_provider_owned(key):
            raise InvalidMetadata(f"{kind} key {quote(key)} is reserved for the provider")
    if kind == "annotation" and annotations_bytes(items) > MAX_ANNOTATIONS_BYTES:
        raise InvalidMetadata("annotations are over 256 KiB in total")


def check_registration_metadata(labels: Mapping[str, str], annotations: Mapping[str, str]) -> None:
    """The host labels and annotations a registration may give its hosts.

    No provider-owned keys: a host echoes its registration's labels when it registers, and
    the API refuses provider-owned keys from hosts, so such a registration would leave hosts
    that can never register (and it would let a registration mark hosts installed or taken).
    """
    check_client_metadata("host label", labels)
    check_client_metadata("host annotation", annotations)
    for key, value in labels.items():
        problem = label_value_problem(value)
        if problem:
            raise InvalidMetadata(f"host label {quote(key)}: value {quote(value)} is invalid: {problem}")
    if len(labels) > MAX_REGISTRATION_HOST_LABELS:
        raise InvalidMetadata(f"a registration has at most {MAX_REGISTRATION_HOST_LABELS} host labels")
    if len(annotations) > MAX_REGISTRATION_HOST_ANNOTATIONS:
        raise InvalidMetadata(
            f"a registration has at most {MAX_REGISTRATION_HOST_ANNOTATIONS} host annotations"
        )


def annotations_bytes(items: Mapping[str, str]) -> int:
    """Annotations' size as Kubernetes counts it (keys and values, in bytes)."""
    # A Go string's len; JSON may carry a lone surrogate, which the API server turns into
    # U+FFFD: 3 bytes, as surrogatepass counts it.
    return sum(
        len(k.encode("utf-8", "surrogatepass")) + len(v.encode("utf-8", "surrogatepass"))
        for k, v in items.items()
    )


def quote(value: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """`value` quoted for a message: at most `limit` characters of it, control characters
    escaped, so no input can make a message long or send raw terminal escapes."""
    shown = value if len(value) <= limit else value[: limit - 3] + "..."
    return repr(shown)
