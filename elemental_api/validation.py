"""Connexion's request validators, with each JSON schema compiled once instead of per request.

Connexion 3 builds a fresh jsonschema validator (and deep-copies the parameter) for every
parameter and body of every request; profiling showed that as the largest cost of a
check-in after the signature check. These subclasses keep the same schemas, the same
semantics and the same error messages, and reuse the compiled validators.
"""

from __future__ import annotations

import functools
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError

# Parameter dicts live as long as the app's operations: key the compiled validator on identity.
_COMPILED: dict[int, tuple[dict[str, Any], Draft4Validator]] = {}


def _compiled(schema: dict[str, Any]) -> Draft4Validator:
    cached = _COMPILED.get(id(schema))
    if cached is None or cached[0] is not schema:
        cached = (schema, Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
        _COMPILED[id(schema)] = cached
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
                return str(exception)
            return None
        if param.get("required"):
            return f"Missing {parameter_type} parameter '{param['name']}'"
        return None


class CompiledJSONRequestBodyValidator(JSONRequestBodyValidator):  # type: ignore[misc]
    async def _parse(self, stream: Any, scope: Any) -> Any:
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError as error:  # connexion lets this through as a 500
            raise BadRequestProblem(detail="request body is not valid UTF-8") from error

    @functools.cached_property
    def _validator(self) -> Any:
        return Draft4RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def validator_map() -> dict[str, Any]:
    bodies = MediaTypeDict(dict(VALIDATOR_MAP["body"]))
    bodies["*/*json"] = CompiledJSONRequestBodyValidator
    return {**VALIDATOR_MAP, "parameter": CompiledParameterValidator, "body": bodies}
