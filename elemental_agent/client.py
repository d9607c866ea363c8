"""The Elemental API client: the five operations of openapi.yaml, sent through the generated
SDK (`elemental_client`), taking and returning the generated pydantic models.

The SDK does the wire (paths, headers, JSON bodies, parsing by status); the pydantic models
stay the agent's own types because they enforce the contract's rules (names, lengths,
patterns), which the SDK's models do not check. Every host request carries a fresh host
token (EdDSA, `sub` host name, `aud` registration URI, one minute of validity) signed with the
host's key; the registration requests carry the registration token, as `Bearer <token>` (as
the Go agent sends it). 4xx answers raise `RequestRefused` with the server's problem
`detail`; network errors and 5xx answers raise `RetryableError`.
"""

from __future__ import annotations

import logging
import ssl
import urllib.request
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

import httpx
from pydantic import BaseModel

import elemental_client.models as sdk
from elemental_agent import __version__
from elemental_agent.config import Config
from elemental_agent.errors import ApiError, ConfigError, RequestRefused, RetryableError
from elemental_agent.hostroot import HostRoot
from elemental_client import AuthenticatedClient
from elemental_client.api.hosts import create_host, delete_host, get_bootstrap, patch_host
from elemental_client.api.registrations import get_registration
from elemental_client.types import Response
from elemental_core.tokens import SigningKey, issue_host_token
from elemental_models.api import (
    ApiBootstrapResponse,
    ApiHostCreateRequest,
    ApiHostPatchRequest,
    ApiHostResponse,
    ApiRegistrationResponse,
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
    """The API over HTTP(S): one connection pool (and TLS context) for every request; a
    short-lived SDK client per operation carries that operation's tokens."""

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
        self.timeout = httpx.Timeout(timeout)
        verify: ssl.SSLContext | bool = True
        if scheme == "https":
            verify = tls_context(
                ca_cert_pem(root, config.registration.ca_cert),
                use_system_pool=config.agent.use_system_cert_pool,
                skip_verify=config.agent.insecure_skip_tls_verify,
            )
        self.verify = verify
        self.base_url, self.namespace, self.registration_name = split_registration_uri(self.registration_uri)
        self.transport = transport or httpx.HTTPTransport(verify=verify, proxy=_environment_proxy(uri))
        # httpx event hooks every request of this client runs (tests watch the wire with them).
        self.event_hooks: dict[str, list[Callable[[Any], Any]]] = {"request": [], "response": []}

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ElementalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- operations --------------------------------------------------------------------------

    def get_registration(self) -> ApiRegistrationResponse:
        log.debug("Getting registration: %s", self.registration_uri)
        what = "getting registration"
        answer = self._call(
            what,
            lambda client: get_registration.sync_detailed(*self._ids, client=client),
            self._registration_auth(),
        )
        return _to_model(what, answer, ApiRegistrationResponse)

    def create_host(self, request: ApiHostCreateRequest) -> None:
        name = request.name.root
        log.debug("Creating new host: %s", name)
        body = sdk.ApiHostCreateRequest.from_dict(_wire(request))
        self._call(
            "creating new host",
            lambda client: create_host.sync_detailed(*self._ids, client=client, body=body),
            self._host_auth(name),
            extra_headers=self._registration_header(),
            expect=201,
        )

    def delete_host(self, hostname: str) -> None:
        log.debug("Marking host for deletion: %s", hostname)
        self._call(
            "deleting host",
            lambda client: delete_host.sync_detailed(*self._ids, hostname, client=client),
            self._host_auth(hostname),
            expect=202,
        )

    def patch_host(self, patch: ApiHostPatchRequest, hostname: str) -> ApiHostResponse:
        log.debug("Patching host %s: %s", hostname, patch.model_dump(mode="json", exclude_none=True))
        what = "patching host"
        body = sdk.ApiHostPatchRequest.from_dict(_wire(patch))
        answer = self._call(
            what,
            lambda client: patch_host.sync_detailed(*self._ids, hostname, client=client, body=body),
            self._host_auth(hostname),
        )
        return _to_model(what, answer, ApiHostResponse)

    def get_bootstrap(self, hostname: str) -> ApiBootstrapResponse:
        log.debug("Getting bootstrap for host: %s", hostname)
        what = "getting bootstrap"
        answer = self._call(
            what,
            lambda client: get_bootstrap.sync_detailed(*self._ids, hostname, client=client),
            self._host_auth(hostname),
        )
        return _to_model(what, answer, ApiBootstrapResponse)

    # -- plumbing ----------------------------------------------------------------------------

    @property
    def _ids(self) -> tuple[str, str]:
        return self.namespace, self.registration_name

    def _registration_auth(self) -> _Auth:
        return _Auth("Registration-Authorization", self.registration_token)

    def _registration_header(self) -> dict[str, str]:
        return {"Registration-Authorization": f"Bearer {self.registration_token}"}

    def _host_auth(self, hostname: str) -> _Auth:
        token = issue_host_token(self.identity, hostname, self.registration_uri, issuer=self.user_agent)
        return _Auth("Authorization", token)

    def _call(
        self,
        what: str,
        operation: Callable[[AuthenticatedClient], Response[Any]],
        auth: _Auth,
        *,
        extra_headers: dict[str, str] | None = None,
        expect: int = 200,
    ) -> Response[Any]:
        """Runs one SDK operation; any answer but `expect` raises the matching `ApiError`."""
        raw: list[httpx.Response] = []  # the answer as received, for when the SDK cannot parse it
        client = AuthenticatedClient(
            base_url=self.base_url,
            token=auth.token,
            auth_header_name=auth.header,
            headers={"User-Agent": self.user_agent, **(extra_headers or {})},
            timeout=self.timeout,
            verify_ssl=self.verify,
            follow_redirects=False,
            httpx_args={
                "transport": self.transport,
                "trust_env": False,  # the proxy, if any, is the transport's (_environment_proxy)
                "event_hooks": {
                    "request": list(self.event_hooks["request"]),
                    "response": [*self.event_hooks["response"], raw.append],
                },
            },
        )
        try:
            answer = operation(client)
        except httpx.HTTPError as error:
            raise RetryableError(f"{what}: {_describe_transport_error(error)}") from error
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # The SDK parses documented answers only; this one is not what the API sends
            # (something in between, a proxy or a portal, may be): retried unless a 4xx.
            if not raw:
                raise
            if raw[-1].status_code != expect:
                raise _status_error(what, raw[-1], None) from error
            raise RetryableError(
                f"{what}: the {expect} answer is not what the API sends: {_first_line(error)}", status=expect
            ) from error
        if answer.status_code != expect:
            raise _status_error(what, raw[-1], answer.parsed)
        return answer


class _Auth(NamedTuple):
    """One token and the header it goes in (as `Bearer <token>`, as the Go agent sends it)."""

    header: str
    token: str


def split_registration_uri(uri: str) -> tuple[str, str, str]:
    """`<base>/namespaces/<ns>/registrations/<name>` as (base URL, namespace, name): the SDK
    takes the API's base URL and the two path parameters."""
    base, marker, rest = uri.rpartition("/namespaces/")
    parts = rest.split("/")
    if not marker or len(parts) != 3 or parts[1] != "registrations" or not parts[0] or not parts[2]:
        raise ConfigError(
            f"registration.uri {uri!r} is not a registration's URI "
            "(<api>/namespaces/<namespace>/registrations/<name>)"
        )
    return base, unquote(parts[0]), unquote(parts[2])


def _environment_proxy(uri: str) -> str | None:
    """The proxy HTTP(S)_PROXY/ALL_PROXY name for the API, unless NO_PROXY exempts its host."""
    parts = urlsplit(uri)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parts.scheme.lower()) or proxies.get("all")


