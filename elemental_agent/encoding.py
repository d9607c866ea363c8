"""JSON and YAML the way the Go agent writes them, where the bytes matter.

Plugins receive their inputs (install, reset, cloud-config, osVersionManagement) as JSON
bytes, as upstream's plugins do. The Elemental plugin hashes the osVersionManagement bytes into
the snapshot's correlation ID, so those bytes follow Go's `json.Marshal` of a
`map[string]RawExtension`: top-level keys sorted, nested values kept in the server's order,
compact, and `<`, `>`, `&`, U+2028, U+2029 escaped. A host moved between the Go and the Python
agent then finds its correlation ID unchanged.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json(value: Any) -> bytes:
    """Go's `json.Marshal` of a map of raw JSON values (`null` for None)."""
    if isinstance(value, dict):
        value = {key: value[key] for key in sorted(value)}
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for character, escape in _GO_ESCAPES.items():
        text = text.replace(character, escape)
    return text.encode()


def json_to_yaml(data: bytes) -> bytes:
    """Upstream's `UnmarshalRawJSONToYaml`: nothing for no input, else the JSON as YAML."""
    if not data:
        return b""
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ValueError(f"unmarshalling raw json: {error}") from error
    return to_yaml(value)


def to_yaml(value: Any) -> bytes:
    """Block-style YAML of a JSON value, keys in their order (a scalar without `...`)."""
    text = yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True)
    if text.endswith("\n...\n"):
        text = text[: -len("...\n")]
    return text.encode()


def loads_object(data: bytes, what: str) -> dict[str, Any]:
    """A JSON input that must be an object (`null` or nothing: empty), as Go's Unmarshal into
    a struct accepts it."""
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except ValueError as error:
        raise ValueError(f"unmarshalling {what}: {error}") from error
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"unmarshalling {what}: expected a JSON object")
    return value


def field(values: dict[str, Any], name: str) -> Any:
    """A struct field the way Go's json.Unmarshal finds it: exact name, else any case."""
    if name in values:
        return values[name]
    lowered = name.lower()
    for key, value in values.items():
        if key.lower() == lowered:
            return value
    return None
