"""Connexion's request validators, with each JSON schema compiled once instead of per request.

Connexion 3 builds a fresh jsonschema validator (and deep-copies the parameter) for every
parameter and body of every request; profiling showed that as the largest cost of a
check-in after the signature check. These subclasses keep the same schemas, the same
semantics, and reuse the compiled validators.

They also keep hostile bodies from reaching a 500 or an echo: JSON that is not UTF-8, too
deep (MAX_JSON_DEPTH) or holds a number Python refuses (over 4300 digits) is a 400, and a
validation error names where and which rule, never the value that broke it.
"""

from __future__ import annotations

import json
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

from elemental_api import fast_validation

# Parameter dicts live as long as the app's operations: key the compiled validator on identity.
_COMPILED: dict[int, tuple[dict[str, Any], fast_validation.FastThenExact]] = {}
_COMPILED_BODIES: dict[int, tuple[dict[str, Any], fast_validation.FastThenExact]] = {}
# The deepest body the API has a use for is 4 levels (a patch's condition); 32 leaves room
# and keeps validation's recursion far from Python's limit.
MAX_JSON_DEPTH = 32
MAX_PATH_PART_CHARS = 40
_RULES = {
    "type": "must be of type {value}",
    "pattern": "does not match the pattern {value}",
    "maxLength": "is longer than {value} characters",
    "minLength": "is shorter than {value} characters",
    "maxProperties": "has more than {value} entries",
    "minProperties": "has fewer than {value} entries",
    "maximum": "is over {value}",
    "minimum": "is under {value}",
    "enum": "must be one of {value}",
    "format": "is not a valid {value}",
}


def describe(error: ValidationError, what: str = "body") -> str:
    """Which part broke which rule, without the value (which may be a megabyte long)."""
    parts = [str(part) for part in error.absolute_path]
    where = ".".join(
        p if len(p) <= MAX_PATH_PART_CHARS else p[: MAX_PATH_PART_CHARS - 3] + "..." for p in parts
    )
    if error.validator == "required":
        return f"{error.message} in '{where or what}'"  # the message names the property (the spec's)
    rule = _RULES.get(str(error.validator), "is invalid")
    return f"'{where or what}' " + rule.format(value=error.validator_value)


def depth_problem(value: Any) -> str | None:
    """Why `value` is nested too deep for the API, or None (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"request body is nested over {MAX_JSON_DEPTH} levels deep"
            stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return None


def _compiled(schema: dict[str, Any]) -> fast_validation.FastThenExact:
    cached = _COMPILED.get(id(schema))
    if cached is None or cached[0] is not schema:
        exact = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        cached = (schema, fast_validation.FastThenExact(schema, exact))
        _COMPILED[id(schema)] = cached
    return cached[1]


def _compiled_body(schema: dict[str, Any]) -> fast_validation.FastThenExact:
    cached = _COMPILED_BODIES.get(id(schema))
    if cached is None or cached[0] is not schema:
        exact = Draft4RequestValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
        cached = (schema, fast_validation.FastThenExact(schema, exact))
        _COMPILED_BODIES[id(schema)] = cached
    return cached[1]


class CompiledParameterValidator(ParameterValidator):  # type: ignore[misc]
    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict[str, Any], param_name: Any = None
    ) -> str | None:
        if is_nullable(param) and is_null(value):
            return None
        if value is not None:
            schema = param.get("schema", param)
            try:
                _compiled(schema).validate(value)
            except ValidationError as exception:
                return describe(exception, f"{parameter_type} parameter {param['name']}")
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class CompiledJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    async def _parse(self, stream: Any, scope: Any) -> Any:
        raw = b"".join([message async for message in stream])
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:  # connexion lets this through as a 500
            raise BadRequestProblem(detail="request body is not valid UTF-8") from error
        if not text:
            return None
        try:
            body = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadRequestProblem(detail=f"request body is not valid JSON: {error.msg}") from error
        except RecursionError as error:
            raise BadRequestProblem(
                detail=f"request body is nested over {MAX_JSON_DEPTH} levels deep"
            ) from error
        except ValueError as error:  # a number of more than 4300 digits
            raise BadRequestProblem(detail="request body holds a number too long to read") from error
        problem = depth_problem(body)
        if problem:
            raise BadRequestProblem(detail=problem)
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="request body must not be empty")
        try:
            self._validator.validate(body)
        except ValidationError as exception:
            raise BadRequestProblem(detail=describe(exception)) from None
        return None

    @property
    def _validator(self) -> Any:
        # connexion builds this object per request: the compiled validator is kept per schema.
        return _compiled_body(self._schema)


def validator_map() -> dict[str, Any]:
    bodies = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    bodies["*/*json"] = CompiledJSONRequestBodyValidator
    return {**VALIDATOR_MAP, "parameter": CompiledParameterValidator, "body": bodies}
