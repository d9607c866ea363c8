"""connexion's apiKey and bearer security handlers, with the check function inspected once.

connexion's `_generic_check` asks `inspect.signature` of the spec's check function, twice, on
every request (whether it takes `required_scopes` and `request`); profiles of a check-in put
that at about 7 % of a worker. The function is fixed when the operation is built, so these
handlers ask once then, and call it exactly as connexion does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from connexion.exceptions import OAuthResponseProblem
from connexion.security import NO_VALUE, ApiKeySecurityHandler, BearerSecurityHandler
from connexion.utils import inspect_function_arguments


class _InspectedOnce:
    required_scopes_kw: str
    request_kw: str

    def _generic_check(self, func: Callable[..., Any], exception_msg: str) -> Callable[..., Awaitable[Any]]:
        arguments, has_kwargs = inspect_function_arguments(func)
        pass_scopes = has_kwargs or self.required_scopes_kw in arguments
        pass_request = has_kwargs or self.request_kw in arguments
        scopes_kw, request_kw = self.required_scopes_kw, self.request_kw

        async def wrapper(request: Any, *args: Any, required_scopes: Any = None) -> Any:
            kwargs: dict[str, Any] = {}
            if pass_scopes:
                kwargs[scopes_kw] = required_scopes
            if pass_request:
                kwargs[request_kw] = request
            token_info = func(*args, **kwargs)
            while asyncio.iscoroutine(token_info):
                token_info = await token_info
            if token_info is NO_VALUE:
                return NO_VALUE
            if token_info is None:
                raise OAuthResponseProblem(detail=exception_msg)
            return token_info

        return wrapper


class ApiKeyHandler(_InspectedOnce, ApiKeySecurityHandler):  # type: ignore[misc]
    pass


class BearerHandler(_InspectedOnce, BearerSecurityHandler):  # type: ignore[misc]
    pass


SECURITY_MAP = {"apiKey": ApiKeyHandler, "bearer": BearerHandler}
