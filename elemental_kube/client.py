"""Kubernetes API clients, and the one place their failures are mapped and timed out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client import rest
from kubernetes.client.exceptions import ApiException

from elemental_kube.errors import Conflict, Forbidden, KubeError, NotFound, Unavailable
from elemental_kube.settings import ClientSettings

# connect, read: a hung kube-apiserver must not hang a request or a reconcile.
TIMEOUT = (3, 10)
LIST_TIMEOUT = (3, 30)


class RateLimiter:
    """A token bucket: `qps` tokens a second, at most `burst` saved up. A caller that finds
    none reserves the next and sleeps until it is due, so waiters go in turn."""

    def __init__(
        self,
        qps: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = qps
        self._capacity = float(burst or max(1, round(qps)))
        self._tokens = self._capacity
        self._clock, self._sleep = clock, sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= 1
            delay = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if delay > 0:
            self._sleep(delay)


class _LimitedRestClient(rest.RESTClientObject):
    """Every request (watches included) first takes a token of the limiter."""

    def __init__(self, configuration: client.Configuration, limiter: RateLimiter) -> None:
        super().__init__(configuration)
        self._limiter = limiter

    def request(self, *args: Any, **kwargs: Any) -> Any:
        self._limiter.wait()
        return super().request(*args, **kwargs)


def api_client(
    kubeconfig: str | None, *, field_manager: str, settings: ClientSettings | None = None
) -> client.ApiClient:
    """From `kubeconfig`, else the in-cluster service account, else ~/.kube/config.

    field_manager names this program in every object's managedFields (kube-apiserver takes
    it from the user agent when no fieldManager is given). No client-side retries: callers
    fail fast (503 for the API, a requeue for the operator). `settings`: rate limit and
    connection pool (ClientSettings' defaults when None)."""
    settings = settings or ClientSettings()
    configuration = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    else:
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
    configuration.retries = 0
    configuration.connection_pool_maxsize = settings.connections
    api = client.ApiClient(configuration)
    if settings.qps > 0:
        api.rest_client = _LimitedRestClient(configuration, RateLimiter(settings.qps, settings.burst))
    api.user_agent = f"{field_manager}/v1"
    return api


def remote_client(kubeconfig: dict[str, Any], *, field_manager: str) -> client.ApiClient:
    """A client for a workload cluster, from its kubeconfig Secret's content."""
    api = config.new_client_from_config_dict(kubeconfig)
    api.configuration.retries = 0
    api.user_agent = f"{field_manager}/v1"
    return api


def call(function: Callable[..., Any], *args: Any, timeout: Any = TIMEOUT, **kwargs: Any) -> Any:
    """Calls kube-apiserver, mapping its failures onto the layer's errors."""
    try:
        return function(*args, _request_timeout=timeout, **kwargs)
    except ApiException as error:
        status = error.status or 0
        if status == 404:
            raise NotFound(str(error.reason)) from error
        if status == 409:
            raise Conflict(str(error.reason)) from error
        if status in (401, 403):
            raise Forbidden(f"kube-apiserver refused the request ({status})") from error
        if status in (0, 429) or status >= 500:
            raise Unavailable(f"kube-apiserver answered {status}") from error
        raise KubeError(f"kube-apiserver answered {status}: {error.reason}") from error
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise Unavailable(f"kube-apiserver unreachable ({type(error).__name__})") from error
