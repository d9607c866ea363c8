"""The errors handlers and security raise; connexion renders them as problem+json."""

from __future__ import annotations

from connexion.exceptions import ProblemException

RETRY_AFTER_SECONDS = 5


def bad_request(detail: str) -> ProblemException:
    return ProblemException(status=400, title="Bad Request", detail=detail)


def unauthorized(detail: str) -> ProblemException:
    return ProblemException(status=401, title="Unauthorized", detail=detail)


def forbidden(detail: str) -> ProblemException:
    return ProblemException(status=403, title="Forbidden", detail=detail)


def not_found(detail: str) -> ProblemException:
    return ProblemException(status=404, title="Not Found", detail=detail)


def conflict(detail: str) -> ProblemException:
    return ProblemException(status=409, title="Conflict", detail=detail)


def too_large(detail: str) -> ProblemException:
    return ProblemException(status=413, title="Payload Too Large", detail=detail)


def unavailable(detail: str = "the store is unavailable, retry later") -> ProblemException:
    return ProblemException(
        status=503,
        title="Service Unavailable",
        detail=detail,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )
