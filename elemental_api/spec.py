"""Publishes the contract: openapi.yaml as written ($refs intact), for clients and Swagger UI.

The published copy differs from the file in two documented ways (see the spec's
description): `servers` holds the URL this API is reachable at (its configured endpoint),
and no `x-` extension is kept: connexion's bindings to Python functions and the Kubernetes-
only parts are implementation, not contract. connexion's own copy is not served: it inlines
every $ref, and generated clients then get a model per use instead of one per schema.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import connexion
import yaml
from connexion.options import SwaggerUIOptions

SPEC_PATH = Path(__file__).with_name("openapi.yaml")
JSON_PATH = "/openapi.json"
YAML_PATH = "/openapi.yaml"
# The UI (at {base}/ui/) loads {base}/openapi.json, which these routes, not connexion, serve.
SWAGGER_UI_OPTIONS = SwaggerUIOptions(swagger_ui=True, serve_spec=False, spec_path=JSON_PATH)

# Keys whose value is a map of names (paths, properties, status codes...), not an object that
# may carry extensions: a name starting with `x-` is kept.
_NAME_MAPS = {
    "paths", "properties", "patternProperties", "schemas", "responses", "parameters",
    "headers", "securitySchemes", "requestBodies", "content", "callbacks", "links",
    "variables", "encoding", "mapping", "scopes", "examples",
}  # fmt: skip
# Where a server listens on every address: no URL a client can use (keep the relative one).
_WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared with, never bound
# Keys whose value is data, kept exactly as written.
_LITERALS = {"example", "default", "enum", "value"}


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
    return document


def published(document: dict[str, Any], api_endpoint: str) -> dict[str, Any]:
    """The document as served: absolute server URL (unless the endpoint is a wildcard
    address, as `serve --host 0.0.0.0` without `--api-endpoint` gives), no `x-` extensions."""
    result: dict[str, Any] = _without_extensions(copy.deepcopy(document))
    if urlsplit(api_endpoint).hostname in _WILDCARD_HOSTS | {None}:
        return result
    base = api_endpoint.rstrip("/")
    result["servers"] = [
        {**server, "url": base + server["url"], "description": "This API, at its configured endpoint."}
        if server["url"].startswith("/")
        else server
        for server in result["servers"]
    ]
    return result


def add_routes(app: connexion.FlaskApp, api_endpoint: str) -> None:
    """Serves the published copy at {base}/openapi.json and {base}/openapi.yaml."""
    contract = load()
    document = published(contract, api_endpoint)
    base = _base_path(contract)
    as_json = json.dumps(document, indent=2, ensure_ascii=False).encode()
    as_yaml = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100).encode()

    def openapi_json() -> tuple[bytes, int, dict[str, str]]:
        return as_json, 200, {"Content-Type": "application/json"}

    def openapi_yaml() -> tuple[bytes, int, dict[str, str]]:
        return as_yaml, 200, {"Content-Type": "application/yaml"}

    app.add_url_rule(base + JSON_PATH, "openapi_json", openapi_json)
    app.add_url_rule(base + YAML_PATH, "openapi_yaml", openapi_yaml)


def _base_path(document: dict[str, Any]) -> str:
    url: str = document["servers"][0]["url"]
    return url.rstrip("/")


def _without_extensions(node: Any, names: bool = False) -> Any:
    if isinstance(node, list):
        return [_without_extensions(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {name: _without_extensions(value) for name, value in node.items()}
    return {
        key: value if key in _LITERALS else _without_extensions(value, names=key in _NAME_MAPS)
        for key, value in node.items()
        if not key.startswith("x-")
    }
