"""The fake stands for the real client: same operations, same signatures, the API's answers."""

from __future__ import annotations

import inspect
import typing

import pytest

from elemental_agent.client import ApiClient, ElementalClient
from elemental_agent.errors import RequestRefused, RetryableError
from elemental_core.tokens import SigningKey
from elemental_models.api import ApiHostCreateRequest, ApiHostPatchRequest, ApiRegistrationResponse
from tests.unit.agent.fake_api import OPERATIONS, FakeApi, unavailable


def protocol_operations() -> set[str]:
    return {name for name in vars(ApiClient) if not name.startswith("_")}


def test_the_fake_has_exactly_the_operations_the_phases_use() -> None:
    assert protocol_operations() == set(OPERATIONS)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_the_fake_and_the_real_client_have_the_protocols_signatures(operation: str) -> None:
    expected = typing.get_type_hints(getattr(ApiClient, operation))
    for implementation in (FakeApi, ElementalClient):
        method = getattr(implementation, operation)
        assert typing.get_type_hints(method) == expected, implementation
        assert list(inspect.signature(method).parameters) == list(
            inspect.signature(getattr(ApiClient, operation)).parameters
        )


def create_request(name: str) -> ApiHostCreateRequest:
    return ApiHostCreateRequest.model_validate({"name": name, "pubKey": SigningKey.generate().public_pem()})


def test_unscripted_it_answers_as_the_api_for_one_registration() -> None:
    api = FakeApi(ApiRegistrationResponse(config={}))
    with pytest.raises(RequestRefused) as missing:
        api.patch_host(ApiHostPatchRequest(), "a")
    assert missing.value.status == 404
    api.create_host(create_request("a"))
    assert api.patch_host(ApiHostPatchRequest(), "a") == api.host
    with pytest.raises(RequestRefused) as taken:
        api.create_host(create_request("a"))
    assert taken.value.status == 409
    with pytest.raises(RequestRefused) as no_bootstrap:
        api.get_bootstrap("a")
    assert no_bootstrap.value.status == 404
    api.delete_host("a")
    assert api.operations() == [
        "patch_host",
        "create_host",
        "patch_host",
        "create_host",
        "get_bootstrap",
        "delete_host",
    ]


def test_scripts_answer_matching_calls_in_order_then_defaults_return() -> None:
    api = FakeApi(ApiRegistrationResponse(config={}, hostLabels={"a": "b"}))
    other = ApiRegistrationResponse(config={})
    api.on("get_registration", unavailable(), other)
    with pytest.raises(RetryableError):
        api.get_registration()
    assert api.get_registration() is other
    assert api.get_registration() is api.registration
