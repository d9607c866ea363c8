"""Item 6: a valid chunked body (no Content-Length, as an HTTP/1.1 client streaming it
sends) was refused with 400 "RequestBody is required". Now read whole, within the 1 MiB
limit, and handled as any other body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from elemental_core.vocabulary import LABEL_INSTALLED
from tests.helpers import HostIdentity, assert_problem
from tests.hostile.conftest import JSON, Unchanged

MIB = 1024 * 1024


def chunked(body: bytes, size: int = 7) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def test_chunked_patch_is_applied(client: Any, registered: HostIdentity, store: Any) -> None:
    body = json.dumps({"installed": True, "phase": "Running"}).encode()
    response = client.patch(registered.path, content=chunked(body), headers={**registered.auth(), **JSON})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 200, response.text
    stored = store.get_host("default", registered.name)
    assert stored.labels[LABEL_INSTALLED] == "true" and stored.phase == "Running"


def test_chunked_create_is_applied(client: Any, registration: Any, store: Any) -> None:
    host = HostIdentity(registration, "streamed")
    body = json.dumps(host.create_body(labels={"tier": "gold"})).encode()
    response = client.post(
        host.hosts_path, content=chunked(body, 64), headers={**host.create_headers(), **JSON}
    )
    assert response.status_code == 201, response.text
    assert store.get_host("default", "streamed") is not None


def test_chunked_body_over_the_limit_is_413(
    client: Any, registered: HostIdentity, unchanged: Unchanged
) -> None:
    body = b'{"installed": true, "pad": "' + b" " * MIB + b'"}'
    response = client.patch(
        registered.path, content=chunked(body, 64 * 1024), headers={**registered.auth(), **JSON}
    )
    assert_problem(response, 413, "1 MiB")
