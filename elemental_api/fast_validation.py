"""A compiled JSON Schema check in front of jsonschema's, with jsonschema's answers kept.

jsonschema walks the schema for every value (about a sixth of a check-in's CPU in profiles);
fastjsonschema compiles it to Python once. The compiled check only ever decides "valid": a
value it refuses goes to jsonschema, whose verdict and error are the ones answered, so error
messages stay exactly as they were. That holds as long as the compiled check is never more
lenient than jsonschema's; it is built to be as strict or stricter:

* formats are jsonschema's own checkers (the same FORMAT_CHECKER as before);
* OpenAPI's `nullable` (connexion lets null through `type` and `enum`) is written out as
  the JSON Schema it means (`null` added to the type and the enum), so null values of
  nullable fields stay on the fast path;
* its `pattern` ends at the true end of the string (`$` as `\\Z`), where Python's `re`
  also lets `$` match before a final newline: stricter, so such values get jsonschema's
  verdict as before.

tests/api/test_hot_path.py checks the "never more lenient" rule on every schema of the spec.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import fastjsonschema
from jsonschema import Draft4Validator

_FORMAT_CHECKER = Draft4Validator.FORMAT_CHECKER


class FastThenExact:
    def __init__(self, schema: dict[str, Any], exact: Any) -> None:
        self.exact = exact
        self.fast = compile_fast(schema)

    def validate(self, value: Any) -> None:
        """Returns if valid; raises jsonschema's ValidationError if not."""
        if self.fast is not None and _passes(self.fast, value):
            return
        self.exact.validate(value)


def _passes(fast: Callable[[Any], Any], value: Any) -> bool:
    try:
        fast(value)
    except Exception:  # refused, or could not tell: jsonschema decides
        return False
    return True


def compile_fast(schema: dict[str, Any]) -> Callable[[Any], Any] | None:
    """The compiled check, or None for a schema fastjsonschema can't take (then jsonschema
    alone checks it, as before)."""
    names = _format_names(schema)
    formats = {name: _format(name) for name in names}
    try:
        return fastjsonschema.compile(  # type: ignore[no-any-return]
            _without_nullable(schema), formats=formats, use_default=False, use_formats=True
        )
    except (fastjsonschema.JsonSchemaDefinitionException, RecursionError, ValueError, TypeError):
        return None


def _format(name: str) -> Callable[[Any], bool]:
    def conforms(value: Any) -> bool:
        return bool(_FORMAT_CHECKER.conforms(value, name))

    return conforms


def _format_names(node: Any) -> set[str]:
    names: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            if isinstance(current.get("format"), str):
                names.add(current["format"])
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)
    return names


def _without_nullable(schema: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(schema)
    stack: list[Any] = [copied]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if (node.get("nullable") or node.get("x-nullable") is True) and "$ref" not in node:
                if isinstance(node.get("type"), str):
                    node["type"] = [node["type"], "null"]
                if isinstance(node.get("enum"), list) and None not in node["enum"]:
                    node["enum"] = [*node["enum"], None]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return copied
