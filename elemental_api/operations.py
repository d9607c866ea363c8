"""connexion's Flask view of an operation, with its handler decorated once.

connexion's `FlaskOperation` builds a new decorator on every call, which wraps the handler
anew on every request (parameter and response decorators, `functools.wraps` each time,
`inspect.signature` of the handler) and builds a new URI parser from the operation's
parameters and body definition. None of it depends on the request: here it is built at the
operation's first request (the URI parser needs connexion's operation context, only set in a
request) and reused; each request then runs what connexion's wrapper would have run.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import flask
from connexion.apps.flask import FlaskASGIApp, FlaskOperation
from connexion.decorators import FlaskDecorator


class DecoratedOnce:
    def __init__(self, operation: FlaskOperation) -> None:
        self._decorator = FlaskDecorator(
            pythonic_params=operation.pythonic_params, jsonifier=operation.jsonifier
        )
        self._handler = operation._fn
        self._built: tuple[Any, Any] | None = None
        self._lock = threading.Lock()
        functools.update_wrapper(self, operation._fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        built = self._built or self._build()
        uri_parser, decorated = built
        # As connexion's wrapper: Flask's view arguments are not used, the request is.
        return decorated(self._decorator.framework.get_request(uri_parser=uri_parser))

    def _build(self) -> tuple[Any, Any]:
        with self._lock:
            if self._built is None:
                self._built = (self._decorator.uri_parser, self._decorator.decorate(self._handler))
            return self._built


class FlaskASGIAppDecoratingOnce(FlaskASGIApp):  # type: ignore[misc]
    def add_api(self, *args: Any, **kwargs: Any) -> Any:
        api = super().add_api(*args, **kwargs)
        decorate_once(self.app)
        return api


def decorate_once(app: flask.Flask) -> None:
    """Replaces every connexion operation among the Flask app's views."""
    for endpoint, view in list(app.view_functions.items()):
        if isinstance(view, FlaskOperation):
            app.view_functions[endpoint] = DecoratedOnce(view)
