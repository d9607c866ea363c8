"""A fake of the agent's `ApiClient` (elemental_agent.client): records every call, answers
from scripts, and otherwise like the API would for one registration.

Unscripted, it knows which host names exist: `create_host` adds one (409 when taken), and
`patch_host`, `delete_host` and `get_bootstrap` of a name it doesn't know answer 404. A patch
answers `host` (the host the API would return), a bootstrap `bootstrap` (404 when None).
A script (`on`) answers the next matching calls first: a value is returned, an exception
(the agent's own `RequestRefused`/`RetryableError`) raised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from elemental_agent.errors import RequestRefused, RetryableError
from elemental_models.api import (
    ApiBootstrapResponse,
    ApiHostCreateRequest,
    ApiHostPatchRequest,
    ApiHostResponse,
    ApiRegistrationResponse,
)

OPERATIONS = ("get_registration", "create_host", "patch_host", "delete_host", "get_bootstrap")


def refused(status: int = 400, detail: str = "refused by the fake") -> RequestRefused:
    """What the client raises for a 4xx answer."""
    return RequestRefused(f"the server answered {status}: {detail}", status=status, detail=detail)


def unavailable(status: int = 503) -> RetryableError:
    """What the client raises for a 5xx answer."""
    return RetryableError(f"the server answered {status}", status=status, detail="unavailable")


def unreachable() -> RetryableError:
    """What the client raises when it cannot connect."""
    return RetryableError("cannot connect: [Errno 111] Connection refused")


@dataclass
class Call:
    operation: str
    hostname: str | None = None
    request: ApiHostCreateRequest | ApiHostPatchRequest | None = None

    @property
    def patch(self) -> ApiHostPatchRequest:
        assert isinstance(self.request, ApiHostPatchRequest), f"{self} is not a patch"
        return self.request


@dataclass
class _Script:
    operation: str
    when: Callable[[Call], bool]
    outcomes: deque[Any]


def _initial_host() -> ApiHostResponse:
    """A fresh host as the API answers it (the spec's required fields)."""
    return ApiHostResponse(
        name="", installed=False, bootstrapReady=False, bootstrapped=False, needsReset=False
    )


@dataclass
class FakeApi:
    registration: ApiRegistrationResponse
    host: ApiHostResponse = field(default_factory=_initial_host)
    bootstrap: ApiBootstrapResponse | None = None
    hosts: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)
    scripts: list[_Script] = field(default_factory=list)

    def on(self, operation: str, *outcomes: Any, when: Callable[[Call], bool] = lambda _call: True) -> None:
        """The next calls of `operation` that match `when` get `outcomes`, one each, in order."""
        assert operation in OPERATIONS, operation
        self.scripts.append(_Script(operation, when, deque(outcomes)))

    # -- ApiClient -----------------------------------------------------------------------------

    def get_registration(self) -> ApiRegistrationResponse:
        scripted = self._record(Call("get_registration"))
        return self.registration if scripted is None else scripted

    def create_host(self, request: ApiHostCreateRequest) -> None:
        name = request.name.root
        self._record(Call("create_host", name, request))
        if name in self.hosts:
            raise refused(409, f"host {name} already exists")
        self.hosts.add(name)

    def patch_host(self, patch: ApiHostPatchRequest, hostname: str) -> ApiHostResponse:
        scripted = self._record(Call("patch_host", hostname, patch))
        if scripted is not None:
            return scripted
        self._known(hostname)
        return self.host

    def delete_host(self, hostname: str) -> None:
        self._record(Call("delete_host", hostname))
        self._known(hostname)

    def get_bootstrap(self, hostname: str) -> ApiBootstrapResponse:
        scripted = self._record(Call("get_bootstrap", hostname))
        if scripted is not None:
            return scripted
        self._known(hostname)
        if self.bootstrap is None:
            raise refused(404, "no bootstrap data yet")
        return self.bootstrap

    # -- what the agent did --------------------------------------------------------------------

    def operations(self) -> list[str]:
        return [call.operation for call in self.calls]

    def patches(self) -> list[ApiHostPatchRequest]:
        return [call.patch for call in self.calls if call.operation == "patch_host"]

    def phases(self) -> list[str]:
        return [patch.phase for patch in self.patches() if patch.phase]

    def conditions(self) -> list[tuple[str, str, str, str, str]]:
        """(type, status, severity, reason, message) of every condition reported, in order."""
        return [
            (c.type, c.status, c.severity or "", c.reason or "", c.message or "")
            for c in (patch.condition for patch in self.patches())
            if c is not None
        ]

    def condition_types(self) -> list[tuple[str, str, str]]:
        """(type, status, reason) of every condition reported: the message left out."""
        return [(type_, status, reason) for type_, status, _severity, reason, _message in self.conditions()]

    # -- plumbing ------------------------------------------------------------------------------

    def _record(self, call: Call) -> Any:
        self.calls.append(call)
        for script in self.scripts:
            if script.operation == call.operation and script.outcomes and script.when(call):
                outcome = script.outcomes.popleft()
                if isinstance(outcome, BaseException):
                    raise outcome
                return outcome
        return None

    def _known(self, hostname: str) -> None:
        if hostname not in self.hosts:
            raise refused(404, f"host {hostname} not found")


# Predicates for `on(..., when=...)`.


def probe(call: Call) -> bool:
    """The empty patch `register` sends to find out whether the host exists already."""
    return call.patch == ApiHostPatchRequest()


def reports(condition_type: str, status: str | None = None) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        condition = call.patch.condition
        if condition is None or condition.type != condition_type:
            return False
        return status is None or condition.status == status

    return matches


def sets(**fields: Any) -> Callable[[Call], bool]:
    """A patch carrying these field values (`installed=True`, `phase="Running"`...)."""

    def matches(call: Call) -> bool:
        return all(getattr(call.patch, name) == value for name, value in fields.items())

    return matches
