"""What a gunicorn worker of the API does once, after the fork, before it serves."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import connexion
import pytest

import elemental_core.logs
from elemental_api import server
from elemental_api.store import KUBERNETES_HANDLER_THREADS, SQLITE_HANDLER_THREADS, handler_threads_for
from elemental_api.wsgi_bridge import BufferedWSGIBridge


@pytest.fixture
def start_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., connexion.FlaskApp]]:
    """load() as a worker runs it; this process is pytest's, so its logging is left alone
    and whatever the worker froze is unfrozen after the test."""
    monkeypatch.setattr(elemental_core.logs, "configure_logging", lambda debug=False: None)

    def start(handler_threads: int | None = None) -> connexion.FlaskApp:
        return server._Gunicorn(
            server.ServeOptions(
                store_url=f"sqlite:///{tmp_path / 'elemental.db'}", handler_threads=handler_threads
            )
        ).load()

    yield start
    gc.unfreeze()


def test_a_worker_takes_what_it_built_to_start_out_of_the_collectors_sight(
    start_worker: Callable[..., connexion.FlaskApp],
) -> None:
    app = start_worker()
    assert gc.get_freeze_count() > 0
    # A full collection walks what gc.get_objects() lists: the app is no longer in it.
    assert not any(tracked is app for tracked in gc.get_objects())


def _bridge_threads(app: connexion.FlaskApp) -> int:
    bridge = app._middleware_app.asgi_app
    assert isinstance(bridge, BufferedWSGIBridge)
    threads: int = bridge.executor._max_workers
    return threads


def test_a_worker_runs_as_many_handler_threads_as_asked_else_the_stores_default(
    start_worker: Callable[..., connexion.FlaskApp],
) -> None:
    assert _bridge_threads(start_worker()) == SQLITE_HANDLER_THREADS == 4
    assert _bridge_threads(start_worker(handler_threads=3)) == 3
    assert handler_threads_for("kubernetes") == KUBERNETES_HANDLER_THREADS == 16
    assert handler_threads_for("sqlite:///elemental.db") == SQLITE_HANDLER_THREADS
