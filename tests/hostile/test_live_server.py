"""The attacks of the issue against the real server: `elemental-api serve`, gunicorn with
uvicorn workers, on SQLite. Raw sockets where an HTTP client would tidy the request up
(duplicate headers, `//` paths, a WebSocket handshake, a request that never ends).

Each test ends with the server's log: no error and no traceback, and no line over the
formatter's bound or repeating the input.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from elemental_api.connections import HEADER_TIMEOUT_SECONDS
from elemental_core import logs
from elemental_core.vocabulary import LABEL_INSTALLED
from tests.helpers import HostIdentity, register
from tests.hostile.conftest import ASSIGNED_ANNOTATIONS, ASSIGNED_LABELS
from tests.live import LiveServer, live_server  # noqa: F401  (fixture)

MAX_ECHO = 48


@pytest.fixture(scope="module")
def host(live_server: LiveServer) -> HostIdentity:  # noqa: F811
    registration = live_server.make_registration(
        name="hostile", host_labels=dict(ASSIGNED_LABELS), host_annotations=dict(ASSIGNED_ANNOTATIONS)
    )
    identity = HostIdentity(registration, "live-host")
    with live_server.client() as client:
        assert register(client, identity, labels=dict(ASSIGNED_LABELS)).status_code == 201
    return identity


@pytest.fixture
def clean_log(live_server: LiveServer) -> Iterator[None]:  # noqa: F811
    yield
    live_server.assert_no_server_errors()
    for line in live_server.log().splitlines():
        assert len(line) <= logs.MAX_LINE_CHARS, line[:200]
        assert not re.search("Z{" + str(MAX_ECHO + 1) + "}", line), line[:200]


def raw(server: LiveServer, request: bytes, timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
    """Sends `request` as is on a new connection; the answer's status, headers and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body


def request(
    method: str, path: str, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b""
) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    head = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        *(f"{k}: {v}" for k, v in items),
    ]
    if body:
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def assert_client_error(answer: tuple[int, dict[str, str], bytes], *statuses: int) -> dict[str, Any]:
    status, headers, body = answer
    assert status in statuses, (status, body[:300])
    assert headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status
    return problem


