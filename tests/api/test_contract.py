"""The contract: openapi.yaml is valid, matches upstream's operations, is what the app serves,
the generated models match it, and the Go agent's requests and expectations still hold."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from elemental_api import app as app_module
from elemental_api.store import Store, open_store
from elemental_core.records import Bootstrap
from tests.helpers import HostIdentity, register, registration_path

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILE = ROOT / "openapi.yaml"
BASE = "/elemental/v1"
REGISTRATION = "/namespaces/{namespace}/registrations/{registrationName}"
HOSTS = f"{REGISTRATION}/hosts"
HOST = f"{HOSTS}/{{hostName}}"

# Upstream's (rancher-sandbox/cluster-api-provider-elemental) Elemental API v1: every one of
# these paths, methods and status codes must be declared (more may be, never fewer).
UPSTREAM: dict[str, tuple[str, str, set[int]]] = {
    "getRegistration": (REGISTRATION, "get", {200, 401, 403, 404}),
    "createHost": (HOSTS, "post", {201, 400, 401, 403, 404, 409}),
    "patchHost": (HOST, "patch", {200, 400, 401, 403, 404}),
    "deleteHost": (HOST, "delete", {202, 401, 403, 404}),
    "getBootstrap": (f"{HOST}/bootstrap", "get", {200, 401, 403, 404}),
}
SECURITY: dict[str, list[dict[str, list[str]]]] = {
    "getRegistration": [{"registrationToken": []}],
    "createHost": [{"registrationToken": [], "hostToken": []}],
    "patchHost": [{"hostToken": []}],
    "deleteHost": [{"hostToken": []}],
    "getBootstrap": [{"hostToken": []}],
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text())
    return loaded


def operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (path, method, operation)."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                assert "operationId" in operation, f"{method.upper()} {path} has no operationId"
                assert operation["operationId"] not in found, f"duplicate {operation['operationId']}"
                found[operation["operationId"]] = (path, method, operation)
    return found


def resolve(node: Any, root: dict[str, Any]) -> Any:
    """The node with every local $ref replaced by what it points at."""
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, root)
        return {key: resolve(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, root) for value in node]
    return node


# --- the spec ---------------------------------------------------------------------------


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": BASE}]


def test_app_loads_the_spec_at_the_repository_root(spec: dict[str, Any], tmp_path: Path) -> None:
    # The file the app opens is the repository's (not a copy that could drift from it) ...
    assert app_module.SPEC_PATH.resolve() == SPEC_FILE
    assert app_module.SPEC_PATH.samefile(SPEC_FILE)
    # ... and what the running app serves is that file's content: refs intact, every `x-`
    # key left out, the configured endpoint as the server.
    store = open_store(f"sqlite:///{tmp_path / 'e.db'}")
    try:
        with app_module.create_app(store, api_endpoint="http://testserver").test_client() as client:
            served = client.get(f"{BASE}/openapi.json")
    finally:
        store.close()
    assert served.status_code == 200
    expected = without_extensions(spec)
    expected["servers"] = [
        {"url": "http://testserver/elemental/v1", "description": "This API, at its configured endpoint."}
    ]
    assert served.json() == expected


def without_extensions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: without_extensions(v) for k, v in node.items() if not str(k).startswith("x-")}
    if isinstance(node, list):
        return [without_extensions(v) for v in node]
    return node


def test_every_operation_has_an_operation_id(spec: dict[str, Any]) -> None:
    # operations() refuses an operation without an id, or a duplicate id.
    assert set(UPSTREAM) <= set(operations(spec))


@pytest.mark.parametrize("operation_id", UPSTREAM)
def test_operation_matches_upstream(spec: dict[str, Any], operation_id: str) -> None:
    path, method, statuses = UPSTREAM[operation_id]
    found_path, found_method, operation = operations(spec)[operation_id]
    assert (found_path, found_method) == (path, method)
    declared = {int(code) for code in operation["responses"]}
    assert statuses <= declared, f"{operation_id} lacks {sorted(statuses - declared)}"
    assert operation["security"] == SECURITY[operation_id]


def test_every_error_response_is_problem_json(spec: dict[str, Any]) -> None:
    for operation_id, (_, _, operation) in operations(spec).items():
        for code, response in resolve(operation["responses"], spec).items():
            if int(code) >= 400:
                assert set(response.get("content", {})) == {"application/problem+json"}, (operation_id, code)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == resolve(spec["components"]["schemas"]["Problem"], spec)


def test_both_security_schemes_exist(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    registration = schemes["registrationToken"]
    assert (registration["type"], registration["in"], registration["name"]) == (
        "apiKey",
        "header",
        "Registration-Authorization",
    )
    assert registration["x-apikeyInfoFunc"] == "elemental_api.security.verify_registration_header"
    host = schemes["hostToken"]
    assert (host["type"], host["scheme"]) == ("http", "bearer")
    assert host["x-bearerInfoFunc"] == "elemental_api.security.verify_host_bearer"


def test_generated_models_match_the_spec() -> None:
    result = subprocess.run(
        [str(ROOT / "scripts" / "generate"), "--check"],
        cwd=ROOT,
        env={**os.environ, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- what the app serves ----------------------------------------------------------------


def test_spec_is_served_as_json(client: Any, spec: dict[str, Any]) -> None:
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    served = response.json()
    # The contract as written, $refs intact (tests/contract/test_published_spec.py has the rest).
    assert served["paths"][REGISTRATION]["parameters"] == spec["paths"][REGISTRATION]["parameters"]
    assert served["info"]["version"] == spec["info"]["version"]


def test_swagger_ui_is_served(client: Any) -> None:
    response = client.get(f"{BASE}/ui/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger" in response.text.lower()


def test_health_and_readiness(client: Any) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert (response.status_code, response.text) == (200, "ok")


def _requests_total(metrics: str, method: str, route: str, status: str) -> float:
    pattern = re.compile(
        r"^elemental_api_requests_total\{([^}]*)\} ([0-9.e+]+)$",
        re.MULTILINE,
    )
    for labels, value in pattern.findall(metrics):
        found = dict(re.findall(r'(\w+)="([^"]*)"', labels))
        if found == {"method": method, "route": route, "status": status}:
            return float(value)
    return 0.0


def test_metrics_count_requests(client: Any, registration: Any) -> None:
    headers = {"Registration-Authorization": f"Bearer {registration.token}"}
    before = _requests_total(client.get("/metrics").text, "GET", "registration", "200")
    assert client.get(registration_path(registration), headers=headers).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE elemental_api_requests_total counter" in response.text
    assert _requests_total(response.text, "GET", "registration", "200") == before + 1


def test_metrics_count_the_request_guards_refusals(client: Any, registration: Any) -> None:
    """The guard answers these before connexion runs: they are counted all the same."""
    hosts = f"{registration_path(registration)}/hosts"
    metrics = client.get("/metrics").text
    before = (
        _requests_total(metrics, "POST", "hosts", "415"),
        _requests_total(metrics, "DELETE", "hosts", "405"),
    )
    wrong_media = client.post(hosts, content=b"name=x", headers={"Content-Type": "text/plain"})
    assert wrong_media.status_code == 415
    assert client.delete(hosts).status_code == 405
    metrics = client.get("/metrics").text
    assert _requests_total(metrics, "POST", "hosts", "415") == before[0] + 1
    assert _requests_total(metrics, "DELETE", "hosts", "405") == before[1] + 1


# --- the Go agent on the wire -----------------------------------------------------------

GO_AGENT_PATCH = (
    b'{"condition":{"type":"InstallationReady","status":"True","lastTransitionTime":null},'
    b'"phase":"Running","installed":true}'
)


def test_go_agent_patch_is_accepted_with_upstream_response_names(
    client: Any, store: Store, host: HostIdentity
) -> None:
    assert register(client, host).status_code == 201
    response = client.patch(
        host.path, content=GO_AGENT_PATCH, headers={**host.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert {"name", "bootstrapReady", "bootstrapped", "installed", "needsReset"} <= set(body)
    assert (body["name"], body["installed"], body["bootstrapReady"], body["needsReset"]) == (
        host.name,
        True,
        False,
        False,
    )
    # Nothing under Python's names leaks onto the wire.
    assert not any("_" in key for key in body)
    stored = store.get_host("default", host.name)
    assert stored is not None
    assert stored.phase == "Running"
    condition = next(c for c in stored.conditions if c["type"] == "InstallationReady")
    assert condition["status"] == "True"
    assert condition.get("lastTransitionTime")  # set by the server, not the null the agent sent


def test_go_agent_create_echoing_its_registration_labels_is_accepted(client: Any, store: Store) -> None:
    """The Go agent copies the registration's hostLabels and hostAnnotations into its
    createHost body (json.Marshal of HostCreateRequest: name, annotations, labels, pubKey),
    and sends Content-Type: application/json. Then it checks in with the same labels."""
    from tests.helpers import make_registration

    registration, _ = make_registration(
        store,
        name="labelled",
        host_labels={"tier": "gold", "example.com/rack": "r-7"},
        host_annotations={"owner": "ops team"},
    )
    host = HostIdentity(registration, "go-agent-host")
    body = (
        '{"name":"go-agent-host","annotations":{"owner":"ops team"},'
        '"labels":{"example.com/rack":"r-7","tier":"gold"},"pubKey":'
        + json.dumps(host.key.public_pem())
        + "}"
    ).encode()
    headers = {**host.create_headers(), "Content-Type": "application/json"}
    response = client.post(host.hosts_path, content=body, headers=headers)
    assert response.status_code == 201, response.text
    check_in = b'{"labels":{"example.com/rack":"r-7","tier":"gold"},"phase":"Registering"}'
    response = client.patch(
        host.path, content=check_in, headers={**host.auth(), "Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["labels"] == {"example.com/rack": "r-7", "tier": "gold"}
    assert response.json()["annotations"] == {"owner": "ops team"}


def test_in_place_upgrade_and_os_version_management_use_upstream_names(
    client: Any, store: Store, host: HostIdentity
) -> None:
    assert register(client, host).status_code == 201
    stored = store.get_host("default", host.name)
    assert stored is not None
    stored.os_version_management = {"osImage": "registry.example/os:v2"}
    store.update_host(stored)
    store.attach_bootstrap(store.get_host("default", host.name), Bootstrap(config="#cloud-config\n"))  # type: ignore[arg-type]
    response = client.patch(host.path, json={"inPlaceUpdate": "pending"}, headers=host.auth())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["inPlaceUpgrade"] == "pending"
    assert body["osVersionManagement"] == {"osImage": "registry.example/os:v2"}
    assert body["bootstrapReady"] is True
    assert "inPlaceUpdate" not in body


def test_delete_then_check_in_says_needs_reset(client: Any, host: HostIdentity) -> None:
    assert register(client, host).status_code == 201
    response = client.delete(host.path, headers=host.auth())
    assert response.status_code == 202
    assert response.content in (b"", b"null", b"null\n")
    assert client.patch(host.path, json={}, headers=host.auth()).json()["needsReset"] is True


def test_create_answers_location_and_no_body_the_agent_would_misread(client: Any, host: HostIdentity) -> None:
    response = register(client, host)
    assert response.status_code == 201
    assert response.headers["location"] == host.path
    assert response.content in (b"", b"null", b"null\n")


def test_registration_response_uses_upstream_names(client: Any, registration: Any) -> None:
    response = client.get(
        registration_path(registration),
        headers={"Registration-Authorization": f"Bearer {registration.token}"},
    )
    body = response.json()
    assert set(body) <= {"config", "hostLabels", "hostAnnotations"}
    elemental = body["config"]["elemental"]
    assert {"reconciliation", "workDir", "osPlugin", "insecureAllowHttp"} <= set(elemental["agent"])
    assert {"uri", "token"} <= set(elemental["registration"])
    # Upstream's camelCase names, never Python's snake_case ones.
    for fields in (body, body["config"], elemental, elemental["agent"], elemental["registration"]):
        assert not [key for key in fields if "_" in key]
