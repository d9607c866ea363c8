"""Writes the CustomResourceDefinitions from openapi.yaml (`x-kubernetes-crds`).

One contract: the resources' spec/status schemas live in `x-kubernetes-crds.schemas` (kept
out of the published REST spec) and $ref the REST API's component schemas where the shapes
are the same. Usage: python crds.py OPENAPI_YAML OUTPUT_DIR
"""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import yaml

HEADER = "# Generated from openapi.yaml by scripts/generate: do not edit.\n"
# Schema keywords a CRD's structural schema keeps; `x-` extensions other than Kubernetes' go.
_DROPPED = {"example", "examples", "externalDocs", "xml", "readOnly", "writeOnly", "deprecated"}


def main(spec_path: str, out_dir: str) -> None:
    spec = yaml.safe_load(Path(spec_path).read_text())
    crds = spec["x-kubernetes-crds"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for kind in crds["kinds"]:
        crd = _crd(crds, kind, spec)
        path = out / f"{crds['group']}_{kind['plural']}.yaml"
        path.write_text(HEADER + yaml.safe_dump(crd, sort_keys=False, width=100))


def _crd(crds: dict[str, Any], kind: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    schemas = crds["schemas"]
    name = kind["kind"]
    properties: dict[str, Any] = {
        "apiVersion": {
            "type": "string",
            "description": "APIVersion defines the versioned schema of this object.",
        },
        "kind": {"type": "string", "description": "Kind is a string value representing the REST resource."},
        "metadata": {"type": "object"},
        "spec": _structural(schemas[kind["spec"]], spec),
    }
    if "status" in kind:
        properties["status"] = _structural(schemas[kind["status"]], spec)
    schema = {"description": kind["description"], "type": "object", "properties": properties}
    for path, default in kind.get("defaults", {}).items():
        _node(schema, path)["default"] = default
    version: dict[str, Any] = {"name": crds["version"], "served": True, "storage": True}
    if kind.get("printerColumns"):
        version["additionalPrinterColumns"] = kind["printerColumns"]
    version["schema"] = {"openAPIV3Schema": schema}
    if "status" in kind or kind.get("statusSubresource"):
        version["subresources"] = {"status": {}}
    names: dict[str, Any] = {
        "kind": name,
        "listKind": f"{name}List",
        "plural": kind["plural"],
        "singular": name.lower(),
    }
    if kind.get("shortNames"):
        names["shortNames"] = kind["shortNames"]
    if kind.get("categories"):
        names["categories"] = kind["categories"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{kind['plural']}.{crds['group']}",
            "labels": {**crds.get("labels", {}), **kind.get("labels", {})},
        },
        "spec": {
            "group": crds["group"],
            "names": names,
            "scope": "Namespaced",
            "versions": [version],
        },
    }


def _structural(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Inlines $refs (local JSON pointers into the spec) and keeps what a CRD's structural
    schema allows."""
    if "$ref" in schema:
        return _structural(_pointed(spec, schema["$ref"]), spec)
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        kept = {"x-kubernetes-preserve-unknown-fields": True}
        if "description" in schema:
            kept = {"description": schema["description"], **kept}
        return kept
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED or (key.startswith("x-") and not key.startswith("x-kubernetes-")):
            continue
        if key == "properties":
            result[key] = {name: _structural(sub, spec) for name, sub in value.items()}
        elif key in ("items",) or (key == "additionalProperties" and isinstance(value, dict)):
            result[key] = _structural(value, spec)
        elif key == "additionalProperties" and value is True:
            result["x-kubernetes-preserve-unknown-fields"] = True
        else:
            result[key] = copy.deepcopy(value)
    return result


def _pointed(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $refs are supported: {ref}")
    node: Any = spec
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    if not isinstance(node, dict):
        raise ValueError(f"{ref} is not a schema")
    return node


def _node(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
