from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_registration_response import ApiRegistrationResponse
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    registration_name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/namespaces/{namespace}/registrations/{registration_name}".format(
            namespace=quote(str(namespace), safe=""),
            registration_name=quote(str(registration_name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiRegistrationResponse | Problem | None:
    if response.status_code == 200:
        response_200 = ApiRegistrationResponse.from_dict(response.json())

        return response_200

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
) -> Response[ApiRegistrationResponse | Problem]:
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
) -> Response[ApiRegistrationResponse | Problem]:
    """Get ElementalRegistration

     Returns what a host needs to register: the labels and annotations every host of this
    registration gets, and the agent configuration (registration URI, CA certificate,
    token, agent settings, install/reset configuration, cloud-config).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiRegistrationResponse | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
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
) -> ApiRegistrationResponse | Problem | None:
    """Get ElementalRegistration

     Returns what a host needs to register: the labels and annotations every host of this
    registration gets, and the agent configuration (registration URI, CA certificate,
    token, agent settings, install/reset configuration, cloud-config).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiRegistrationResponse | Problem
    """

    return sync_detailed(
        namespace=namespace,
        registration_name=registration_name,
        client=client,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
) -> Response[ApiRegistrationResponse | Problem]:
    """Get ElementalRegistration

     Returns what a host needs to register: the labels and annotations every host of this
    registration gets, and the agent configuration (registration URI, CA certificate,
    token, agent settings, install/reset configuration, cloud-config).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiRegistrationResponse | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    registration_name: str,
    *,
    client: AuthenticatedClient,
) -> ApiRegistrationResponse | Problem | None:
    """Get ElementalRegistration

     Returns what a host needs to register: the labels and annotations every host of this
    registration gets, and the agent configuration (registration URI, CA certificate,
    token, agent settings, install/reset configuration, cloud-config).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiRegistrationResponse | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            registration_name=registration_name,
            client=client,
        )
    ).parsed
