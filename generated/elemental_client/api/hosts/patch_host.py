from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_host_patch_request import ApiHostPatchRequest
from ...models.api_host_response import ApiHostResponse
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    body: ApiHostPatchRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "patch",
        "url": "/namespaces/{namespace}/registrations/{registration_name}/hosts/{host_name}".format(
            namespace=quote(str(namespace), safe=""),
            registration_name=quote(str(registration_name), safe=""),
            host_name=quote(str(host_name), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiHostResponse | Problem | None:
    if response.status_code == 200:
        response_200 = ApiHostResponse.from_dict(response.json())

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
) -> Response[ApiHostResponse | Problem]:
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
    body: ApiHostPatchRequest,
) -> Response[ApiHostResponse | Problem]:
    """Patch ElementalHost

     The agent's check-in. Labels and annotations are merged into the host's;
    `installed`, `bootstrapped`, `reset` and `inPlaceUpdate` set the matching
    `elementalhost.infrastructure.cluster.x-k8s.io/*` labels; `condition` replaces the
    condition of the same type and the `Ready` summary is recomputed; `phase` sets the
    phase; `rebootAccepted` acknowledges a reboot request. A patch that changes nothing
    writes nothing. The answer tells the agent what to do next (`bootstrapReady`,
    `needsReset`, `rebootRequest`, `osVersionManagement`).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostPatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiHostResponse | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
        body=body,
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
    body: ApiHostPatchRequest,
) -> ApiHostResponse | Problem | None:
    """Patch ElementalHost

     The agent's check-in. Labels and annotations are merged into the host's;
    `installed`, `bootstrapped`, `reset` and `inPlaceUpdate` set the matching
    `elementalhost.infrastructure.cluster.x-k8s.io/*` labels; `condition` replaces the
    condition of the same type and the `Ready` summary is recomputed; `phase` sets the
    phase; `rebootAccepted` acknowledges a reboot request. A patch that changes nothing
    writes nothing. The answer tells the agent what to do next (`bootstrapReady`,
    `needsReset`, `rebootRequest`, `osVersionManagement`).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostPatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiHostResponse | Problem
    """

    return sync_detailed(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostPatchRequest,
) -> Response[ApiHostResponse | Problem]:
    """Patch ElementalHost

     The agent's check-in. Labels and annotations are merged into the host's;
    `installed`, `bootstrapped`, `reset` and `inPlaceUpdate` set the matching
    `elementalhost.infrastructure.cluster.x-k8s.io/*` labels; `condition` replaces the
    condition of the same type and the `Ready` summary is recomputed; `phase` sets the
    phase; `rebootAccepted` acknowledges a reboot request. A patch that changes nothing
    writes nothing. The answer tells the agent what to do next (`bootstrapReady`,
    `needsReset`, `rebootRequest`, `osVersionManagement`).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostPatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiHostResponse | Problem]
    """

    kwargs = _get_kwargs(
        namespace=namespace,
        registration_name=registration_name,
        host_name=host_name,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    namespace: str,
    registration_name: str,
    host_name: str,
    *,
    client: AuthenticatedClient,
    body: ApiHostPatchRequest,
) -> ApiHostResponse | Problem | None:
    """Patch ElementalHost

     The agent's check-in. Labels and annotations are merged into the host's;
    `installed`, `bootstrapped`, `reset` and `inPlaceUpdate` set the matching
    `elementalhost.infrastructure.cluster.x-k8s.io/*` labels; `condition` replaces the
    condition of the same type and the `Ready` summary is recomputed; `phase` sets the
    phase; `rebootAccepted` acknowledges a reboot request. A patch that changes nothing
    writes nothing. The answer tells the agent what to do next (`bootstrapReady`,
    `needsReset`, `rebootRequest`, `osVersionManagement`).

    Args:
        namespace (str): A Kubernetes DNS-1123 label.
        registration_name (str): A Kubernetes DNS-1123 subdomain.
        host_name (str): A Kubernetes DNS-1123 subdomain.
        body (ApiHostPatchRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiHostResponse | Problem
    """

    return (
        await asyncio_detailed(
            namespace=namespace,
            registration_name=registration_name,
            host_name=host_name,
            client=client,
            body=body,
        )
    ).parsed
