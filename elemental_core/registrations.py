"""Pure decisions about registrations: defaults, completion, a new registration, the
agent's view.

Completion (URI, default CA, token) has one rule, `complete`: the operator applies it to
ElementalRegistrations on Kubernetes, and `new_registration` applies it in-process for the
embedded store, which has no operator."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core import tokens
from elemental_core.records import Registration
from elemental_core.vocabulary import (
    DEFAULT_OS_PLUGIN,
    DEFAULT_RECONCILIATION,
    DEFAULT_WORK_DIR,
    MISSING_API_ENDPOINT,
    MISSING_SIGNING_KEY,
    NANOSECONDS,
    registration_uri,
)
from elemental_models.api import ApiRegistrationResponse


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The registration config with the defaults upstream's CRD applies."""
    result = copy.deepcopy(config)
    elemental = result.get("elemental")
    if elemental is None:
        return result
    if elemental.get("agent") is None:
        elemental["agent"] = {
            "debug": False,
            "hostname": {"useExisting": False},
            "osPlugin": DEFAULT_OS_PLUGIN,
            "reconciliation": DEFAULT_RECONCILIATION,
        }
    agent = elemental["agent"]
    if agent.get("hostname") is None:  # upstream's CRD: a missing hostname section defaults so
        agent["hostname"] = {"useExisting": True}
    agent["hostname"].setdefault("useExisting", False)
    agent.setdefault("osPlugin", DEFAULT_OS_PLUGIN)
    agent.setdefault("reconciliation", DEFAULT_RECONCILIATION)
    agent.setdefault("workDir", DEFAULT_WORK_DIR)
    return result


def _section(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]`, created when missing or null: an empty YAML section (`agent:`) means
    "the defaults", as Kubernetes reads it (it prunes nulls)."""
    if parent.get(key) is None:
        parent[key] = {}
    section: dict[str, Any] = parent[key]
    return section


class CannotComplete(ValueError):
    """The registration cannot be completed as it stands: a terminal state until its spec
    or the provider's configuration changes (not an error to retry)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def needs_token(config: dict[str, Any]) -> bool:
    """Whether completing the registration will need its signing key (to sign a token)."""
    return not config.get("elemental", {}).get("registration", {}).get("token")


def complete(
    config: dict[str, Any],
    *,
    namespace: str,
    name: str,
    api_endpoint: str,
    signing_key: tokens.SigningKey | None,
    default_ca: str = "",
) -> dict[str, Any]:
    """The registration's config with what the provider fills in and the user left empty:
    the URI (from the API endpoint), the default CA, and a token signed by the key.
    A token that is not a JWT (upstream's "disabled") is the user's choice and is kept."""
    result = copy.deepcopy(config)
    reg = result.setdefault("elemental", {}).setdefault("registration", {})
    if not reg.get("uri"):
        if not api_endpoint:
            raise CannotComplete(
                MISSING_API_ENDPOINT,
                "no API endpoint is configured (operator --api-endpoint or ELEMENTAL_API_ENDPOINT) "
                "and spec.config.elemental.registration.uri is empty",
            )
        reg["uri"] = registration_uri(api_endpoint, namespace, name)
    if not reg.get("caCert") and default_ca:
        reg["caCert"] = default_ca
    if not reg.get("token"):
        if signing_key is None:
            raise CannotComplete(
                MISSING_SIGNING_KEY,
                "the signing key Secret is missing: clear spec.privateKeyRef to create a new one",
            )
        duration_seconds = int(reg.get("tokenDuration") or 0) / NANOSECONDS
        reg["token"] = tokens.issue_registration_token(signing_key, reg["uri"], duration_seconds)
    return result


def new_registration(
    *,
    namespace: str,
    name: str,
    api_endpoint: str,
    token_duration_seconds: int = 0,
    host_labels: dict[str, str] | None = None,
    host_annotations: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Registration:
    """A new registration as a user asks for it: its URI on `api_endpoint`, the CRD's
    defaults, no token yet (the store's completion adds key and token: see `complete`)."""
    uri = registration_uri(api_endpoint, namespace, name)
    merged = copy.deepcopy(config or {})
    reg = _section(_section(merged, "elemental"), "registration")
    reg["uri"] = uri
    reg.pop("token", None)
    if token_duration_seconds:
        reg["tokenDuration"] = token_duration_seconds * NANOSECONDS
    merged = with_defaults(merged)
    if uri.startswith("http://"):
        # An agent refuses plain http unless told otherwise; a local http API needs this.
        merged["elemental"]["agent"].setdefault("insecureAllowHttp", True)
    return Registration(
        namespace=namespace,
        name=name,
        config=merged,
        host_labels=dict(host_labels or {}),
        host_annotations=dict(host_annotations or {}),
    )


def registration_response(registration: Registration) -> ApiRegistrationResponse:
    return ApiRegistrationResponse.model_validate(
        {
            "config": registration.config,
            "hostLabels": registration.host_labels or None,
            "hostAnnotations": registration.host_annotations or None,
        }
    )


def agent_config(registration: Registration) -> dict[str, Any]:
    """The agent's config file (`/etc/elemental/agent/config.yaml`) for this registration."""
    elemental = registration.config.get("elemental", {})
    return {
        "registration": copy.deepcopy(elemental.get("registration", {})),
        "agent": copy.deepcopy(elemental.get("agent", {})),
    }
