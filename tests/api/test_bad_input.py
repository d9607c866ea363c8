"""Bad input is answered 4xx with a reason (application/problem+json) and changes no record.

Every refused request here is otherwise valid: the tokens are right, so the refusal comes
from the input alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from elemental_api.store import Store
from elemental_core.vocabulary import LABEL_CLUSTER_NAME, LABEL_INSTALLED
from tests.helpers import HostIdentity, assert_problem, register

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def registered(client: Any, host: HostIdentity) -> HostIdentity:
    assert register(client, host).status_code == 201
    return host


class Unchanged:
    """Asserts the store holds the same hosts after the block as before it."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def snapshot(self) -> list[Any]:
        return sorted(self.store.list_hosts(), key=lambda h: (h.namespace, h.name))

    def __enter__(self) -> Unchanged:
        self.before = self.snapshot()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert self.snapshot() == self.before


@pytest.fixture
def unchanged(store: Store) -> Iterator[Unchanged]:
    with Unchanged(store) as guard:
        yield guard


def post_raw(client: Any, host: HostIdentity, content: Any, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        host.hosts_path, content=content, headers={**host.create_headers(), **JSON, **(headers or {})}
    )


def patch_raw(client: Any, host: HostIdentity, content: Any, headers: dict[str, str] | None = None) -> Any:
    return client.patch(host.path, content=content, headers={**host.auth(), **JSON, **(headers or {})})


# --- malformed bodies -------------------------------------------------------------------

MALFORMED_JSON = {
    "unterminated": b'{"installed": true',
    "bare-word": b"{installed: true}",
    "trailing-garbage": b'{"installed": true} x',
    "single-quotes": b"{'installed': true}",
    "empty": b"",
}
NOT_AN_OBJECT = {"array": b"[]", "null": b"null", "string": b'"installed"', "number": b"1"}


