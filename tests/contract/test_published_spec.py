"""The published contract: what `/elemental/v1/openapi.{json,yaml}` serve, and what makes it
usable as a product (examples that work, tags, documented errors, required fields)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from elemental_api import spec as published_spec
from elemental_api.app import create_app
from elemental_api.store import open_store
from tests.contract.conftest import ROOT

ENDPOINT = "https://elemental.example:9443"
BASE = "/elemental/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ERRORS_EVERY_OPERATION_SENDS = {"400", "401", "403", "404", "500", "503"}
ERRORS_OF_A_BODY = {"413", "415"}


@pytest.fixture(scope="module")
def file_spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
    return document


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('spec') / 'e.db'}")
    with create_app(store, api_endpoint=ENDPOINT + "/").test_client() as test_client:
        yield test_client
    store.close()


@pytest.fixture(scope="module")
def served(client: Any) -> dict[str, Any]:
    response = client.get(f"{BASE}/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def without_x_keys(node: Any) -> Any:
    """Every `x-` key dropped, everywhere (the file has no `x-` name nor `x-` data)."""
    if isinstance(node, dict):
        return {key: without_x_keys(value) for key, value in node.items() if not key.startswith("x-")}
    if isinstance(node, list):
        return [without_x_keys(value) for value in node]
    return node


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def pointed(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def resolved(node: Any, document: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return resolved(pointed(document, node["$ref"]), document)
        return {key: resolved(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [resolved(value, document) for value in node]
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for item in document["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield operation["operationId"], item, operation


# --- what is served ---------------------------------------------------------------------


def test_served_copy_is_the_file_less_extensions_with_the_configured_server(
    served: dict[str, Any], file_spec: dict[str, Any]
) -> None:
    expected = without_x_keys(copy.deepcopy(file_spec))
    assert served["servers"][0]["url"] == f"{ENDPOINT}{BASE}"  # the endpoint, its "/" dropped
    assert {key: value for key, value in served.items() if key != "servers"} == {
        key: value for key, value in expected.items() if key != "servers"
    }


def test_served_yaml_equals_served_json(client: Any, served: dict[str, Any]) -> None:
    response = client.get(f"{BASE}/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    assert yaml.safe_load(response.text) == served


def test_served_copy_is_valid_with_refs_intact(served: dict[str, Any]) -> None:
    validate(copy.deepcopy(served))
    found = set(refs(served))
    assert "#/components/schemas/Problem" in found
    for ref in found:
        assert ref.startswith("#/components/"), ref
        pointed(served, ref)  # resolves


def _keys_and_strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            if key != "description":
                yield from _keys_and_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys_and_strings(value)
    elif isinstance(node, str):
        yield node


def test_served_copy_has_no_implementation_extension(client: Any) -> None:
    for path in ("openapi.json", "openapi.yaml"):
        document = yaml.safe_load(client.get(f"{BASE}/{path}").text)
        found = list(_keys_and_strings(document))
        assert not [key for key in found if key.startswith("x-")], path
        assert not [value for value in found if value.startswith("elemental_api.")], path


def test_crd_only_schemas_are_not_published(served: dict[str, Any], file_spec: dict[str, Any]) -> None:
    crd_schemas = set(file_spec["x-kubernetes-crds"]["schemas"])
    assert {"ElementalHostSpec", "ObjectReference", "LabelSelector"} <= crd_schemas
    assert not crd_schemas & set(served["components"]["schemas"])
    # ...and every published schema is used by an operation, directly or through another schema.
    used: set[str] = set()
    pending = [ref for ref in refs(served["paths"])]
    while pending:
        ref = pending.pop()
        if ref in used:
            continue
        used.add(ref)
        pending.extend(refs(pointed(served, ref)))
    for kind in ("schemas", "responses", "parameters"):
        for name in served["components"][kind]:
            assert f"#/components/{kind}/{name}" in used, f"{kind}/{name} is published but unused"


def test_extension_stripping_keeps_names_and_data_that_start_with_x() -> None:
    document = {
        "openapi": "3.0.3",
        "x-top": 1,
        "servers": [{"url": "/api"}, {"url": "https://elsewhere.test"}],
        "paths": {
            "/a": {
                "x-path-item-extension": True,
                "get": {
                    "x-openapi-router-controller": "module",
                    "parameters": [{"name": "x-name", "in": "header", "example": {"x-data": 1}}],
                },
            }
        },
        "components": {
            "schemas": {"x-schema": {"type": "object", "properties": {"x-prop": {"default": {"x-d": 1}}}}}
        },
    }
    assert published_spec.published(document, "http://api.test:1/") == {
        "openapi": "3.0.3",
        "servers": [
            {"url": "http://api.test:1/api", "description": "This API, at its configured endpoint."},
            {"url": "https://elsewhere.test"},
        ],
        "paths": {
            "/a": {"get": {"parameters": [{"name": "x-name", "in": "header", "example": {"x-data": 1}}]}}
        },
        "components": {
            "schemas": {"x-schema": {"type": "object", "properties": {"x-prop": {"default": {"x-d": 1}}}}}
        },
    }
    assert document["x-top"] == 1  # the loaded document is left as it was


@pytest.mark.parametrize("endpoint", ["http://0.0.0.0:9090", "https://[::]:9090", "not a url"])
def test_an_endpoint_no_client_can_reach_keeps_the_relative_server(
    file_spec: dict[str, Any], endpoint: str
) -> None:
    assert published_spec.published(file_spec, endpoint)["servers"] == [{"url": BASE}]


def test_swagger_ui_loads_the_published_copy(client: Any) -> None:
    response = client.get(f"{BASE}/ui/")
    assert response.status_code == 200
    assert f'url: "{BASE}/openapi.json"' in response.text


# --- what makes it usable ---------------------------------------------------------------


def test_info_has_contact_license_url_and_tags(served: dict[str, Any]) -> None:
    assert served["info"]["contact"]["url"].startswith("https://")
    assert served["info"]["license"]["url"].startswith("https://")
    declared = {tag["name"] for tag in served["tags"]}
    assert all(tag["description"] for tag in served["tags"])
    for operation_id, _, operation in operations(served):
        assert operation.get("tags") and set(operation["tags"]) <= declared, operation_id


def test_every_error_the_server_sends_is_documented(served: dict[str, Any]) -> None:
    for operation_id, _, operation in operations(served):
        expected = ERRORS_EVERY_OPERATION_SENDS | (ERRORS_OF_A_BODY if "requestBody" in operation else set())
        assert expected <= set(operation["responses"]), (operation_id, expected - set(operation["responses"]))
        for code, response in resolved(operation["responses"], served).items():
            if code.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], (operation_id, code)


def test_no_body_answers_declare_no_content(served: dict[str, Any]) -> None:
    answers = {op: operation["responses"] for op, _, operation in operations(served)}
    assert "content" not in answers["createHost"]["201"]
    assert "content" not in answers["deleteHost"]["202"]


def test_fields_the_server_always_sends_are_required(served: dict[str, Any]) -> None:
    schemas = served["components"]["schemas"]
    assert set(schemas["ApiHostResponse"]["required"]) == {
        "name",
        "bootstrapReady",
        "bootstrapped",
        "installed",
        "needsReset",
    }
    assert set(schemas["ApiBootstrapResponse"]["required"]) == {"config", "format"}
    assert schemas["ApiRegistrationResponse"]["required"] == ["config"]


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, resolved schema, example) of every parameter, request and response body."""
    for operation_id, item, operation in operations(document):
        for parameter in resolved(item.get("parameters", []) + operation.get("parameters", []), document):
            yield f"{operation_id} {parameter['name']}", parameter["schema"], parameter.get("example")
        bodies = {"request": resolved(operation.get("requestBody", {}), document)}
        bodies.update(resolved(operation["responses"], document))
        for where, body in bodies.items():
            for media_type, content in body.get("content", {}).items():
                yield f"{operation_id} {where} {media_type}", content["schema"], content.get("example")


def test_every_parameter_and_body_has_an_example_valid_for_its_schema(served: dict[str, Any]) -> None:
    checked = 0
    for where, schema, example in _examples(served):
        assert example is not None, f"{where} has no example"
        errors = [error.message for error in OAS30Validator(schema).iter_errors(example)]
        assert not errors, (where, errors)
        checked += 1
    assert checked > 40


def test_create_host_example_carries_a_real_ed25519_key(served: dict[str, Any]) -> None:
    from elemental_core import tokens

    _, _, create = next(op for op in operations(served) if op[0] == "createHost")
    example = create["requestBody"]["content"]["application/json"]["example"]
    tokens.load_public_key(example["pubKey"])  # raises unless a PEM Ed25519 public key
    _, _, patch = next(op for op in operations(served) if op[0] == "patchHost")
    assert patch["requestBody"]["content"]["application/json"]["example"]["condition"]["type"]


def test_published_spec_module_serves_the_package_file() -> None:
    # The package's copy (what an installed wheel serves) is the repository's contract.
    assert Path(published_spec.SPEC_PATH).resolve() == (ROOT / "openapi.yaml").resolve()
