"""The agent config file: upstream's keys and defaults, read leniently, written as upstream."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
import yaml

from elemental_agent.config import (
    DEFAULT_OS_PLUGIN,
    DEFAULT_RECONCILIATION,
    DEFAULT_WORK_DIR,
    SECOND,
    Config,
    parse_duration,
)
from elemental_agent.errors import ConfigError
from elemental_core import registrations
from elemental_core.tokens import SigningKey
from elemental_models.api import ApiRegistrationResponse

# The example of upstream's doc/ELEMENTAL_AGENT.md (its `insecureSkipTLSVerify` spelling and
# `1m` duration included: viper reads keys regardless of case, durations as Go strings).
UPSTREAM_CONFIG = """\
registration:
  uri: https://my.elemental.api.endpoint/elemental/v1/namespaces/default/registrations/my-registration
  caCert: |
    -----BEGIN CERTIFICATE-----
    MIIBvjCCAWOgAwIBAgIBADAKBggqhkjOPQQDAjBGMRwwGgYDVQQKExNkeW5hbWlj
    -----END CERTIFICATE-----
  token: eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCJ9.e30.c2ln
agent:
  workDir: /var/lib/elemental/agent
  hostname:
    useExisting: false
    prefix: "m-"
  postInstall:
    powerOff: false
    reboot: true
  postReset:
    powerOff: true
    reboot: false
  noSmbios: true
  debug: false
  osPlugin: /usr/lib/elemental/plugins/elemental.so
  reconciliation: 1m
  insecureAllowHttp: false
  insecureSkipTLSVerify: true
  useSystemCertPool: true
