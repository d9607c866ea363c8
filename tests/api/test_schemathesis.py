"""Property-based run of schemathesis against the live server, for every operation of the spec.

The spec is the one the server serves (`/elemental/v1/openapi.json`). Each generated case is
sent twice: as generated (random names and tokens: the 401/403/404 paths), then with valid
credentials for objects that exist, so the handlers behind the security checks run too:

* getRegistration: the registration's path and its token;
* createHost: the registration's path and token, and a host token signed by a fresh key whose
  public key replaces the generated `pubKey`, for the generated `name`;
* patchHost, deleteHost, getBootstrap: a fresh host per case (bootstrap data attached to every
  other one) and its host token.

Every answer must be no 5xx, have a declared status code, content type and headers, and match
the declared schema; for valid (positive) and invalid (negative) generated data alike.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from elemental_api.store import Store
from elemental_core import tokens
from elemental_core.records import Bootstrap, Host, Registration
from tests.helpers import HostIdentity
from tests.live import LiveServer, live_server  # noqa: F401  (fixture)

MAX_EXAMPLES = 50
OPERATIONS = {"getRegistration", "createHost", "patchHost", "deleteHost", "getBootstrap"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@dataclass
class Credentials:
    """What a real agent has: a registration (and its token) and hosts with their keys."""

    store: Store
    registration: Registration
    _names: Any = field(default_factory=itertools.count)
    answers: dict[str, set[int]] = field(default_factory=dict)
    runs: set[tuple[str, GenerationMode]] = field(default_factory=set)  # (operationId, mode) done

    def fresh_host(self) -> HostIdentity:
        number = next(self._names)
        identity = HostIdentity(self.registration, f"fuzzed-{number}")
        host = self.store.create_host(
            Host(
                namespace=self.registration.namespace,
                name=identity.name,
                registration=self.registration.name,
                pub_key=identity.key.public_pem(),
            )
        )
        if number % 2:
            self.store.attach_bootstrap(host, Bootstrap(config=f"#cloud-config\n# host {number}\n"))
        return identity

    def record(self, operation_id: str, status: int) -> None:
        self.answers.setdefault(operation_id, set()).add(status)


@pytest.fixture(scope="module")
def credentials(live_server: LiveServer) -> Credentials:  # noqa: F811
    store = live_server.store()
    registration = live_server.make_registration(name="fuzz", host_labels={"fuzzed": "yes"})
    return Credentials(store=store, registration=registration)


@pytest.fixture(scope="module")
def api_schema(live_server: LiveServer) -> Any:  # noqa: F811
    config = schemathesis.Config.from_dict(
        {"base-url": f"{live_server.base_url}/elemental/v1", "request-timeout": 30}
    )
    return schemathesis.openapi.from_url(f"{live_server.base_url}/elemental/v1/openapi.json", config=config)


def test_the_spec_served_has_every_operation(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {operation.definition.raw["operationId"] for operation in operations} == OPERATIONS


# Not `schemathesis.pytest.from_fixture(...).parametrize()`: with pytest 9.2 it fails with
# "AttributeError: 'Function' object has no attribute '_nodeid'" (schemathesis 4.32.5 sets
# `node._nodeid`, which pytest 9.2 no longer has). The operations' own Hypothesis strategies
# do the same generation.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_api_conforms_to_its_spec(
    api_schema: Any, credentials: Credentials, operation_id: str, mode: GenerationMode
) -> None:
    run_cases(api_schema, credentials, operation_id, mode)


def test_authenticated_cases_got_past_the_token_checks(api_schema: Any, credentials: Credentials) -> None:
    """The handlers themselves ran, not only the token checks. After the property tests
    (same module, file order) their answers suffice; run alone (or with some of them), it
    runs the missing positive cases itself."""
    for operation_id in sorted(OPERATIONS):
        if (operation_id, GenerationMode.POSITIVE) not in credentials.runs:
            run_cases(api_schema, credentials, operation_id, GenerationMode.POSITIVE)
    answers = credentials.answers
    assert 200 in answers["getRegistration (authenticated)"], answers
    assert 201 in answers["createHost (authenticated)"], answers
    assert 200 in answers["patchHost (authenticated)"], answers
    assert 202 in answers["deleteHost (authenticated)"], answers
    assert {200, 404} <= answers["getBootstrap (authenticated)"], answers


def run_cases(api_schema: Any, credentials: Credentials, operation_id: str, mode: GenerationMode) -> None:
    """Generated cases of one operation, each sent as generated and then authenticated;
    every answer is checked against the spec and recorded in `credentials.answers`."""
    operation = api_schema.find_operation_by_id(operation_id)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure shows the case as found
    )
    def check(case: Any) -> None:
        # 1. As generated: made-up registrations, hosts and tokens.
        response = case.call_and_validate(checks=CHECKS)
        credentials.record(operation_id, response.status_code)
        # 2. With valid credentials for records that exist.
        response = _authenticate(case, operation_id, credentials).call_and_validate(checks=CHECKS)
        credentials.record(f"{operation_id} (authenticated)", response.status_code)

    check()
    credentials.runs.add((operation_id, mode))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/namespaces/x%0A/registrations/fuzz"),
        ("POST", "/namespaces/default/registrations/fuzz%0A/hosts"),
        ("PATCH", "/namespaces/default/registrations/fuzz/hosts/h%0A"),
        ("DELETE", "/namespaces/default/registrations/fuzz/hosts/h%0A"),
        ("GET", "/namespaces/default/registrations/fuzz/hosts/h%0A/bootstrap"),
    ],
)
def test_newline_in_a_path_name_is_a_client_error(
    live_server: LiveServer,  # noqa: F811
    credentials: Credentials,
    method: str,
    path: str,
) -> None:
    """Found by the negative run: a %0A in any path parameter was answered 500."""
    host = HostIdentity(credentials.registration, "h")
    headers = host.create_headers()
    with live_server.client() as client:
        response = client.request(method, f"/elemental/v1{path}", headers=headers, json={})
    assert response.status_code in (400, 404), (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"


def _authenticate(case: Any, operation_id: str, credentials: Credentials) -> Any:
    registration = credentials.registration
    registration_header = {"Registration-Authorization": f"Bearer {registration.token}"}
    path = {"namespace": registration.namespace, "registrationName": registration.name}
    headers = case.headers.copy() if case.headers else {}
    if operation_id == "getRegistration":
        headers.update(registration_header)
    elif operation_id == "createHost":
        headers.update(registration_header)
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("name"), str):
            key = tokens.SigningKey.generate()
            body = {**body, "pubKey": key.public_pem()}
            headers["Authorization"] = (
                f"Bearer {tokens.issue_host_token(key, body['name'], registration.uri)}"
            )
        else:  # nothing to sign for: any valid-looking host token
            headers["Authorization"] = f"Bearer {HostIdentity(registration, 'nobody').token()}"
    else:
        host = credentials.fresh_host()
        path["hostName"] = host.name
        headers.update(host.auth())
    authenticated = case.derive(headers=headers)
    authenticated.path_parameters = path
    if operation_id == "createHost":
        authenticated.body = body
    return authenticated
