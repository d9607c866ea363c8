"""The agent's API client against the real API app (served over TCP, on each store backend)."""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from elemental_agent.client import ElementalClient
from elemental_agent.config import Config
from elemental_agent.errors import ConfigError, RequestRefused, RetryableError
from elemental_agent.hostroot import HostRoot
from elemental_api.app import create_app
from elemental_api.store import Store, open_store
from elemental_core.records import Bootstrap, Registration
from elemental_core.tokens import SigningKey, verify_host_token
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest, V1Beta1Condition
from tests.agent.conftest import FailingServer, ThreadedServer, agent_config
from tests.helpers import make_registration, wait_for
from tests.live import free_port


def make_client(
    registration: Registration, root: Path, key: SigningKey | None = None, **agent: Any
) -> ElementalClient:
    data = agent_config(registration)
    data["agent"].update(agent)
    return ElementalClient(Config.from_dict(data), key or SigningKey.generate(), HostRoot(root))


def create(client: ElementalClient, name: str, **extra: Any) -> None:
    client.create_host(
        ApiHostCreateRequest.model_validate({"name": name, "pubKey": client.identity.public_pem(), **extra})
    )


@pytest.fixture
def registration(store: Store, api_server: ThreadedServer) -> Registration:
    return make_registration(store, name="reg", endpoint=api_server.base_url, host_labels={"site": "a"})[0]


def test_registration_host_patch_bootstrap_delete(
    store: Store, registration: Registration, tmp_path: Path, host_controller: None
) -> None:
    with make_client(registration, tmp_path) as client:
        got = client.get_registration()
        assert got.config is not None and got.config.elemental is not None
        assert got.config.elemental.registration is not None
        assert got.config.elemental.registration.uri == registration.uri
        assert got.hostLabels == {"site": "a"}

        create(client, "host-1", labels={"rack": "r1"})
        stored = store.get_host("default", "host-1")
        assert stored is not None and stored.labels == {"site": "a", "rack": "r1"}

        answer = client.patch_host(
            ApiHostPatchRequest(
                phase="Running",
                installed=True,
                condition=V1Beta1Condition(type="InstallationReady", status="True", severity="Info"),
            ),
            "host-1",
        )
        assert answer.installed is True and answer.bootstrapReady is False and answer.needsReset is False
        stored = store.get_host("default", "host-1")
        assert stored is not None and stored.phase == "Running"

        with pytest.raises(RequestRefused) as missing:
            client.get_bootstrap("host-1")
        assert missing.value.status == 404
        assert missing.value.detail == "ElementalHost 'host-1' has no bootstrap data yet"
        assert "no bootstrap data yet" in str(missing.value)

        assert stored is not None
        store.attach_bootstrap(
            stored, Bootstrap(config="#cloud-config\nruncmd: [true]\n", format="cloud-config")
        )
        bootstrap = client.get_bootstrap("host-1")
        assert (bootstrap.format, bootstrap.config) == ("cloud-config", "#cloud-config\nruncmd: [true]\n")

        client.delete_host("host-1")
        assert client.patch_host(ApiHostPatchRequest(), "host-1").needsReset is True
        client.patch_host(ApiHostPatchRequest(reset=True), "host-1")
        wait_for(lambda: store.get_host("default", "host-1") is None, what="the reset host gone")


def test_every_host_request_carries_a_fresh_one_minute_host_token(
    registration: Registration, tmp_path: Path
) -> None:
    seen: list[httpx.Request] = []
    key = SigningKey.generate()
    with make_client(registration, tmp_path, key) as client:
        client.event_hooks["request"].append(seen.append)
        create(client, "host-2")
        client.patch_host(ApiHostPatchRequest(), "host-2")
    post, patch = seen
    assert post.headers["Registration-Authorization"] == f"Bearer {registration.token}"
    assert post.headers["User-Agent"].startswith("elemental-agent/")
    for request in seen:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        claims = verify_host_token(
            token, public_key_pem=key.public_pem(), host_name="host-2", uri=registration.uri
        )
        assert claims["exp"] - claims["iat"] == 60
        assert claims["aud"] == [registration.uri]
        assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
        assert claims["iss"].startswith("elemental-agent/")
    assert "Registration-Authorization" not in patch.headers


def test_4xx_carries_the_servers_detail(registration: Registration, tmp_path: Path) -> None:
    with make_client(registration, tmp_path) as client:
        create(client, "host-3")
        with pytest.raises(RequestRefused) as conflict:
            create(client, "host-3")
        assert conflict.value.status == 409
        assert "ElementalHost 'host-3' already exists in namespace 'default'" in str(conflict.value)
        # another key for an existing host: refused with the reason
        with make_client(registration, tmp_path) as stranger, pytest.raises(RequestRefused) as forbidden:
            stranger.patch_host(ApiHostPatchRequest(), "host-3")
        assert forbidden.value.status == 403
        assert forbidden.value.detail
        with pytest.raises(RequestRefused, match="404") as missing:
            client.patch_host(ApiHostPatchRequest(), "no-such-host")
        assert missing.value.detail == "ElementalHost 'no-such-host' not found in this registration"
    registration.config["elemental"]["registration"]["token"] = "not-a-token"
    with make_client(registration, tmp_path) as client, pytest.raises(RequestRefused) as refused:
        client.get_registration()
    assert refused.value.status == 403
    assert "invalid registration token" in str(refused.value)


