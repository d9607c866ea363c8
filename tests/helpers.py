"""Test helpers: registrations in a store, host identities, tokens, and an API client."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from elemental_api.store import Store
from elemental_core import registrations, tokens
from elemental_core.records import Registration
from elemental_core.vocabulary import READY, REGISTRATIONS

BASE = "/elemental/v1"
TEST_ENDPOINT = "http://testserver"


def make_registration(
    store: Store,
    name: str = "reg",
    namespace: str = "default",
    endpoint: str = TEST_ENDPOINT,
    **options: Any,
) -> tuple[Registration, tokens.SigningKey]:
    """A registration created in the store and completed (in-process by the embedded store,
    by the operator on Kubernetes), with its signing key."""
    draft = registrations.new_registration(namespace=namespace, name=name, api_endpoint=endpoint, **options)
    created = store.create_registration(draft)
    registration = (
        created
        if created.token
        else wait_for(
            lambda: _completed(store, namespace, name), what=f"registration {namespace}/{name} completed"
        )
    )
    pem = wait_for(lambda: store.get_signing_key(registration), what="its signing key")
    return registration, tokens.SigningKey.from_pem(pem)


def _completed(store: Store, namespace: str, name: str) -> Registration | None:
    current = store.get_registration(namespace, name)
    if current is None or not current.token or not _operator_done(store, namespace, name):
        return None
    return current


def _operator_done(store: Store, namespace: str, name: str) -> bool:
    """On Kubernetes the operator writes the token, then, in a second write, the Ready
    condition: a test's "nothing changed" snapshot must not be taken between the two."""
    from elemental_api.store.kubernetes import KubernetesStore  # the kubernetes extra

    if not isinstance(store, KubernetesStore):
        return True
    obj = store._kube.read(REGISTRATIONS, namespace, name) or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == READY and c.get("status") == "True" for c in conditions)


@dataclass
class HostIdentity:
    """A host as an agent sees it: a name, a key, and the registration it talks to."""

    registration: Registration
    name: str
    key: tokens.SigningKey = field(default_factory=tokens.SigningKey.generate)

    @property
    def path(self) -> str:
        r = self.registration
        return f"{BASE}/namespaces/{r.namespace}/registrations/{r.name}/hosts/{self.name}"

    @property
    def hosts_path(self) -> str:
        r = self.registration
        return f"{BASE}/namespaces/{r.namespace}/registrations/{r.name}/hosts"

    def token(self) -> str:
        return tokens.issue_host_token(self.key, self.name, self.registration.uri)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"}

    def create_headers(self) -> dict[str, str]:
        return {**self.auth(), "Registration-Authorization": f"Bearer {self.registration.token}"}

    def create_body(self, **extra: Any) -> dict[str, Any]:
        return {"name": self.name, "pubKey": self.key.public_pem(), **extra}


def registration_path(registration: Registration) -> str:
    return f"{BASE}/namespaces/{registration.namespace}/registrations/{registration.name}"


def register(client: Any, host: HostIdentity, **extra: Any) -> Any:
    """POSTs the host; returns the response."""
    return client.post(host.hosts_path, json=host.create_body(**extra), headers=host.create_headers())


def wait_for(condition: Any, timeout: float = 20, what: str = "condition", interval: float = 0.05) -> Any:
    """Polls `condition` until it returns something truthy (returned), or fails the test
    saying what it waited for and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


# What must never reach a client: tracebacks, source locations, exception class names.
PYTHON_INTERNALS = re.compile(r"Traceback|File \"|\b[A-Z]\w+(Error|Exception|Problem)\b")


def assert_problem(response: Any, status: int, mentions: str = "") -> dict[str, Any]:
    """`status`, as application/problem+json whose detail is a plain sentence."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    detail = body.get("detail")
    assert isinstance(detail, str) and detail.strip(), body
    assert not PYTHON_INTERNALS.search(detail), detail
    assert mentions.lower() in detail.lower(), detail
    return body
