"""The Elemental API client: the five operations of openapi.yaml on the generated models.

Every host request carries a fresh host token (EdDSA, `sub` host name, `aud` registration URI,
one minute of validity) signed with the host's key; the registration requests carry the
registration token. 4xx answers raise `RequestRefused` with the server's problem `detail`;
network errors and 5xx answers raise `RetryableError`.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from elemental_agent import __version__
from elemental_agent.config import Config
from elemental_agent.errors import ApiError, ConfigError, RequestRefused, RetryableError
from elemental_agent.hostroot import HostRoot
from elemental_core.tokens import SigningKey, issue_host_token
from elemental_models.api import (
    ApiBootstrapResponse,
    ApiHostCreateRequest,
    ApiHostPatchRequest,
    ApiHostResponse,
    ApiRegistrationResponse,
    Problem,
)

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_SECONDS = 30.0
Model = TypeVar("Model", bound=BaseModel)


def user_agent() -> str:
    return f"elemental-agent/{__version__}"


def ca_cert_pem(root: HostRoot, ca_cert: str) -> str:
    """`registration.caCert` is a PEM, or the path of a PEM file (upstream reads the file
    when a file of that name exists)."""
    if not ca_cert:
        return ""
    if "-----BEGIN" not in ca_cert:
        try:
            if root.exists(ca_cert):
                return root.read_file(ca_cert).decode()
        except (OSError, ValueError):
            pass
    return ca_cert


def tls_context(ca_pem: str, *, use_system_pool: bool, skip_verify: bool) -> ssl.SSLContext:
    """Trust the caCert, the system pool, both, or (upstream's empty pool) nothing."""
    if use_system_pool:
        log.debug("Using system cert pool")
        context = ssl.create_default_context()
    else:
        log.debug("Using empty cert pool")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_pem:
        log.debug("Adding caCert to pool")
        try:
            context.load_verify_locations(cadata=ca_pem)
        except (ssl.SSLError, ValueError) as error:
            raise ConfigError(f"registration.caCert: could not parse certificate: {error}") from error
    if skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class ApiClient(Protocol):
    """What the phases ask of the Elemental API; `ElementalClient` is the one over HTTPS.

    Each operation raises `RequestRefused` for a 4xx answer and `RetryableError` for a network
    error or a 5xx answer.
    """

    def get_registration(self) -> ApiRegistrationResponse: ...

    def create_host(self, request: ApiHostCreateRequest) -> None: ...

    def patch_host(self, patch: ApiHostPatchRequest, hostname: str) -> ApiHostResponse: ...

    def delete_host(self, hostname: str) -> None: ...

    def get_bootstrap(self, hostname: str) -> ApiBootstrapResponse: ...


class ElementalClient:
    def __init__(
        self,
        config: Config,
        identity: SigningKey,
        root: HostRoot,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        uri = config.registration.uri
        if not uri:
            raise ConfigError("registration.uri is not set")
        scheme = urlsplit(uri).scheme.lower()
        if scheme not in ("http", "https"):
            raise ConfigError(f"registration.uri {uri!r}: unknown scheme {scheme!r}, use 'https'")
        if scheme == "http" and not config.agent.insecure_allow_http:
            raise ConfigError(
                f"registration.uri {uri!r} uses plain http: refused unless agent.insecureAllowHttp is true"
            )
        self.registration_uri = uri.rstrip("/")
        self.registration_token = config.registration.token
        self.identity = identity
        self.user_agent = user_agent()
        verify: ssl.SSLContext | bool = True
        if scheme == "https":
            verify = tls_context(
                ca_cert_pem(root, config.registration.ca_cert),
                use_system_pool=config.agent.use_system_cert_pool,
                skip_verify=config.agent.insecure_skip_tls_verify,
            )
        self.http = httpx.Client(
            verify=verify,
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": self.user_agent},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> ElementalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations --------------------------------------------------------------------------

    def get_registration(self) -> ApiRegistrationResponse:
        log.debug("Getting registration: %s", self.registration_uri)
        response = self._send(
            "getting registration", "GET", self.registration_uri, headers=self._registration_header()
        )
        return self._parse("getting registration", response, 200, ApiRegistrationResponse)

    def create_host(self, request: ApiHostCreateRequest) -> None:
        name = request.name.root
        log.debug("Creating new host: %s", name)
        self._send(
            "creating new host",
            "POST",
            f"{self.registration_uri}/hosts",
            headers={**self._host_header(name), **self._registration_header()},
            body=request,
            expect=201,
        )

    def delete_host(self, hostname: str) -> None:
        log.debug("Marking host for deletion: %s", hostname)
        self._send(
            "deleting host",
            "DELETE",
            self._host_url(hostname),
            headers=self._host_header(hostname),
            expect=202,
        )

    def patch_host(self, patch: ApiHostPatchRequest, hostname: str) -> ApiHostResponse:
        log.debug("Patching host %s: %s", hostname, patch.model_dump(mode="json", exclude_none=True))
        response = self._send(
            "patching host",
            "PATCH",
            self._host_url(hostname),
            headers=self._host_header(hostname),
            body=patch,
        )
        return self._parse("patching host", response, 200, ApiHostResponse)

    def get_bootstrap(self, hostname: str) -> ApiBootstrapResponse:
        log.debug("Getting bootstrap for host: %s", hostname)
        response = self._send(
            "getting bootstrap",
            "GET",
            f"{self._host_url(hostname)}/bootstrap",
            headers=self._host_header(hostname),
        )
        return self._parse("getting bootstrap", response, 200, ApiBootstrapResponse)

    # -- plumbing ----------------------------------------------------------------------------

    def _host_url(self, hostname: str) -> str:
        return f"{self.registration_uri}/hosts/{quote(hostname, safe='')}"

    def _registration_header(self) -> dict[str, str]:
        return {"Registration-Authorization": f"Bearer {self.registration_token}"}

    def _host_header(self, hostname: str) -> dict[str, str]:
        token = issue_host_token(self.identity, hostname, self.registration_uri, issuer=self.user_agent)
        return {"Authorization": f"Bearer {token}"}

    def _send(
        self,
        what: str,
        method: str,
        url: str,
        *,
        headers: dict[str, str],
        body: BaseModel | None = None,
        expect: int = 200,
    ) -> httpx.Response:
        content: bytes | None = None
        if body is not None:
            content = body.model_dump_json(exclude_none=True).encode()
            headers = {**headers, "Content-Type": "application/json"}
        try:
            response = self.http.request(method, url, headers=headers, content=content)
        except httpx.HTTPError as error:
            raise RetryableError(f"{what}: {_describe_transport_error(error)}") from error
        if response.status_code != expect:
            raise _status_error(what, response)
        return response

    @staticmethod
    def _parse(what: str, response: httpx.Response, status: int, model: type[Model]) -> Model:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            # Not what the API answers: something in between (a proxy, a portal) may be; retried.
            raise RetryableError(
                f"{what}: the {status} answer is not a valid {model.__name__}: {_first_line(error)}",
                status=status,
            ) from error


def _status_error(what: str, response: httpx.Response) -> ApiError:
    status = response.status_code
    detail = _problem_detail(response)
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    message = f"{what}: the server answered {status} {reason}"
    if detail:
        message += f": {detail}"
    if 400 <= status < 500 and status not in (408, 429):
        return RequestRefused(message, status=status, detail=detail)
    return RetryableError(message, status=status, detail=detail)


def _problem_detail(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:300]
    try:
        problem = Problem.model_validate(body)
    except ValidationError:
        return ""
    return problem.detail or (problem.title if problem.title not in ("", response.reason_phrase) else "")


def _first_line(error: Exception) -> str:
    lines = str(error).splitlines()
    return " ".join(lines[:3]) if lines else type(error).__name__


def _describe_transport_error(error: httpx.HTTPError) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect: {text}"
    if isinstance(error, httpx.TimeoutException):
        return f"timed out: {text}"
    return text