@pytest.mark.parametrize("content", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_malformed_json_post_is_400(
    client: Any, host: HostIdentity, unchanged: Unchanged, content: bytes
) -> None:
    assert_problem(post_raw(client, host, content), 400)


@pytest.mark.parametrize("content", MALFORMED_JSON.values(), ids=MALFORMED_JSON.keys())
def test_malformed_json_patch_is_400(
    client: Any, registered: HostIdentity, unchanged: Unchanged, content: bytes
) -> None:
    assert_problem(patch_raw(client, registered, content), 400)


@pytest.mark.parametrize("content", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
def test_body_that_is_not_an_object_is_400(
    client: Any, registered: HostIdentity, unchanged: Unchanged, content: bytes
) -> None:
    assert_problem(post_raw(client, HostIdentity(registered.registration, "host-2"), content), 400)
    assert_problem(patch_raw(client, registered, content), 400)


def test_body_that_is_not_utf8_is_400(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    assert_problem(patch_raw(client, registered, b'{"phase": "\xff\xfe"}'), 400)


def test_body_that_is_not_json_is_415(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    body = json.dumps({"installed": True})
    assert_problem(patch_raw(client, registered, body, {"Content-Type": "text/plain"}), 415, "content-type")
    other = HostIdentity(registered.registration, "host-2")
    assert_problem(
        post_raw(client, other, json.dumps(other.create_body()), {"Content-Type": "text/plain"}), 415
    )


WRONG_PATCH_TYPES = {
    "installed-string": {"installed": "yes"},
    "bootstrapped-number": {"bootstrapped": 1},
    "labels-array": {"labels": [1]},
    "label-value-number": {"labels": {"disk": 1}},
    "annotations-string": {"annotations": "note"},
    "annotation-value-object": {"annotations": {"note": {"a": "b"}}},
    "condition-status-maybe": {"condition": {"type": "InstallationReady", "status": "Maybe"}},
    "condition-without-type": {"condition": {"status": "True"}},
    "condition-severity-unknown": {"condition": {"type": "Ready", "status": "False", "severity": "Fatal"}},
    "condition-message-over-10-kib": {
        "condition": {"type": "Ready", "status": "True", "message": "m" * 10241}
    },
    "phase-number": {"phase": 5},
    "phase-over-63": {"phase": "P" * 64},
    "in-place-update-over-63": {"inPlaceUpdate": "p" * 64},
}


@pytest.mark.parametrize("body", WRONG_PATCH_TYPES.values(), ids=WRONG_PATCH_TYPES.keys())
def test_patch_with_wrong_types_is_400(
    client: Any, registered: HostIdentity, unchanged: Unchanged, body: dict[str, Any]
) -> None:
    # Alongside a valid change, so a partial apply would show in the store.
    response = client.patch(registered.path, json={"installed": True, **body}, headers=registered.auth())
    assert_problem(response, 400)


WRONG_CREATE_TYPES = {
    "name-number": {"name": 5},
    "pub-key-number": {"pubKey": 5},
    "pub-key-over-4-kib": {"pubKey": "k" * 4097},
    "labels-array": {"labels": ["a"]},
    "annotations-number": {"annotations": 1},
}


@pytest.mark.parametrize("change", WRONG_CREATE_TYPES.values(), ids=WRONG_CREATE_TYPES.keys())
def test_create_with_wrong_types_is_400(
    client: Any, host: HostIdentity, unchanged: Unchanged, change: dict[str, Any]
) -> None:
    assert_problem(
        client.post(host.hosts_path, json={**host.create_body(), **change}, headers=host.create_headers()),
        400,
    )


def test_create_without_required_fields_is_400(client: Any, host: HostIdentity, unchanged: Unchanged) -> None:
    for missing in ("name", "pubKey"):
        body = {k: v for k, v in host.create_body().items() if k != missing}
        assert_problem(client.post(host.hosts_path, json=body, headers=host.create_headers()), 400, missing)


# --- names ------------------------------------------------------------------------------

BAD_HOST_NAMES = {
    "uppercase": "Host-1",
    "254-chars": "a" * 254,
    "underscore": "a_b",
    "leading-dash": "-a",
    "trailing-dash": "a-",
    "empty": "",
    "slash": "a/b",
    "space": "a b",
    "trailing-newline": "host-1\n",
}


@pytest.mark.parametrize("name", BAD_HOST_NAMES.values(), ids=BAD_HOST_NAMES.keys())
def test_create_with_invalid_host_name_is_400(
    client: Any, registration: Any, unchanged: Unchanged, name: str
) -> None:
    # The host token is made out to that very name: only the name rule can refuse it.
    host = HostIdentity(registration, name)
    assert_problem(register(client, host), 400, "name" if name else "")


def test_longest_valid_host_name_is_accepted(client: Any, registration: Any) -> None:
    name = ".".join(["a" * 63] * 4)[:253].rstrip(".")
    assert register(client, HostIdentity(registration, name)).status_code == 201


# A line feed in the path (%0A) slips past connexion's router (its `.*` stops at a newline) and
# would reach Flask's outside connexion's context: elemental_api/guard.py refuses control characters in paths.


@pytest.mark.parametrize("name", ["Host_1", "a" * 254, "a_b", "UPPER", "host-1%0A"])
def test_invalid_host_name_in_path_is_4xx(
    client: Any, registered: HostIdentity, unchanged: Unchanged, name: str
) -> None:
    host = HostIdentity(registered.registration, name, registered.key)
    for response in (
        client.patch(host.path, json={"installed": True}, headers=host.auth()),
        client.delete(host.path, headers=host.auth()),
        client.get(f"{host.path}/bootstrap", headers=host.auth()),
    ):
        assert 400 <= response.status_code < 500, response.text
        assert_problem(response, response.status_code)


@pytest.mark.parametrize(
    "path",
    [
        "/elemental/v1/namespaces/Default/registrations/reg",
        "/elemental/v1/namespaces/default/registrations/Reg_1",
        "/elemental/v1/namespaces/" + "n" * 64 + "/registrations/reg",
        "/elemental/v1/namespaces/default%0A/registrations/reg",
        "/elemental/v1/namespaces/default/registrations/reg%0A",
        "/elemental/v1/namespaces/default%0D/registrations/reg",
        "/elemental/v1/namespaces/default/registrations/reg%00",
    ],
)
def test_invalid_namespace_or_registration_in_path_is_4xx(client: Any, registration: Any, path: str) -> None:
    response = client.get(path, headers={"Registration-Authorization": f"Bearer {registration.token}"})
    assert 400 <= response.status_code < 500, response.text
    assert_problem(response, response.status_code)


# --- labels and annotations -------------------------------------------------------------

BAD_LABEL_KEYS = {
    "space": "bad key",
    "leading-dash": "-x",
    "two-slashes": "a/b/c",
    "name-64-chars": "k" * 64,
    "empty": "",
    "empty-name": "example.com/",
    "empty-prefix": "/name",
    "uppercase-prefix": "Example.com/name",
    "prefix-over-253": "p" * 254 + "/name",
    "trailing-newline": "key\n",
    "prefix-trailing-newline": "example.com\n/key",
}
BAD_LABEL_VALUES = {
    "over-63": "v" * 64,
    "space": "has space",
    "leading-dash": "-v",
    "slash": "a/b",
    "trailing-newline": "v\n",
}
PROVIDER_KEYS = [LABEL_INSTALLED, LABEL_CLUSTER_NAME]


@pytest.mark.parametrize("key", BAD_LABEL_KEYS.values(), ids=BAD_LABEL_KEYS.keys())
@pytest.mark.parametrize("field", ["labels", "annotations"])
def test_invalid_key_is_400_on_create_and_patch(
    client: Any, registered: HostIdentity, unchanged: Unchanged, field: str, key: str
) -> None:
    new = HostIdentity(registered.registration, "host-2")
    metadata = {key: "v", "good": "v"}
    assert_problem(
        client.post(new.hosts_path, json=new.create_body(**{field: metadata}), headers=new.create_headers()),
        400,
        "key",
    )
    response = client.patch(
        registered.path, json={"installed": True, field: metadata}, headers=registered.auth()
    )
    assert_problem(response, 400, "key")


@pytest.mark.parametrize("value", BAD_LABEL_VALUES.values(), ids=BAD_LABEL_VALUES.keys())
def test_invalid_label_value_is_400_on_create_and_patch(
    client: Any, registered: HostIdentity, unchanged: Unchanged, value: str
) -> None:
    new = HostIdentity(registered.registration, "host-2")
    labels = {"disk": value}
    assert_problem(
        client.post(new.hosts_path, json=new.create_body(labels=labels), headers=new.create_headers()), 400
    )
    response = client.patch(
        registered.path, json={"installed": True, "labels": labels}, headers=registered.auth()
    )
    assert_problem(response, 400)


@pytest.mark.parametrize("key", PROVIDER_KEYS)
@pytest.mark.parametrize("field", ["labels", "annotations"])
def test_provider_owned_key_is_400_on_create_and_patch(
    client: Any, registered: HostIdentity, unchanged: Unchanged, field: str, key: str
) -> None:
    new = HostIdentity(registered.registration, "host-2")
    metadata = {key: "true"}
    response = client.post(
        new.hosts_path, json=new.create_body(**{field: metadata}), headers=new.create_headers()
    )
    assert_problem(response, 400, "reserved")
    response = client.patch(
        registered.path, json={"phase": "Running", field: metadata}, headers=registered.auth()
    )
    assert_problem(response, 400, "reserved")


def test_too_many_labels_is_400(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    labels = {f"k{i}": "v" for i in range(129)}
    response = client.patch(registered.path, json={"labels": labels}, headers=registered.auth())
    assert_problem(response, 400)


def test_annotations_over_256_kib_are_400(
    client: Any, registered: HostIdentity, unchanged: Unchanged
) -> None:
    annotations = {f"note-{i}": "n" * (64 * 1024) for i in range(5)}
    response = client.patch(registered.path, json={"annotations": annotations}, headers=registered.auth())
    assert_problem(response, 400, "annotations")


def test_annotation_values_may_be_any_text(client: Any, registered: HostIdentity, store: Store) -> None:
    """The counterpart of the label value rules: annotations take spaces, slashes, newlines."""
    note = "any text: with spaces / slashes\nand newlines"
    response = client.patch(registered.path, json={"annotations": {"note": note}}, headers=registered.auth())
    assert response.status_code == 200
    assert store.get_host("default", registered.name).annotations["note"] == note  # type: ignore[union-attr]


# --- size -------------------------------------------------------------------------------


def _padded(body: dict[str, Any], size: int) -> bytes:
    """Valid JSON of `size` bytes: accepted as-is were it not for its size."""
    encoded = json.dumps(body).encode()
    return encoded[:-1] + b" " * (size - len(encoded)) + b"}"


def test_body_over_1_mib_is_413(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    body = _padded({"installed": True}, MIB + 1)
    assert len(body) == MIB + 1
    assert_problem(patch_raw(client, registered, body), 413, "1 MiB")
    new = HostIdentity(registered.registration, "host-2")
    assert_problem(post_raw(client, new, _padded(new.create_body(), MIB + 1)), 413, "1 MiB")


def test_body_of_1_mib_is_accepted(client: Any, registered: HostIdentity, store: Store) -> None:
    response = patch_raw(client, registered, _padded({"installed": True}, MIB))
    assert response.status_code == 200, response.text
    assert store.get_host("default", registered.name).labels[LABEL_INSTALLED] == "true"  # type: ignore[union-attr]


def test_chunked_body_over_1_mib_is_refused(
    client: Any, registered: HostIdentity, unchanged: Unchanged
) -> None:
    """No Content-Length: counted as it arrives, refused past 1 MiB without being applied."""
    body = _padded({"installed": True}, MIB + 64 * 1024)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = client.patch(registered.path, content=chunks(), headers={**registered.auth(), **JSON})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413, "1 MiB")


def test_body_longer_than_its_content_length_is_413(
    client: Any, registered: HostIdentity, unchanged: Unchanged
) -> None:
    """The running count guards what the declared length does not (in-process clients send more)."""
    body = _padded({"installed": True}, MIB + 1)
    assert_problem(patch_raw(client, registered, body, {"Content-Length": "19"}), 413)


# --- unknown input ----------------------------------------------------------------------


def test_unknown_body_fields_are_ignored(client: Any, registered: HostIdentity, store: Store) -> None:
    """Bodies tolerate fields this server does not know (a newer agent's); nothing stores them."""
    response = client.patch(
        registered.path, json={"installed": True, "futureField": {"x": 1}}, headers=registered.auth()
    )
    assert response.status_code == 200, response.text
    assert "futureField" not in response.text
    new = HostIdentity(registered.registration, "host-2")
    response = client.post(new.hosts_path, json=new.create_body(futureField=1), headers=new.create_headers())
    assert response.status_code == 201, response.text
    for name in (registered.name, new.name):
        stored = store.get_host("default", name)
        assert stored is not None
        assert "futureField" not in json.dumps([stored.labels, stored.annotations, stored.conditions])


def test_unknown_query_parameter_is_400(client: Any, registered: HostIdentity, unchanged: Unchanged) -> None:
    response = client.patch(
        registered.path, params={"dryRun": "true"}, json={"installed": True}, headers=registered.auth()
    )
    assert_problem(response, 400, "dryRun")
