"""Item 4: no request input yields a 500. Each of these answered 500 with a traceback in the
log; some need only the registration token (createHost reads its body before the host token
is checked), some no credentials at all. The same inputs against the live server are in
test_live_server.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import HostIdentity, assert_problem, registration_path
from tests.hostile.conftest import Unchanged

DEEP = b'{"labels":' + b"[" * 1000 + b"]" * 1000 + b"}"
DEEP_UNKNOWN = b'{"x":' + b"[" * 990 + b"]" * 990 + b"}"  # past the parser, into validation
LONG_NUMBER = b'{"installed": true, "x": ' + b"1" * 5000 + b"}"
BODIES = {"deep-1000": DEEP, "deep-990-unknown-field": DEEP_UNKNOWN, "number-5000-digits": LONG_NUMBER}


@pytest.mark.parametrize("content", BODIES.values(), ids=BODIES.keys())
def test_hostile_patch_bodies_are_400(
    client: Any, registered: HostIdentity, unchanged: Unchanged, content: bytes
) -> None:
    response = client.patch(
        registered.path, content=content, headers={**registered.auth(), "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("content", BODIES.values(), ids=BODIES.keys())
def test_hostile_create_bodies_with_only_the_registration_token_are_400(
    client: Any, registration: Any, content: bytes
) -> None:
    headers = {
        "Registration-Authorization": f"Bearer {registration.token}",
        "Authorization": "Bearer not-a-host-token",
        "Content-Type": "application/json",
    }
    path = f"{registration_path(registration)}/hosts"
    assert_problem(client.post(path, content=content, headers=headers), 400)


CONTENT_TYPES = {
    "parameter-with-slash": [("Content-Type", 'application/json; x="a/b"')],
    "two-headers": [("Content-Type", "application/json"), ("Content-Type", "application/json")],
    "two-different-headers": [("Content-Type", "application/json"), ("Content-Type", "text/plain")],
    "no-subtype": [("Content-Type", "application")],
    "garbage": [("Content-Type", ";;;/")],
    "non-ascii": [("Content-Type", b"application/json; charset=\xe9")],  # type: ignore[list-item]
    "utf-16": [("Content-Type", "application/json; charset=utf-16")],
}


@pytest.mark.parametrize("content_type", CONTENT_TYPES.values(), ids=CONTENT_TYPES.keys())
def test_hostile_content_types_are_4xx(
    client: Any, registered: HostIdentity, unchanged: Unchanged, content_type: list[tuple[str, str]]
) -> None:
    headers = [*registered.auth().items(), *content_type]
    response = client.patch(registered.path, content=b'{"installed": true}', headers=headers)
    assert response.status_code in (400, 415), response.text
    assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "//elemental/v1/namespaces/default/registrations/reg",
        "//elemental/v1/namespaces/default/registrations/reg/hosts/host-1",
        "/elemental/v1//namespaces/default/registrations/reg",
        "//healthz",
        "//metrics",
    ],
)
def test_double_slash_paths_are_404(client: Any, registered: HostIdentity, path: str) -> None:
    """connexion's router misses these, Flask merged the slashes and matched: a handler ran
    outside connexion's context (500, a 6 KB traceback logged per request)."""
    response = client.patch(path, json={}, headers=registered.create_headers(), follow_redirects=False)
    assert_problem(response, 404)


def test_a_deeply_nested_token_is_403(client: Any, registered: HostIdentity) -> None:
    """The token's own JSON: 8 KiB of `[` in its header overflowed the parser."""
    import base64

    header = base64.urlsafe_b64encode(b"[" * 6000).rstrip(b"=").decode()
    response = client.patch(registered.path, json={}, headers={"Authorization": f"Bearer {header}.e30.sig"})
    assert_problem(response, 403)


def test_websocket_upgrade_is_refused(client: Any, registered: HostIdentity) -> None:
    """In-process the app sees a websocket scope: it closes it before accepting (HTTP 403)."""
    from starlette.testclient import WebSocketDenialResponse
    from starlette.websockets import WebSocketDisconnect

    with (
        pytest.raises((WebSocketDisconnect, WebSocketDenialResponse)),
        client.websocket_connect(registered.path),
    ):
        pass