"""

UPSTREAM_KEYS = {
    "registration": {"uri", "caCert", "token", "tokenDuration"},
    "agent": {
        "workDir",
        "hostname",
        "postInstall",
        "postReset",
        "noSmbios",
        "debug",
        "osPlugin",
        "reconciliation",
        "insecureAllowHttp",
        "insecureSkipTlsVerify",
        "useSystemCertPool",
    },
    "hostname": {"useExisting", "prefix"},
    "postAction": {"powerOff", "reboot"},
}


def test_reads_upstream_example() -> None:
    config = Config.from_yaml(UPSTREAM_CONFIG)
    assert config.registration.uri.endswith("/registrations/my-registration")
    assert config.registration.ca_cert.startswith("-----BEGIN CERTIFICATE-----\n")
    assert config.registration.token.startswith("eyJ")
    agent = config.agent
    assert agent.work_dir == "/var/lib/elemental/agent"
    assert (agent.hostname.use_existing, agent.hostname.prefix) == (False, "m-")
    assert (agent.post_install.power_off, agent.post_install.reboot) == (False, True)
    assert (agent.post_reset.power_off, agent.post_reset.reboot) == (True, False)
    assert agent.no_smbios is True
    assert agent.os_plugin == DEFAULT_OS_PLUGIN
    assert agent.reconciliation == 60 * SECOND
    assert agent.insecure_skip_tls_verify is True
    assert agent.use_system_cert_pool is True
    assert agent.insecure_allow_http is False


def test_round_trip_keeps_values_and_writes_only_upstream_keys() -> None:
    config = Config.from_yaml(UPSTREAM_CONFIG)
    written = config.to_yaml()
    assert Config.from_yaml(written) == config
    data = yaml.safe_load(written)
    assert set(data) == {"registration", "agent"}
    assert set(data["registration"]) <= UPSTREAM_KEYS["registration"]
    assert set(data["agent"]) <= UPSTREAM_KEYS["agent"]
    assert set(data["agent"]["hostname"]) <= UPSTREAM_KEYS["hostname"]
    for action in ("postInstall", "postReset"):
        assert set(data["agent"][action]) <= UPSTREAM_KEYS["postAction"]
    # Durations are written as Go's time.Duration: integer nanoseconds.
    assert data["agent"]["reconciliation"] == 60_000_000_000
    # Go's omitempty: false and empty values are left out.
    assert "insecureAllowHttp" not in data["agent"]
    assert data["agent"]["postInstall"] == {"reboot": True}


def test_every_key_round_trips() -> None:
    full = {
        "registration": {
            "uri": "https://x/elemental/v1/namespaces/a/registrations/b",
            "caCert": "PEM",
            "tokenDuration": 3_600_000_000_000,
            "token": "t",
        },
        "agent": {
            "workDir": "/w",
            "hostname": {"useExisting": True, "prefix": "p-"},
            "noSmbios": True,
            "debug": True,
            "osPlugin": "dummy",
            "reconciliation": 5_000_000_000,
            "insecureAllowHttp": True,
            "insecureSkipTlsVerify": True,
            "useSystemCertPool": True,
            "postInstall": {"powerOff": True, "reboot": True},
            "postReset": {"powerOff": True, "reboot": True},
        },
    }
    config = Config.from_dict(full)
    assert config.to_dict() == full
    assert {k for k in full["agent"]} == UPSTREAM_KEYS["agent"]


def test_empty_file_gives_upstream_defaults() -> None:
    config = Config.from_yaml("")
    assert config.agent.work_dir == DEFAULT_WORK_DIR
    assert config.agent.os_plugin == DEFAULT_OS_PLUGIN
    assert config.agent.reconciliation == DEFAULT_RECONCILIATION == 10 * SECOND
    assert config.registration.uri == ""
    assert yaml.safe_load(config.to_yaml()) == {
        "registration": {},
        "agent": {"workDir": DEFAULT_WORK_DIR, "osPlugin": DEFAULT_OS_PLUGIN, "reconciliation": 10 * SECOND},
    }


@pytest.mark.parametrize(
    ("value", "nanoseconds"),
    [
        (10_000_000_000, 10 * SECOND),
        ("10000000000", 10 * SECOND),
        ("10s", 10 * SECOND),
        ("1m30s", 90 * SECOND),
        ("1.5h", 5400 * SECOND),
        ("250ms", 250_000_000),
        ("2us", 2_000),
        ("2µs", 2_000),
        ("0", 0),
    ],
)
def test_durations_as_go_reads_them(value: Any, nanoseconds: int) -> None:
    assert Config.from_dict({"agent": {"reconciliation": value}}).agent.reconciliation == nanoseconds


@pytest.mark.parametrize("text", ["10", "ten seconds", "1x", "s", ""])
def test_invalid_go_duration_strings(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agent:\n  reconciliation: soon\n", "agent.reconciliation"),
        ("agent:\n  debug: maybe\n", "agent.debug"),
        ("agent: [1, 2]\n", "'agent' must be a mapping"),
        ("- a list\n", "expected a mapping"),
        ("agent: {workDir: [x]}\n", "agent.workDir"),
        ("agent: {\n", "not valid YAML"),
    ],
)
def test_bad_config_is_a_config_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_yaml(text, source="config.yaml")


def test_keys_and_booleans_are_read_leniently() -> None:
    config = Config.from_yaml("AGENT:\n  NoSmbios: 'true'\n  DEBUG: 1\n  WORKDIR: /x\n")
    assert config.agent.no_smbios is True
    assert config.agent.debug is True
    assert config.agent.work_dir == "/x"


def test_from_api_takes_the_registration_config_and_fills_defaults() -> None:
    response = ApiRegistrationResponse.model_validate(
        {
            "config": {
                "elemental": {
                    "registration": {"uri": "https://api/x", "token": "tok", "caCert": "PEM"},
                    "agent": {
                        "hostname": {"useExisting": True},
                        "postReset": {"reboot": True},
                        "workDir": "",
                    },
                }
            }
        }
    )
    config = Config.from_api(response)
    assert (config.registration.uri, config.registration.token, config.registration.ca_cert) == (
        "https://api/x",
        "tok",
        "PEM",
    )
    assert config.agent.hostname.use_existing is True
    assert config.agent.post_reset.reboot is True
    assert config.agent.work_dir == DEFAULT_WORK_DIR
    assert config.agent.reconciliation == DEFAULT_RECONCILIATION
    assert Config.from_api(ApiRegistrationResponse(config={})).agent.os_plugin == DEFAULT_OS_PLUGIN


def test_reads_what_elemental_api_agent_config_prints() -> None:
    draft = registrations.new_registration(
        namespace="default", name="r", api_endpoint="http://127.0.0.1:9090"
    )
    registration = dataclasses.replace(
        draft,
        config=registrations.complete(
            draft.config, namespace="default", name="r", api_endpoint="", signing_key=SigningKey.generate()
        ),
    )
    printed = yaml.safe_dump(registrations.agent_config(registration), sort_keys=False)
    config = Config.from_yaml(printed)
    assert config.registration.uri == registration.uri
    assert config.registration.token == registration.token
    assert config.agent.insecure_allow_http is True
    assert config.agent.reconciliation == DEFAULT_RECONCILIATION
    assert Config.from_yaml(config.to_yaml()) == config
