"""The Kubernetes layer's errors: an HTTP status or a network failure is mapped to one of
these once, in `client.call`, and callers decide by class (retry, 404, 409, 503)."""

from __future__ import annotations


class KubeError(Exception):
    """Transient: retry later."""


class NotFound(KubeError):
    pass


class Conflict(KubeError):
    """409: the object changed since it was read (or, on create, already exists)."""


class Unavailable(KubeError):
    """kube-apiserver cannot be reached or answered 429/5xx."""


class Forbidden(Unavailable):
    """401/403: the program's credentials lack a permission (see docs/RBAC.md)."""
