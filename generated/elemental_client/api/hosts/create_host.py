from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_host_create_request import ApiHostCreateRequest
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    registration_name: str,
    *,
    body: ApiHostCreateRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/namespaces/{namespace}/registrations/{registration_name}/hosts".format(
            namespace=quote(str(namespace), safe=""),
            registration_name=quote(str(registration_name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | None:
    if response.status_code == 201:
        response_201 = cast(Any, None)
        return response_201

    if response.status_code == 400:
        response_400 = Problem.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

    if response.status_code == 500:
        response_500 = Problem.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostCreateRequest,
) -> Response[Any | Problem]:
    """Create a new ElementalHost

     Registers a new host. Needs both tokens: the registration token, and a host token
    signed by the private key whose public key is sent as `pubKey` (so the caller proves
    it holds that key). The registration's host labels and annotations are added to the
    host. The `Location` header of the answer is the host's URI.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostCreateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostCreateRequest,
) -> Any | Problem | None:
    """Create a new ElementalHost

     Registers a new host. Needs both tokens: the registration token, and a host token
    signed by the private key whose public key is sent as `pubKey` (so the caller proves
    it holds that key). The registration's host labels and annotations are added to the
    host. The `Location` header of the answer is the host's URI.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostCreateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        namespace=namespace,
        registration_name=registration_name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostCreateRequest,
) -> Response[Any | Problem]:
    """Create a new ElementalHost

     Registers a new host. Needs both tokens: the registration token, and a host token
    signed by the private key whose public key is sent as `pubKey` (so the caller proves
    it holds that key). The registration's host labels and annotations are added to the
    host. The `Location` header of the answer is the host's URI.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostCreateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostCreateRequest,
) -> Any | Problem | None:
    """Create a new ElementalHost

     Registers a new host. Needs both tokens: the registration token, and a host token
    signed by the private key whose public key is sent as `pubKey` (so the caller proves
    it holds that key). The registration's host labels and annotations are added to the
    host. The `Location` header of the answer is the host's URI.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostCreateRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            registration_name=registration_name,
            client=client,
            body=body,
        )
    ).parsed
