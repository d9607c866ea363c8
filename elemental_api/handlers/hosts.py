"""createHost, patchHost, deleteHost, getBootstrap."""

from __future__ import annotations

import logging
import random
import time
from typing import Any, TypeVar

import flask
from pydantic import BaseModel, ValidationError

from elemental_api import problems
from elemental_api.handlers._context import services, token_info
from elemental_api.security import verify_new_host_token
from elemental_api.store import AlreadyExists, Conflict, NotFound
from elemental_core import hosts as host_rules
from elemental_core.names import MAX_QUOTED_CHARS
from elemental_core.records import Host
from elemental_core.vocabulary import host_path
from elemental_models.api import ApiBootstrapResponse, ApiHostCreateRequest, ApiHostPatchRequest

log = logging.getLogger(__name__)
MAX_WRITE_ATTEMPTS = 20
CONFLICT_BACKOFF_SECONDS = 0.005

Response = (
    tuple[dict[str, Any] | None, int] | tuple[dict[str, Any] | None, int, dict[str, str]] | flask.Response
)
# Several content types are declared per operation (JSON and problem+json): name ours.
JSON = {"Content-Type": "application/json"}
Model = TypeVar("Model", bound=BaseModel)


def create_host(namespace: str, registrationName: str, body: dict[str, Any]) -> Response:
    info = token_info()
    registration = info["registrationToken"]["registration"]
    request = _parse(ApiHostCreateRequest, body)
    svc = services()
    try:
        host = host_rules.new_host(registration, request)
    except host_rules.PatchRefused as error:
        raise problems.bad_request(str(error)) from error
    host = host_rules.seen(host, svc.clock(), svc.heartbeat_interval)
    verify_new_host_token(
        info["hostToken"]["pending_host_token"],
        registration=registration,
        host_name=request.name.root,
        pub_key=request.pubKey,
    )
    try:
        svc.store.create_host(host)
    except AlreadyExists as error:
        raise problems.conflict(
            f"ElementalHost '{host.name}' already exists in namespace '{namespace}'"
        ) from error
    log.info("host registered", extra=_ids(host))
    return _empty(201, Location=host_path(namespace, registrationName, host.name))


def patch_host(namespace: str, registrationName: str, hostName: str, body: dict[str, Any]) -> Response:
    patch = _parse(ApiHostPatchRequest, body)
    info = token_info()
    host: Host = info["host"]
    # The registration's host labels and annotations are its own: the patch can't change them.
    assigned = host_rules.Assigned.by(info["registration"])
    svc = services()
    store, now = svc.store, svc.clock()
    for attempt in range(MAX_WRITE_ATTEMPTS):
        try:
            changed = host_rules.apply_patch(host, patch, assigned)
        except host_rules.PatchRefused as error:
            raise problems.bad_request(str(error)) from error
        updated = host_rules.seen(changed, now, svc.heartbeat_interval)
        if updated == host:
            break  # a check-in inside the heartbeat interval that changes nothing writes nothing
        only_seen = changed == host
        accepted_reboot = updated.reboot_accepted != host.reboot_accepted
        try:
            host = store.update_host(updated)
            if only_seen:  # once per host and interval: not worth an info line each
                log.debug("host seen", extra=_ids(host))
            else:
                log.info("host patched", extra={**_ids(host), "phase": host.phase})
            if accepted_reboot:
                log.info(
                    "reboot request accepted", extra={**_ids(host), "rebootRequest": host.reboot_accepted}
                )
            break
        except Conflict:
            if only_seen:
                # Only the last-seen time was to be written, and the host changed since it was
                # read: most likely another replica (or worker) recording this very check-in
                # window. Dropped, not retried: one write per interval is the budget, and the
                # next check-in writes it if it is still due.
                break
            # Writers that collided would collide again at once: spread the retries out
            # (another replica's write also needs a moment to reach this replica's cache).
            time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * (attempt + 1)))  # noqa: S311
            current = store.get_host(namespace, hostName)
            if current is None:
                raise problems.not_found(f"ElementalHost '{hostName}' not found") from None
            host = current
        except NotFound as error:
            raise problems.not_found(f"ElementalHost '{hostName}' not found") from error
    else:
        raise problems.unavailable("the host is being changed by others too often, retry later")
    return host_rules.host_response(host).model_dump(mode="json", exclude_none=True), 200, JSON


def delete_host(namespace: str, registrationName: str, hostName: str) -> Response:
    host: Host = token_info()["host"]
    services().store.request_host_deletion(host)
    log.info("host marked for deletion", extra=_ids(host))
    return _empty(202)


def get_bootstrap(namespace: str, registrationName: str, hostName: str) -> Response:
    host: Host = token_info()["host"]
    bootstrap = services().store.get_bootstrap(host)
    if bootstrap is None:
        raise problems.not_found(f"ElementalHost '{hostName}' has no bootstrap data yet")
    # Never log the bootstrap data itself: it carries cluster credentials.
    log.info("bootstrap data served", extra=_ids(host))
    response = ApiBootstrapResponse(config=bootstrap.config, format=bootstrap.format)
    return response.model_dump(mode="json"), 200, JSON


def _parse(model: type[Model], body: dict[str, Any]) -> Model:
    """The validated body as its generated model.

    connexion's JSON Schema check ran already, but Python's `re` lets a pattern's `$` match
    before a trailing newline ("host-1\\n") while pydantic does not: what pydantic still
    refuses is bad input (400), not a server error.
    """
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(_short(str(part)) for part in first["loc"]) or "body"
        raise problems.bad_request(f"'{where}' is invalid: {first['msg']}") from None


def _empty(status: int, **headers: str) -> flask.Response:
    """An answer without a body, and so without a Content-Type (connexion would otherwise
    label it with the only media type the operation declares: problem+json)."""
    response = flask.Response(status=status, headers=headers)
    del response.headers["Content-Type"]
    return response


def _short(part: str) -> str:
    return part if len(part) <= MAX_QUOTED_CHARS else part[: MAX_QUOTED_CHARS - 3] + "..."


def _ids(host: Host) -> dict[str, str]:
    return {"namespace": host.namespace, "registration": host.registration, "host": host.name}
