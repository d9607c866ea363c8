"""Item 11, the minor ones, and the store's refusals: `APPLICATION/JSON` reached the handler
as raw bytes (400 "not a dictionary"); `application/json ; charset=utf-8` was 415; the 405
on the host path said `Allow: PATCH` though DELETE is allowed; a body that never finishes
held its request for ever (the headers' deadline is a live-server test); the spec said the
Go agent sends bodies without Content-Type. And a write kube-apiserver refuses as invalid
(the store's `Rejected`) was a 500."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from elemental_api import guard
from elemental_api.app import create_app
from elemental_api.store import Rejected, Store
from elemental_core.records import Host
from elemental_core.vocabulary import LABEL_INSTALLED
from tests.helpers import HostIdentity, assert_problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "content_type",
    [
        "APPLICATION/JSON",
        "Application/Json",
        "application/json ; charset=utf-8",
        "application/json;charset=UTF-8",
        'application/json; charset="utf-8"',
    ],
)
def test_json_media_type_variants_are_read_as_json(
    client: Any, registered: HostIdentity, store: Store, content_type: str
) -> None:
    response = client.patch(
        registered.path,
        content=b'{"installed": true}',
        headers={**registered.auth(), "Content-Type": content_type},
    )
    assert response.status_code == 200, response.text
    assert store.get_host("default", registered.name).labels[LABEL_INSTALLED] == "true"  # type: ignore[union-attr]


@pytest.mark.parametrize("method", ["PUT", "POST", "GET"])
def test_405_on_the_host_path_allows_what_the_spec_declares(
    client: Any, registered: HostIdentity, method: str
) -> None:
    response = client.request(method, registered.path, headers=registered.auth())
    assert_problem(response, 405)
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"PATCH", "DELETE"}


def test_405_on_the_hosts_path_allows_post(client: Any, registered: HostIdentity) -> None:
    response = client.request("PUT", registered.hosts_path, headers=registered.auth())
    assert_problem(response, 405)
    assert response.headers["allow"] == "POST"


def test_a_body_that_never_finishes_is_408(monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    """Driven at the ASGI level: the client sends part of its body and then nothing."""
    monkeypatch.setattr(guard, "BODY_TIMEOUT_SECONDS", 0.2)
    app = create_app(store, api_endpoint="http://testserver")
    sent: list[dict[str, Any]] = []
    messages = [{"type": "http.request", "body": b'{"inst', "more_body": True}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await asyncio.Event().wait()  # never more
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "PATCH",
        "path": "/elemental/v1/namespaces/default/registrations/reg/hosts/h",
        "raw_path": b"/elemental/v1/namespaces/default/registrations/reg/hosts/h",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), 10))
    assert sent[0]["status"] == 408


def test_the_spec_says_what_the_go_agent_sends() -> None:
    description = yaml.safe_load((ROOT / "openapi.yaml").read_text())["info"]["description"]
    text = " ".join(description.split())
    assert "without `Content-Type` (as the Go agent sends it)" not in text
    assert "The Go agent sends `Content-Type: application/json` on POST and PATCH" in text


class RefusingStore:
    """The store interface (the project's own), refusing host writes as kube-apiserver refuses
    an invalid object: the only way to reach `Rejected` while the API's own limits hold."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def update_host(self, host: Host) -> Host:
        raise Rejected('ElementalHost "h" is invalid: metadata.annotations: Too long: ' + "Z" * 5000)


def test_a_write_the_store_refuses_as_invalid_is_400(store: Store, registered: HostIdentity) -> None:
    app = create_app(RefusingStore(store), api_endpoint="http://testserver")  # type: ignore[arg-type]
    with app.test_client() as client:
        response = client.patch(registered.path, json={"installed": True}, headers=registered.auth())
    assert_problem(response, 400, "refused")
    assert "ZZZZ" not in response.text


def test_existence_probing_with_a_bad_token_is_kept(client: Any, registered: HostIdentity) -> None:
    """Inherent to the protocol the Go agent relies on (its first PATCH, with a valid token,
    expects 404 for a host that does not exist yet): a missing host is 404, an existing
    one 403, whatever the token. docs/SECURITY.md says so."""
    stranger = HostIdentity(registered.registration, "nobody")
    assert_problem(client.patch(stranger.path, json={}, headers=stranger.auth()), 404)
    impostor = HostIdentity(registered.registration, registered.name)  # same name, another key
    assert_problem(client.patch(impostor.path, json={}, headers=impostor.auth()), 403)