def test_5xx_is_retryable_with_the_detail(failing_server: FailingServer, tmp_path: Path) -> None:
    config = Config.from_dict(
        {
            "registration": {"uri": f"{failing_server.base_url}/elemental/v1/namespaces/d/registrations/r"},
            "agent": {"insecureAllowHttp": True},
        }
    )
    with (
        ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path)) as client,
        pytest.raises(RetryableError) as unavailable,
    ):
        client.patch_host(ApiHostPatchRequest(phase="Running"), "h")
    assert unavailable.value.status == 503
    assert "503" in str(unavailable.value) and "the store is unreachable" in str(unavailable.value)


def test_network_errors_are_retryable(tmp_path: Path) -> None:
    config = Config.from_dict(
        {
            "registration": {
                "uri": f"http://127.0.0.1:{free_port()}/elemental/v1/namespaces/d/registrations/r"
            },
            "agent": {"insecureAllowHttp": True},
        }
    )
    with (
        ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path)) as client,
        pytest.raises(RetryableError, match="cannot connect"),
    ):
        client.get_registration()


@pytest.mark.parametrize(
    ("uri", "agent", "message"),
    [
        ("http://api/elemental/v1/x", {}, "plain http: refused unless agent.insecureAllowHttp"),
        ("ftp://api/x", {"insecureAllowHttp": True}, "unknown scheme 'ftp'"),
        ("", {}, "registration.uri is not set"),
        ("https://api/x", {"caCert": "garbage"}, None),
        ("https://api/elemental/v1/x", {}, "is not a registration's URI"),
        ("https://api/v1/namespaces/d/registrations", {}, "is not a registration's URI"),
        ("https://api/v1/namespaces/d/registrations/r/hosts", {}, "is not a registration's URI"),
    ],
)
def test_refused_configurations(tmp_path: Path, uri: str, agent: dict[str, Any], message: str | None) -> None:
    registration = {"uri": uri}
    if "caCert" in agent:
        registration["caCert"] = agent.pop("caCert")
        message = "could not parse certificate"
    config = Config.from_dict({"registration": registration, "agent": agent})
    with pytest.raises(ConfigError, match=message):
        ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path))


# -- TLS -----------------------------------------------------------------------------------------


