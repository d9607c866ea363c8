"""Access to what connexion's security step left for the handler."""

from __future__ import annotations

from typing import Any

from connexion import context

from elemental_api.services import Services, from_scope


def token_info() -> dict[str, Any]:
    info: dict[str, Any] = context.context["token_info"]
    return info


def services() -> Services:
    return from_scope(context.scope)
