"""The agent's config file (`/etc/elemental/agent/config.yaml`), with upstream's keys and defaults.

The file has two sections, `registration` and `agent`, exactly as the Go agent reads them, so
an existing file works unchanged. Like the Go agent (viper), keys are matched regardless of
case and durations (`reconciliation`, `tokenDuration`) are either integer nanoseconds or Go
duration strings (`10s`, `1m30s`). Files are written with integer nanoseconds and without
empty values (Go's `omitempty`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from elemental_agent.errors import ConfigError
from elemental_core.vocabulary import DEFAULT_OS_PLUGIN, DEFAULT_RECONCILIATION, DEFAULT_WORK_DIR
from elemental_models.api import ApiRegistrationResponse, V1Beta1Agent, V1Beta1Registration

DEFAULT_CONFIG_PATH = "/etc/elemental/agent/config.yaml"
NANOSECOND = 1
MICROSECOND = 1_000
MILLISECOND = 1_000_000
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE

_UNITS = {
    "ns": NANOSECOND,
    "us": MICROSECOND,
    "\u00b5s": MICROSECOND,
    "\u03bcs": MICROSECOND,
    "ms": MILLISECOND,
    "s": SECOND,
    "m": MINUTE,
    "h": HOUR,
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)([a-zµμ]+)")


@dataclass
class PostAction:
    """What to do once a phase is over: power off, or reboot (power off wins, as upstream)."""

    power_off: bool = False
    reboot: bool = False


@dataclass
class HostnameConfig:
    use_existing: bool = False
    prefix: str = ""


@dataclass
class RegistrationConfig:
    uri: str = ""
    ca_cert: str = ""
    token_duration: int = 0  # nanoseconds
    token: str = ""


@dataclass
class AgentConfig:
    work_dir: str = DEFAULT_WORK_DIR
    hostname: HostnameConfig = field(default_factory=HostnameConfig)
    no_smbios: bool = False
    debug: bool = False
    os_plugin: str = DEFAULT_OS_PLUGIN
    reconciliation: int = DEFAULT_RECONCILIATION  # nanoseconds
    insecure_allow_http: bool = False
    insecure_skip_tls_verify: bool = False
    use_system_cert_pool: bool = False
    post_install: PostAction = field(default_factory=PostAction)
    post_reset: PostAction = field(default_factory=PostAction)


@dataclass
class Config:
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)

    # -- reading -----------------------------------------------------------------------------

    @classmethod
    def from_yaml(cls, text: str | bytes, *, source: str = "config") -> Config:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{source}: not valid YAML: {_yaml_problem(error)}") from error
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a mapping with 'registration' and 'agent'")
        return cls.from_dict(data, source=source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "config") -> Config:
        """Upstream's defaults, overlaid with the keys present (case-insensitive, as viper)."""
        reader = _Reader(source)
        top = reader.section(data, "")
        registration = reader.section(top.get("registration"), "registration")
        agent = reader.section(top.get("agent"), "agent")
        hostname = reader.section(agent.get("hostname"), "agent.hostname")
        defaults = AgentConfig()
        return cls(
            registration=RegistrationConfig(
                uri=reader.string(registration, "registration.uri", ""),
                ca_cert=reader.string(registration, "registration.caCert", ""),
                token_duration=reader.duration(registration, "registration.tokenDuration", 0),
                token=reader.string(registration, "registration.token", ""),
            ),
            agent=AgentConfig(
                work_dir=reader.string(agent, "agent.workDir", defaults.work_dir),
                hostname=HostnameConfig(
                    use_existing=reader.boolean(hostname, "agent.hostname.useExisting", False),
                    prefix=reader.string(hostname, "agent.hostname.prefix", ""),
                ),
                no_smbios=reader.boolean(agent, "agent.noSmbios", False),
                debug=reader.boolean(agent, "agent.debug", False),
                os_plugin=reader.string(agent, "agent.osPlugin", defaults.os_plugin),
                reconciliation=reader.duration(agent, "agent.reconciliation", defaults.reconciliation),
                insecure_allow_http=reader.boolean(agent, "agent.insecureAllowHttp", False),
                insecure_skip_tls_verify=reader.boolean(agent, "agent.insecureSkipTlsVerify", False),
                use_system_cert_pool=reader.boolean(agent, "agent.useSystemCertPool", False),
                post_install=reader.post_action(agent.get("postinstall"), "agent.postInstall"),
                post_reset=reader.post_action(agent.get("postreset"), "agent.postReset"),
            ),
        )

    @classmethod
    def from_api(cls, response: ApiRegistrationResponse) -> Config:
        """The config a registration hands out (upstream's `config.FromAPI`); empty values
        fall back to the agent defaults rather than to zero (a zero period would spin)."""
        elemental = response.config.elemental if response.config else None
        registration = (elemental.registration if elemental else None) or V1Beta1Registration()
        agent = (elemental.agent if elemental else None) or V1Beta1Agent()
        hostname = agent.hostname
        defaults = AgentConfig()
        return cls(
            registration=RegistrationConfig(
                uri=registration.uri or "",
                ca_cert=registration.caCert or "",
                token_duration=registration.tokenDuration or 0,
                token=registration.token or "",
            ),
            agent=AgentConfig(
                work_dir=agent.workDir or defaults.work_dir,
                hostname=HostnameConfig(
                    use_existing=bool(hostname.useExisting) if hostname else False,
                    prefix=(hostname.prefix or "") if hostname else "",
                ),
                no_smbios=bool(agent.noSmbios),
                debug=bool(agent.debug),
                os_plugin=agent.osPlugin or defaults.os_plugin,
                reconciliation=agent.reconciliation or defaults.reconciliation,
                insecure_allow_http=bool(agent.insecureAllowHttp),
                insecure_skip_tls_verify=bool(agent.insecureSkipTlsVerify),
                use_system_cert_pool=bool(agent.useSystemCertPool),
                post_install=_post_action_from_api(agent.postInstall),
                post_reset=_post_action_from_api(agent.postReset),
            ),
        )

    # -- writing -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Upstream's key order, empty values left out (Go `omitempty`)."""
        registration = _omit_empty(
            {
                "uri": self.registration.uri,
                "caCert": self.registration.ca_cert,
                "tokenDuration": self.registration.token_duration,
                "token": self.registration.token,
            }
        )
        agent = self.agent
        agent_dict = _omit_empty(
            {
                "workDir": agent.work_dir,
                "hostname": _omit_empty(
                    {"useExisting": agent.hostname.use_existing, "prefix": agent.hostname.prefix}
                ),
                "noSmbios": agent.no_smbios,
                "debug": agent.debug,
                "osPlugin": agent.os_plugin,
                "reconciliation": agent.reconciliation,
                "insecureAllowHttp": agent.insecure_allow_http,
                "insecureSkipTlsVerify": agent.insecure_skip_tls_verify,
                "useSystemCertPool": agent.use_system_cert_pool,
                "postInstall": _post_action_dict(agent.post_install),
                "postReset": _post_action_dict(agent.post_reset),
            }
        )
        return {"registration": registration, "agent": agent_dict}

    def to_yaml(self) -> bytes:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False).encode()