def _certificates(directory: Path) -> tuple[str, Path, Path]:
    """A CA, and a server certificate for 127.0.0.1 it signed: (CA PEM, cert file, key file)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = directory / "server.crt", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca.public_bytes(serialization.Encoding.PEM).decode(), cert_file, key_file


@pytest.fixture
def tls_api(tmp_path: Path) -> Iterator[tuple[Registration, str]]:
    ca_pem, cert_file, key_file = _certificates(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'tls.db'}")
    try:
        with ThreadedServer(
            create_app(store, api_endpoint="https://127.0.0.1"), certfile=cert_file, keyfile=key_file
        ) as server:
            registration = make_registration(store, endpoint=server.base_url)[0]
            yield registration, ca_pem
    finally:
        store.close()


def test_https_with_the_registration_ca_cert(tls_api: tuple[Registration, str], tmp_path: Path) -> None:
    registration, ca_pem = tls_api
    registration.config["elemental"]["registration"]["caCert"] = ca_pem
    with make_client(registration, tmp_path) as client:
        assert client.get_registration().config is not None
    # caCert may also name a file (inside --root)
    (tmp_path / "ca.pem").write_text(ca_pem)
    registration.config["elemental"]["registration"]["caCert"] = "/ca.pem"
    with make_client(registration, tmp_path) as client:
        assert client.get_registration().config is not None
    # the system pool plus the caCert
    registration.config["elemental"]["registration"]["caCert"] = ca_pem
    with make_client(registration, tmp_path, useSystemCertPool=True) as client:
        assert client.get_registration().config is not None


def test_https_without_a_trusted_ca_fails_unless_verification_is_skipped(
    tls_api: tuple[Registration, str], tmp_path: Path
) -> None:
    registration, _ca = tls_api
    with (
        make_client(registration, tmp_path) as client,
        pytest.raises(RetryableError, match="CERTIFICATE_VERIFY"),
    ):
        client.get_registration()
    with make_client(registration, tmp_path, useSystemCertPool=True) as client, pytest.raises(RetryableError):
        client.get_registration()
    with make_client(registration, tmp_path, insecureSkipTlsVerify=True) as client:
        assert client.get_registration().config is not None


# -- answers that are not the API's, and the wire ------------------------------------------------


def _client_of(server: FailingServer, tmp_path: Path) -> ElementalClient:
    config = Config.from_dict(
        {
            "registration": {"uri": f"{server.base_url}/elemental/v1/namespaces/d/registrations/r"},
            "agent": {"insecureAllowHttp": True},
        }
    )
    return ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path))


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "detail"),
    [
        # a documented status whose body is no problem (the SDK cannot parse it)
        (404, b"<html>no such page</html>", "text/html", RequestRefused, "<html>no such page</html>"),
        (503, b"<html>upstream down</html>", "text/html", RetryableError, "<html>upstream down</html>"),
        (400, b"{}", "application/json", RequestRefused, ""),
        # undocumented statuses, one of them no standard HTTP status at all
        (502, b"Bad Gateway", "text/plain", RetryableError, "Bad Gateway"),
        (599, b"", "text/plain", RetryableError, ""),
        (418, b'{"title": "teapot", "status": 418}', "application/json", RequestRefused, ""),
    ],
)
def test_answers_that_are_no_problem_keep_their_error_class(
    tmp_path: Path, status: int, body: bytes, content_type: str, error: type[Exception], detail: str
) -> None:
    with (
        FailingServer(status, body=body, content_type=content_type) as server,
        _client_of(server, tmp_path) as c,
    ):
        with pytest.raises(error) as raised:
            c.patch_host(ApiHostPatchRequest(phase="Running"), "h")
        assert isinstance(raised.value, RequestRefused | RetryableError)
        assert raised.value.status == status and raised.value.detail == detail
        assert f"patching host: the server answered {status}" in str(raised.value)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>captive portal</html>",
        b"[]",
        b'{"name": "h"}',
        b'{"name": "h", "installed": [1], '
        b'"bootstrapReady": false, "bootstrapped": false, "needsReset": false}',
    ],
)
def test_a_200_that_is_not_the_apis_answer_is_retryable(tmp_path: Path, body: bytes) -> None:
    with (
        FailingServer(200, body=body, content_type="application/json") as server,
        _client_of(server, tmp_path) as c,
    ):
        with pytest.raises(RetryableError, match="patching host: the 200 answer is not") as raised:
            c.patch_host(ApiHostPatchRequest(phase="Running"), "h")
        assert raised.value.status == 200


def test_the_bodies_and_headers_are_the_go_agents(registration: Registration, tmp_path: Path) -> None:
    """The SDK sends what the Go agent sends: the JSON of the request without nulls, as
    application/json, and the registration token as `Bearer <token>`."""
    seen: list[httpx.Request] = []
    patch = ApiHostPatchRequest(
        phase="Running",
        labels={"rack": "r1"},
        condition=V1Beta1Condition(type="InstallationReady", status="True", severity="Info"),
    )
    with make_client(registration, tmp_path) as client:
        client.event_hooks["request"].append(seen.append)
        client.get_registration()
        create(client, "host-wire", labels={"a": "b"}, annotations={"x/y": "z"})
        client.patch_host(patch, "host-wire")
    get, post, patched = seen
    assert get.headers["Registration-Authorization"] == f"Bearer {registration.token}"
    assert "Authorization" not in get.headers
    assert (get.method, get.url.path) == ("GET", "/elemental/v1/namespaces/default/registrations/reg")
    assert post.url.path == "/elemental/v1/namespaces/default/registrations/reg/hosts"
    assert json.loads(post.content) == {
        "name": "host-wire",
        "pubKey": client.identity.public_pem(),
        "labels": {"a": "b"},
        "annotations": {"x/y": "z"},
    }
    assert patched.method == "PATCH" and patched.url.path.endswith("/hosts/host-wire")
    assert json.loads(patched.content) == {
        "phase": "Running",
        "labels": {"rack": "r1"},
        "condition": {"type": "InstallationReady", "status": "True", "severity": "Info"},
    }
    for request in (post, patched):
        assert request.headers["Content-Type"] == "application/json"


def test_the_proxy_of_the_environment_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FailingServer(503, "through the proxy") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        config = Config.from_dict(
            {
                "registration": {
                    "uri": "http://api.invalid/elemental/v1/namespaces/d/registrations/r",
                    "token": "t",
                },
                "agent": {"insecureAllowHttp": True},
            }
        )
        with (
            ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path)) as client,
            pytest.raises(RetryableError, match="through the proxy"),
        ):
            client.get_registration()
        assert proxy.requests == ["GET http://api.invalid/elemental/v1/namespaces/d/registrations/r"]
        monkeypatch.setenv("NO_PROXY", "api.invalid")
        with (
            ElementalClient(config, SigningKey.generate(), HostRoot(tmp_path)) as client,
            pytest.raises(RetryableError, match="cannot connect"),
        ):
            client.get_registration()
        assert len(proxy.requests) == 1
