"""The agent's error kinds. Every one of them is shown to the user as a message, never a traceback."""

from __future__ import annotations


class AgentError(Exception):
    """A failure the agent reports with its message."""


class ConfigError(AgentError):
    """The configuration (file, flags, TLS material) is unusable."""


class PluginError(AgentError):
    """The OS plugin could not do what it was asked."""


class CommandError(AgentError):
    """A host command failed or could not be started."""


class ApiError(AgentError):
    """The Elemental API answered with an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class RequestRefused(ApiError):
    """A 4xx answer: the request itself is wrong; `detail` is the server's reason."""


class RetryableError(ApiError):
    """A network error or a 5xx answer: worth retrying after a while."""


class Stopped(AgentError):
    """The agent was asked to stop (SIGTERM/SIGINT) while waiting."""