def parse_duration(value: str) -> int:
    """A Go duration string (`time.ParseDuration`) in nanoseconds; raises ValueError."""
    text = value.strip()
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError(f"invalid duration {value!r}")
    total = 0.0
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None or match.group(2) not in _UNITS:
            raise ValueError(f"invalid duration {value!r}")
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    return sign * round(total)


def format_duration(nanoseconds: int) -> str:
    """Short human form for logs (`10s`, `250ms`)."""
    if nanoseconds % SECOND == 0:
        return f"{nanoseconds // SECOND}s"
    if nanoseconds % MILLISECOND == 0:
        return f"{nanoseconds // MILLISECOND}ms"
    return f"{nanoseconds}ns"


class _Reader:
    """Reads typed values leniently, as viper/mapstructure's weak typing does."""

    def __init__(self, source: str) -> None:
        self.source = source

    def section(self, value: Any, name: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ConfigError(f"{self.source}: '{name}' must be a mapping")
        return {str(key).lower(): item for key, item in value.items()}

    def _get(self, section: Mapping[str, Any], path: str) -> Any:
        return section.get(path.rsplit(".", 1)[-1].lower())

    def string(self, section: Mapping[str, Any], path: str, default: str) -> str:
        value = self._get(section, path)
        if value is None:
            return default
        if isinstance(value, bool | Mapping | list):
            raise ConfigError(f"{self.source}: '{path}' must be a string")
        return str(value)

    def boolean(self, section: Mapping[str, Any], path: str, default: bool) -> bool:
        value = self._get(section, path)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0", "t", "f", ""):
            return value.strip().lower() in ("true", "1", "t")
        raise ConfigError(f"{self.source}: '{path}' must be true or false, not {value!r}")

    def duration(self, section: Mapping[str, Any], path: str, default: int) -> int:
        value = self._get(section, path)
        if value is None:
            return default
        if isinstance(value, bool):
            raise ConfigError(f"{self.source}: '{path}' must be a duration")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.lstrip("+-").isdigit():
                return int(stripped)
            try:
                return parse_duration(stripped)
            except ValueError:
                pass
        raise ConfigError(
            f"{self.source}: '{path}' must be nanoseconds or a Go duration such as 10s or 1m, not {value!r}"
        )

    def post_action(self, value: Any, path: str) -> PostAction:
        section = self.section(value, path)
        return PostAction(
            power_off=self.boolean(section, f"{path}.powerOff", False),
            reboot=self.boolean(section, f"{path}.reboot", False),
        )


def _yaml_problem(error: yaml.YAMLError) -> str:
    """One line: what and where."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem:
        where = f" at line {error.problem_mark.line + 1}" if error.problem_mark else ""
        return f"{error.problem}{where}"
    return " ".join(str(error).split())


def _post_action_from_api(action: Any) -> PostAction:
    if action is None:
        return PostAction()
    return PostAction(power_off=bool(action.powerOff), reboot=bool(action.reboot))


def _post_action_dict(action: PostAction) -> dict[str, Any]:
    return _omit_empty({"powerOff": action.power_off, "reboot": action.reboot})


def _omit_empty(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", 0, False, {})}