def _wire(model: BaseModel) -> dict[str, Any]:
    """A request model as the JSON the Go agent sends (no nulls), for the SDK's model."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _to_model(what: str, answer: Response[Any], model: type[Model]) -> Model:
    """The SDK's parsed answer as the agent's pydantic model, checked against the contract."""
    try:
        if answer.parsed is None:
            raise ValueError("no body")
        return model.model_validate(answer.parsed.to_dict())
    except ValueError as error:  # pydantic's ValidationError is one
        # Not what the API answers: something in between (a proxy, a portal) may be; retried.
        raise RetryableError(
            f"{what}: the {int(answer.status_code)} answer is not a valid {model.__name__}: "
            f"{_first_line(error)}",
            status=int(answer.status_code),
        ) from error


def _status_error(what: str, response: httpx.Response, parsed: object) -> ApiError:
    status = response.status_code
    reason = response.reason_phrase or httpx.codes.get_reason_phrase(status)
    detail = _problem_detail(response, reason, parsed)
    message = f"{what}: the server answered {status} {reason}"
    if detail:
        message += f": {detail}"
    if 400 <= status < 500 and status not in (408, 429):
        return RequestRefused(message, status=status, detail=detail)
    return RetryableError(message, status=status, detail=detail)


def _problem_detail(response: httpx.Response, reason: str, parsed: object) -> str:
    """The problem's detail (else its title) as the SDK parsed it; for an answer that is no
    problem, its text when it is not JSON."""
    if isinstance(parsed, sdk.Problem):
        if isinstance(parsed.detail, str) and parsed.detail:
            return parsed.detail
        return parsed.title if parsed.title not in ("", reason) else ""
    try:
        response.json()
    except ValueError:
        return response.text.strip()[:300]
    return ""


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