BODIES = {
    "deep-json": b'{"labels":' + b"[" * 1000 + b"]" * 1000 + b"}",
    "deep-unknown-field": b'{"x":' + b"[" * 990 + b"]" * 990 + b"}",
    "number-5000-digits": b'{"x": ' + b"1" * 5000 + b"}",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_hostile_bodies(live_server: LiveServer, host: HostIdentity, clean_log: None, body: bytes) -> None:  # noqa: F811
    json_type = {"Content-Type": "application/json"}
    assert_client_error(
        raw(live_server, request("PATCH", host.path, {**host.auth(), **json_type}, body)), 400
    )
    only_registration_token = {
        "Registration-Authorization": f"Bearer {host.registration.token}",
        "Authorization": "Bearer x",
        **json_type,
    }
    assert_client_error(
        raw(live_server, request("POST", host.hosts_path, only_registration_token, body)), 400
    )


CONTENT_TYPES = {
    "parameter-with-slash": [("Content-Type", 'application/json; x="a/b"')],
    "two-headers": [("Content-Type", "application/json"), ("Content-Type", "application/json")],
}


@pytest.mark.parametrize("content_type", CONTENT_TYPES.values(), ids=CONTENT_TYPES.keys())
def test_hostile_content_types(
    live_server: LiveServer,  # noqa: F811
    host: HostIdentity,
    clean_log: None,
    content_type: list[tuple[str, str]],
) -> None:
    headers = [*host.auth().items(), *content_type]
    assert_client_error(raw(live_server, request("PATCH", host.path, headers, b"{}")), 400, 415)


@pytest.mark.parametrize(
    "path",
    [
        "//elemental/v1/namespaces/default/registrations/hostile",
        "//elemental/v1/namespaces/default/registrations/hostile/hosts/live-host",
        "/elemental//v1/namespaces/default/registrations/hostile",
        "/elemental/v1/namespaces/default/registrations/hostile/hosts/live-host/",
        "/elemental/v1/namespaces/default/registrations/hostile/hosts/live-host%2F",
    ],
)
def test_unusual_paths_are_404_without_redirect(
    live_server: LiveServer,  # noqa: F811
    host: HostIdentity,
    clean_log: None,
    path: str,
) -> None:
    headers = {**host.create_headers(), "Content-Type": "application/json", "Host": "attacker.example"}
    answer = raw(live_server, request("PATCH", path, headers, b"{}").replace(b"Host: 127.0.0.1\r\n", b""))
    assert_client_error(answer, 404)
    assert "location" not in answer[1]


@pytest.mark.parametrize(
    "path", ["/elemental/v1/namespaces/default/registrations/hostile", "/healthz", "/nothing/here"]
)
def test_websocket_upgrade_is_plain_http(
    live_server: LiveServer,  # noqa: F811
    host: HostIdentity,
    clean_log: None,
    path: str,
) -> None:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    data = request("GET", path, headers).replace(b"Connection: close\r\n", b"")
    status, _, _ = raw(live_server, data)
    assert status != 101 and status < 500, status


def test_chunked_body_is_applied(live_server: LiveServer, host: HostIdentity, clean_log: None) -> None:  # noqa: F811
    body = b'{"installed": true}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:])) + b"0\r\n\r\n"
    headers = {**host.auth(), "Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    status, _, answer = raw(live_server, request("PATCH", host.path, headers) + chunked)
    assert status == 200, answer
    assert json.loads(answer)["installed"] is True
    stored = live_server.store().get_host("default", host.name)
    assert stored is not None and stored.labels[LABEL_INSTALLED] == "true"


def test_rejected_input_is_not_echoed_nor_logged(
    live_server: LiveServer,  # noqa: F811
    host: HostIdentity,
    clean_log: None,
) -> None:
    with live_server.client() as client:
        response = client.patch(host.path, json={"labels": {"k": "Z" * 900 * 1024}}, headers=host.auth())
    assert response.status_code == 400
    assert not re.search("Z{" + str(MAX_ECHO + 1) + "}", response.text)


def test_host_cannot_relabel_itself(live_server: LiveServer, host: HostIdentity, clean_log: None) -> None:  # noqa: F811
    with live_server.client() as client:
        response = client.patch(
            host.path,
            json={"labels": {"tier": "platinum"}, "annotations": {"owner": "attacker"}},
            headers=host.auth(),
        )
    assert response.status_code == 400
    stored = live_server.store().get_host("default", host.name)
    assert stored is not None and stored.labels["tier"] == "gold" and stored.annotations["owner"] == "ops"


def test_slow_request_headers_are_timed_out(live_server: LiveServer, clean_log: None) -> None:  # noqa: F811
    """A client sending its request line and then nothing: the server closes the connection
    once the headers' deadline has passed (it used to hold it for ever)."""
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(b"PATCH /elemental/v1/namespaces/default HTTP/1.1\r\nHost: x\r\n")
        sock.settimeout(HEADER_TIMEOUT_SECONDS + 20)
        assert sock.recv(1024) == b""  # closed (a timeout here raises instead)


def test_keep_alive_connections_still_serve_requests(
    live_server: LiveServer,  # noqa: F811
    host: HostIdentity,
    clean_log: None,
) -> None:
    """The headers' deadline closes nothing that talks in time: several requests, one connection."""
    with live_server.client() as client:
        for _ in range(3):
            assert client.patch(host.path, json={}, headers=host.auth()).status_code == 200


def test_huge_request_headers_are_431(live_server: LiveServer, clean_log: None) -> None:  # noqa: F811
    """uvicorn's httptools parser kept every header in memory, without a bound. Exactly one
    byte over the limit, never finished: the server has read all of it when it answers, so
    its close can't turn into a reset that loses the answer."""
    from elemental_api.connections import MAX_HEADER_BYTES

    start = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=30) as sock:
        sock.sendall(start + b"p" * (MAX_HEADER_BYTES + 1 - len(start)))
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer


def test_headers_within_the_limit_are_served(live_server: LiveServer, clean_log: None) -> None:  # noqa: F811
    headers = [(f"X-Pad-{i}", "p" * 1000) for i in range(40)]
    status, _, body = raw(live_server, request("GET", "/healthz", headers))
    assert (status, body) == (200, b"ok")
