"""Pure decisions about registrations: defaults, a new registration, the agent's view."""

from __future__ import annotations

import copy
from typing import Any

from elemental_core import tokens
from elemental_core.records import Registration
from elemental_core.vocabulary import (
    DEFAULT_OS_PLUGIN,
    DEFAULT_RECONCILIATION,
    DEFAULT_WORK_DIR,
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
    agent = elemental.setdefault(
        "agent",
        {
            "debug": False,
            "hostname": {"useExisting": False},
            "osPlugin": DEFAULT_OS_PLUGIN,
            "reconciliation": DEFAULT_RECONCILIATION,
        },
    )
    agent.setdefault("hostname", {"useExisting": True}).setdefault("useExisting", False)
    agent.setdefault("osPlugin", DEFAULT_OS_PLUGIN)
    agent.setdefault("reconciliation", DEFAULT_RECONCILIATION)
    agent.setdefault("workDir", DEFAULT_WORK_DIR)
    return result


def new_registration(
    *,
    namespace: str,
    name: str,
    api_endpoint: str,
    signing_key: tokens.SigningKey,
    token_duration_seconds: int = 0,
    host_labels: dict[str, str] | None = None,
    host_annotations: dict[str, str] | None = None,
    config: dict[str, Any] | None = None,
) -> Registration:
    """A registration with its URI and a fresh token, as the operator would complete it."""
    uri = registration_uri(api_endpoint, namespace, name)
    merged = copy.deepcopy(config or {})
    elemental = merged.setdefault("elemental", {})
    reg = elemental.setdefault("registration", {})
    reg["uri"] = uri
    if token_duration_seconds:
        reg["tokenDuration"] = token_duration_seconds * NANOSECONDS
    reg["token"] = tokens.issue_registration_token(signing_key, uri, token_duration_seconds)
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
        private_key_ref={"name": name, "namespace": namespace},
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
