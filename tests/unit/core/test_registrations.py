"""Registration rules: the CRD's defaults, a new registration (URI, token, defaults), what
the agent reads (its config file, the registration response)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from elemental_core import registrations, tokens
from elemental_core.records import Registration
from elemental_core.vocabulary import DEFAULT_OS_PLUGIN, DEFAULT_RECONCILIATION, DEFAULT_WORK_DIR
from tests.unit.core.clock import window

DEFAULT_AGENT = {
    "debug": False,
    "hostname": {"useExisting": False},
    "osPlugin": DEFAULT_OS_PLUGIN,
    "reconciliation": DEFAULT_RECONCILIATION,
    "workDir": DEFAULT_WORK_DIR,
}


def test_the_default_values() -> None:
    assert DEFAULT_OS_PLUGIN == "/usr/lib/elemental/plugins/elemental.so"
    assert DEFAULT_RECONCILIATION == 10_000_000_000
    assert DEFAULT_WORK_DIR == "/var/lib/elemental/agent"


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        pytest.param({}, {}, id="no-elemental-nothing-to-default"),
        pytest.param({"cloudConfig": {"a": 1}}, {"cloudConfig": {"a": 1}}, id="other-sections-kept"),
        pytest.param({"elemental": {}}, {"elemental": {"agent": DEFAULT_AGENT}}, id="no-agent-whole-default"),
        pytest.param(
            {"elemental": {"agent": {}}},
            {
                "elemental": {
                    "agent": {
                        "hostname": {"useExisting": True},
                        "osPlugin": DEFAULT_OS_PLUGIN,
                        "reconciliation": DEFAULT_RECONCILIATION,
                        "workDir": DEFAULT_WORK_DIR,
                    }
                }
            },
            id="empty-agent-hostname-defaults-to-use-existing",
        ),
        pytest.param(
            {"elemental": {"agent": {"hostname": {"prefix": "m-"}}}},
            {
                "elemental": {
                    "agent": {
                        "hostname": {"prefix": "m-", "useExisting": False},
                        "osPlugin": DEFAULT_OS_PLUGIN,
                        "reconciliation": DEFAULT_RECONCILIATION,
                        "workDir": DEFAULT_WORK_DIR,
                    }
                }
            },
            id="hostname-without-use-existing",
        ),
        pytest.param(
            {
                "elemental": {
                    "agent": {
                        "debug": True,
                        "hostname": {"useExisting": True},
                        "osPlugin": "/p.so",
                        "reconciliation": 1,
                        "workDir": "/w",
                    },
                    "registration": {"uri": "u"},
                }
            },
            {
                "elemental": {
                    "agent": {
                        "debug": True,
                        "hostname": {"useExisting": True},
                        "osPlugin": "/p.so",
                        "reconciliation": 1,
                        "workDir": "/w",
                    },
                    "registration": {"uri": "u"},
                }
            },
            id="given-values-kept",
        ),
    ],
)
def test_with_defaults(config: dict[str, Any], expected: dict[str, Any]) -> None:
    given = copy.deepcopy(config)
    assert registrations.with_defaults(config) == expected
    assert config == given


def test_defaults_are_fresh_for_every_registration() -> None:
    first = registrations.with_defaults({"elemental": {}})
    first["elemental"]["agent"]["hostname"]["useExisting"] = True
    assert registrations.with_defaults({"elemental": {}})["elemental"]["agent"] == DEFAULT_AGENT


# -- new_registration --------------------------------------------------------------------------

KEY = tokens.SigningKey.generate()
URI = "https://api.example/elemental/v1/namespaces/ns/registrations/reg"


@pytest.mark.parametrize(
    ("config", "missing"),
    [
        pytest.param({"elemental": {"agent": None}}, {"elemental": {}}, id="agent-null"),
        pytest.param(
            {"elemental": {"agent": {"hostname": None}}},
            {"elemental": {"agent": {}}},
            id="hostname-null",
        ),
    ],
)
def test_an_empty_yaml_section_means_a_missing_one(config: dict[str, Any], missing: dict[str, Any]) -> None:
    """`agent:` with nothing under it is YAML's null: defaulted as if it were absent, as
    Kubernetes (which prunes nulls) reads it, not a crash."""
    assert registrations.with_defaults(config) == registrations.with_defaults(missing)


@pytest.mark.parametrize(
    "config",
    [{"elemental": None}, {"elemental": {"registration": None}}, {"elemental": {"agent": None}}],
    ids=["elemental-null", "registration-null", "agent-null"],
)
def test_a_new_registration_from_null_sections(config: dict[str, Any]) -> None:
    draft = registrations.new_registration(
        namespace="ns", name="reg", api_endpoint="https://api.example/", config=config
    )
    assert draft.config["elemental"]["registration"]["uri"] == URI
    assert draft.config["elemental"]["agent"]["hostname"] == {"useExisting": False}


def completed(draft: Registration) -> Registration:
    """The draft completed as the embedded store (or the operator) completes it."""
    config = registrations.complete(
        draft.config, namespace=draft.namespace, name=draft.name, api_endpoint="", signing_key=KEY
    )
    return dataclasses.replace(draft, config=config)


def new(**options: Any) -> Registration:
    return completed(
        registrations.new_registration(
            namespace="ns", name="reg", api_endpoint="https://api.example/", **options
        )
    )


def test_a_new_registration_is_a_draft_without_token() -> None:
    draft = registrations.new_registration(namespace="ns", name="reg", api_endpoint="https://api.example/")
    assert draft.uri == URI
    assert draft.token == ""
    assert registrations.needs_token(draft.config)
    assert not registrations.needs_token(new().config)


def test_a_new_registration_has_its_uri_a_token_and_the_defaults() -> None:
    with window() as span:
        registration = new()
    assert registration.namespace == "ns"
    assert registration.name == "reg"
    assert registration.uri == URI
    assert registration.config == {
        "elemental": {"registration": {"uri": URI, "token": registration.token}, "agent": DEFAULT_AGENT}
    }
    claims = tokens.verify_registration_token(registration.token, signing_key_pem=KEY.to_pem(), uri=URI)
    assert claims["sub"] == URI
    assert "exp" not in claims
    assert span.holds_seconds(claims["iat"])
    assert registration.private_key_ref is None  # the store names the key's Secret
    assert registration.host_labels == {}
    assert registration.host_annotations == {}


def test_a_token_duration_is_written_in_nanoseconds_and_bounds_the_token() -> None:
    registration = new(token_duration_seconds=3600)
    assert registration.config["elemental"]["registration"]["tokenDuration"] == 3600 * 1_000_000_000
    claims = tokens.verify_registration_token(registration.token, signing_key_pem=KEY.to_pem(), uri=URI)
    assert claims["exp"] - claims["iat"] == 3600


def test_a_negative_token_duration_freezes_the_registration() -> None:
    registration = new(token_duration_seconds=-1)
    assert registration.config["elemental"]["registration"]["tokenDuration"] == -1_000_000_000
    with pytest.raises(tokens.InvalidToken, match=r"^token has expired$"):
        tokens.verify_registration_token(registration.token, signing_key_pem=KEY.to_pem(), uri=URI)


def test_the_given_config_is_kept_uri_and_token_replaced_and_not_changed_in_place() -> None:
    config = {
        "elemental": {
            "registration": {"uri": "https://old/", "token": "old", "caCert": "CA"},
            "agent": {"debug": True},
            "install": {"device": "/dev/sda"},
        },
        "cloudConfig": {"users": [{"name": "root"}]},
    }
    given = copy.deepcopy(config)
    registration = new(config=config)
    assert config == given
    elemental = registration.config["elemental"]
    assert elemental["registration"] == {"uri": URI, "token": registration.token, "caCert": "CA"}
    assert registration.token != "old"
    assert elemental["agent"]["debug"] is True
    assert elemental["agent"]["workDir"] == DEFAULT_WORK_DIR
    assert elemental["install"] == {"device": "/dev/sda"}
    assert registration.config["cloudConfig"] == {"users": [{"name": "root"}]}


def test_host_labels_and_annotations_are_copied() -> None:
    labels, annotations = {"site": "lab"}, {"owner": "ops"}
    registration = new(host_labels=labels, host_annotations=annotations)
    labels["x"] = annotations["x"] = "1"
    assert registration.host_labels == {"site": "lab"}
    assert registration.host_annotations == {"owner": "ops"}


def test_an_http_endpoint_lets_the_agent_use_http() -> None:
    registration = completed(
        registrations.new_registration(namespace="ns", name="reg", api_endpoint="http://127.0.0.1:9090")
    )
    assert registration.uri == "http://127.0.0.1:9090/elemental/v1/namespaces/ns/registrations/reg"
    assert registration.config["elemental"]["agent"]["insecureAllowHttp"] is True


def test_an_explicit_refusal_of_http_is_kept() -> None:
    registration = registrations.new_registration(
        namespace="ns",
        name="reg",
        api_endpoint="http://127.0.0.1:9090",
        config={"elemental": {"agent": {"insecureAllowHttp": False}}},
    )
    assert registration.config["elemental"]["agent"]["insecureAllowHttp"] is False


def test_an_https_endpoint_does_not_allow_http() -> None:
    assert "insecureAllowHttp" not in new().config["elemental"]["agent"]


# -- what the agent reads ----------------------------------------------------------------------


def test_the_agent_config_is_the_registration_and_agent_sections() -> None:
    registration = new(config={"elemental": {"install": {"device": "/dev/sda"}}})
    config = registrations.agent_config(registration)
    assert config == {
        "registration": {"uri": URI, "token": registration.token},
        "agent": DEFAULT_AGENT,
    }
    config["agent"]["debug"] = True
    config["agent"]["hostname"]["useExisting"] = True
    config["registration"]["uri"] = "changed"
    assert registration.config["elemental"]["agent"]["debug"] is False
    assert registration.config["elemental"]["agent"]["hostname"] == {"useExisting": False}
    assert registration.uri == URI


def test_the_agent_config_shares_nothing_nested_with_the_registration() -> None:
    elemental = {"registration": {"uri": "u", "extra": {"a": 1}}, "agent": {"hostname": {"prefix": "m-"}}}
    registration = Registration("ns", "reg", config={"elemental": elemental})
    config = registrations.agent_config(registration)
    config["registration"]["extra"]["a"] = 2
    config["agent"]["hostname"]["prefix"] = "x-"
    assert elemental == {
        "registration": {"uri": "u", "extra": {"a": 1}},
        "agent": {"hostname": {"prefix": "m-"}},
    }


@pytest.mark.parametrize("config", [{}, {"elemental": {}}], ids=["no-elemental", "empty-elemental"])
def test_the_agent_config_of_a_bare_registration_is_empty_sections(config: dict[str, Any]) -> None:
    assert registrations.agent_config(Registration("ns", "reg", config=config)) == {
        "registration": {},
        "agent": {},
    }


def test_the_registration_response() -> None:
    registration = new(host_labels={"site": "lab"}, host_annotations={"owner": "ops"})
    response = registrations.registration_response(registration)
    assert response.model_dump(mode="json", exclude_none=True) == {
        "config": {
            "elemental": {"registration": {"uri": URI, "token": registration.token}, "agent": DEFAULT_AGENT}
        },
        "hostLabels": {"site": "lab"},
        "hostAnnotations": {"owner": "ops"},
    }


def test_a_registration_response_without_host_metadata_leaves_it_out() -> None:
    response = registrations.registration_response(Registration("ns", "reg"))
    assert response.hostLabels is None
    assert response.hostAnnotations is None
    assert response.model_dump(mode="json", exclude_none=True) == {"config": {}}


# -- complete ------------------------------------------------------------------------------------


def complete(config: dict[str, Any], **options: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"namespace": "ns", "name": "reg", "api_endpoint": "https://api.example"}
    return registrations.complete(config, **{**arguments, "signing_key": KEY, **options})


def test_completion_fills_uri_ca_and_token() -> None:
    config = complete({}, default_ca="CA")
    registration = config["elemental"]["registration"]
    assert registration["uri"] == URI
    assert registration["caCert"] == "CA"
    tokens.verify_registration_token(registration["token"], signing_key_pem=KEY.to_pem(), uri=URI)


def test_completion_keeps_what_the_user_set() -> None:
    given = {"elemental": {"registration": {"uri": "https://mine/x", "caCert": "MINE", "token": "disabled"}}}
    config = complete(copy.deepcopy(given), default_ca="CA", signing_key=None)
    assert config == given


def test_completion_does_not_change_its_input() -> None:
    given: dict[str, Any] = {"elemental": {"registration": {}}}
    complete(given)
    assert given == {"elemental": {"registration": {}}}


def test_completion_without_an_endpoint_or_uri_cannot_complete() -> None:
    with pytest.raises(registrations.CannotComplete) as caught:
        complete({}, api_endpoint="")
    assert caught.value.reason == "MissingAPIEndpoint"
    assert str(caught.value) == (
        "no API endpoint is configured (operator --api-endpoint or ELEMENTAL_API_ENDPOINT) "
        "and spec.config.elemental.registration.uri is empty"
    )


def test_completion_of_a_token_without_a_key_cannot_complete() -> None:
    with pytest.raises(registrations.CannotComplete) as caught:
        complete({}, signing_key=None)
    assert caught.value.reason == "MissingSigningKey"
    assert str(caught.value) == (
        "the signing key Secret is missing: clear spec.privateKeyRef to create a new one"
    )


def test_completion_writes_the_token_duration_into_the_token() -> None:
    config = complete({"elemental": {"registration": {"tokenDuration": 60 * 1_000_000_000}}})
    claims = tokens.verify_registration_token(
        config["elemental"]["registration"]["token"], signing_key_pem=KEY.to_pem(), uri=URI
    )
    assert claims["exp"] - claims["iat"] == 60
