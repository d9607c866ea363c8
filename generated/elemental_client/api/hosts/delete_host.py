from http import HTTPStatus
from typing import Any, cast
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    registration_name: str,
    host_name: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "delete",
        "url": "/namespaces/{namespace}/registrations/{registration_name}/hosts/{host_name}".format(
            namespace=quote(str(namespace), safe=""),
            registration_name=quote(str(registration_name), safe=""),
            host_name=quote(str(host_name), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | Problem | None:
    if response.status_code == 202:
        response_202 = cast(Any, None)
        return response_202

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
    host_name: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Problem]:
    """Delete an existing ElementalHost

     Marks the host for deletion and asks it to reset (`needsReset` becomes true). The
    record goes away once the host has reported `reset: true`. Deleting a host already
    marked for deletion is accepted again.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    client: AuthenticatedClient,
) -> Any | Problem | None:
    """Delete an existing ElementalHost

     Marks the host for deletion and asks it to reset (`needsReset` becomes true). The
    record goes away once the host has reported `reset: true`. Deleting a host already
    marked for deletion is accepted again.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | Problem
    """

    return sync_detailed(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
        client=client,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    client: AuthenticatedClient,
) -> Response[Any | Problem]:
    """Delete an existing ElementalHost

     Marks the host for deletion and asks it to reset (`needsReset` becomes true). The
    record goes away once the host has reported `reset: true`. Deleting a host already
    marked for deletion is accepted again.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    client: AuthenticatedClient,
) -> Any | Problem | None:
    """Delete an existing ElementalHost

     Marks the host for deletion and asks it to reset (`needsReset` becomes true). The
    record goes away once the host has reported `reset: true`. Deleting a host already
    marked for deletion is accepted again.

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.

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
            host_name=host_name,
            client=client,
        )
    ).parsed
