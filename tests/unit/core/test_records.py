"""Records: what a registration's config says, and host copies that share nothing."""

from __future__ import annotations

from elemental_core.records import Bootstrap, Host, ObjectRef, Registration


def test_uri_and_token_come_from_the_config() -> None:
    registration = Registration(
        "ns", "reg", config={"elemental": {"registration": {"uri": "u", "token": "t"}}}
    )
    assert (registration.uri, registration.token) == ("u", "t")


def test_a_registration_without_them_has_empty_uri_and_token() -> None:
    for config in ({}, {"elemental": {}}, {"elemental": {"registration": {}}}):
        registration = Registration("ns", "reg", config=config)
        assert (registration.uri, registration.token) == ("", "")


def test_the_signing_key_secret_is_the_reference_else_the_name() -> None:
    assert Registration("ns", "reg").signing_key_secret == "reg"
    assert Registration("ns", "reg", private_key_ref={"namespace": "ns"}).signing_key_secret == "reg"
    assert Registration("ns", "reg", private_key_ref={"name": ""}).signing_key_secret == "reg"
    assert Registration("ns", "reg", private_key_ref={"name": "keys"}).signing_key_secret == "keys"


def full_host() -> Host:
    return Host(
        namespace="ns",
        name="h",
        registration="reg",
        pub_key="pem",
        labels={"a": "1"},
        annotations={"b": "2"},
        phase="Running",
        conditions=[{"type": "Ready", "status": "True"}],
        addresses=[{"type": "InternalIP", "address": "10.0.0.1"}],
        bootstrap_secret=ObjectRef("ns", "s"),
        machine_ref={"name": "m"},
        os_version_management={"osImage": {"tags": ["v1"]}},
        deleting=True,
        version="7",
        created="2020-01-01T00:00:00Z",
    )


def test_a_host_copy_is_equal_and_shares_no_container() -> None:
    original = full_host()
    copied = original.copy()
    assert copied == original
    copied.labels["x"] = "y"
    copied.annotations["x"] = "y"
    copied.conditions[0]["status"] = "False"
    copied.conditions.append({"type": "X", "status": "True"})
    copied.addresses[0]["address"] = "10.0.0.2"
    copied.addresses.append({"type": "Hostname", "address": "h"})
    copied.machine_ref["name"] = "other"
    copied.os_version_management["osImage"]["tags"].append("v2")
    assert original == full_host()


def test_a_host_copy_without_machine_keeps_none() -> None:
    assert Host("ns", "h", "reg").copy().machine_ref is None


def test_label_is_true_only_for_the_word_true() -> None:
    host = Host("ns", "h", "reg", labels={"yes": "true", "no": "false", "caps": "True"})
    assert [host.label_is_true(k) for k in ("yes", "no", "caps", "missing")] == [True, False, False, False]


def test_bootstrap_data_defaults_to_cloud_config() -> None:
    assert Bootstrap("data").format == "cloud-config"
    assert Bootstrap("data", "ignition").format == "ignition"
