"""Item 9: no redirect is built from the request's Host header. A trailing `/` or `%2F`
answered 307 with `Location: http://<Host>/...` (for PATCH too), `/elemental//v1/...` 308.
Unknown or unusual paths are a plain 404 problem."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import HostIdentity, assert_problem


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("PATCH", "/"), ("PATCH", "%2F"), ("PATCH", "%2f"), ("DELETE", "/"), ("GET", "/bootstrap/")],
)
def test_host_paths_with_a_trailing_slash_are_404(
    client: Any, registered: HostIdentity, method: str, suffix: str
) -> None:
    response = client.request(
        method,
        registered.path + suffix,
        json={} if method == "PATCH" else None,
        headers={**registered.auth(), "Host": "attacker.example"},
        follow_redirects=False,
    )
    assert_problem(response, 404)
    assert "location" not in response.headers
    assert "attacker.example" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/elemental//v1/namespaces/default/registrations/reg",
        "/elemental/v1/namespaces/default/registrations/reg/",
        "/elemental/v1/namespaces/default/registrations/reg%2F",
        "/elemental/v1/ui",
        "/elemental/v1",
        "/no/such/path",
    ],
)
def test_unusual_paths_are_plain_404s(client: Any, registered: HostIdentity, path: str) -> None:
    headers = {
        "Registration-Authorization": f"Bearer {registered.registration.token}",
        "Host": "attacker.example",
    }
    response = client.get(path, headers=headers, follow_redirects=False)
    assert_problem(response, 404)
    assert "location" not in response.headers
