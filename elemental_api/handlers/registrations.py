"""getRegistration."""

from __future__ import annotations

from typing import Any

from elemental_api.handlers._context import token_info
from elemental_core.registrations import registration_response


def get_registration(namespace: str, registrationName: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    registration = token_info()["registration"]
    return (
        registration_response(registration).model_dump(mode="json", exclude_none=True),
        200,
        {"Content-Type": "application/json"},
    )
