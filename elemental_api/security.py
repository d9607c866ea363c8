"""Token checks bound to the spec's security schemes (x-apikeyInfoFunc / x-bearerInfoFunc).

Connexion answers 401 itself when a header is missing. These functions find the records the
path names, verify the token against them, and hand the records to the handler through the
returned token info, so a check-in reads each record once.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from connexion.lifecycle import ConnexionRequest

from elemental_api import problems
from elemental_api.services import Services, from_scope
from elemental_api.store import StoreUnavailable
from elemental_core import tokens
from elemental_core.records import Registration

log = logging.getLogger(__name__)
_BEARER = "bearer "
# A compact JWS (header.payload.signature, base64url): the bare registration token.
_COMPACT_JWS = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
# Where the request's registration is kept once read (the ASGI scope is per request).
_SCOPE_REGISTRATION = "elemental_api.registration"


def verify_registration_header(api_key: str, request: ConnexionRequest) -> dict[str, Any]:
    """`Registration-Authorization: Bearer <registration token>` (the Go agent's wire format),
    or the bare token: an OpenAPI apiKey scheme sends the value as typed, and the token is
    typed as `registration agent-config` prints it."""
    token = _registration_token(api_key)
    services = from_scope(request.scope)
    registration = _registration(services, request)
    signing_key = _store_call(services.store.get_signing_key, registration)
    if signing_key is None:
        log.error("registration has no signing key", extra=_ids(registration))
        raise problems.forbidden("registration token can't be verified: the registration has no signing key")
    try:
        tokens.verify_registration_token(token, signing_key_pem=signing_key, uri=registration.uri)
    except tokens.InvalidKey as error:
        log.error("registration signing key unusable", extra=_ids(registration))
        raise problems.forbidden("registration token can't be verified") from error
    except tokens.InvalidToken as error:
        _denied("registration", registration, error)
        raise problems.forbidden(f"invalid registration token: {error}") from error
    return {"registration": registration}


def _registration_token(header: str) -> str:
    if header[: len(_BEARER)].lower() == _BEARER:
        return header[len(_BEARER) :].strip()
    if _COMPACT_JWS.match(header.strip()):
        return header.strip()
    raise problems.unauthorized("Registration-Authorization is neither a Bearer token nor a bare JWT")


def verify_host_bearer(token: str, request: ConnexionRequest) -> dict[str, Any]:
    """`Authorization: Bearer <host token>` for the host named in the path.

    On createHost the path names no host yet: the key is in the request body, so the
    handler checks the token (`verify_new_host_token`) once the body has been validated.
    """
    services = from_scope(request.scope)
    registration = _registration(services, request)
    host_name = request.path_params.get("hostName")
    if host_name is None:
        return {"registration": registration, "pending_host_token": token}
    host = _store_call(services.store.get_host, registration.namespace, host_name)
    if host is None or host.registration != registration.name:
        raise problems.not_found(f"ElementalHost '{host_name}' not found in this registration")
    try:
        tokens.verify_host_token(
            token, public_key_pem=host.pub_key, host_name=host.name, uri=registration.uri
        )
    except (tokens.InvalidToken, tokens.InvalidKey) as error:
        _denied("host", registration, error, host=host.name)
        raise problems.forbidden(f"invalid host token: {error}") from error
    return {"registration": registration, "host": host}


def verify_new_host_token(token: str, *, registration: Registration, host_name: str, pub_key: str) -> None:
    """The createHost host token: signed by the key the body carries, for the body's name."""
    try:
        tokens.load_public_key(pub_key)
    except tokens.InvalidKey as error:
        raise problems.bad_request(f"pubKey is invalid: {error}") from error
    try:
        tokens.verify_host_token(token, public_key_pem=pub_key, host_name=host_name, uri=registration.uri)
    except tokens.InvalidToken as error:
        _denied("host", registration, error, host=host_name)
        raise problems.forbidden(f"invalid host token: {error}") from error


def _registration(services: Services, request: ConnexionRequest) -> Registration:
    """The registration the path names, read once per request: createHost's two security
    schemes both need it, and both then check against the same version of it."""
    known: Registration | None = request.scope.get(_SCOPE_REGISTRATION)
    if known is not None:
        return known
    namespace = request.path_params.get("namespace", "")
    name = request.path_params.get("registrationName", "")
    registration: Registration | None = _store_call(services.store.get_registration, namespace, name)
    if registration is None:
        raise problems.not_found(f"ElementalRegistration '{name}' not found")
    request.scope[_SCOPE_REGISTRATION] = registration
    return registration


def _store_call(function: Any, *args: Any) -> Any:
    try:
        return function(*args)
    except StoreUnavailable as error:
        log.warning("store unavailable", extra={"error": str(error)})
        raise problems.unavailable() from error


def _denied(kind: str, registration: Registration, error: Exception, host: str | None = None) -> None:
    log.info(f"{kind} token refused", extra={**_ids(registration), "host": host, "reason": str(error)})


def _ids(registration: Registration) -> dict[str, str]:
    return {"namespace": registration.namespace, "registration": registration.name}
