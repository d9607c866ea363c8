"""Vocabulary helpers: kinds as the API server serves them, and the API's paths."""

from __future__ import annotations

import pytest

from elemental_core import vocabulary
from elemental_core.vocabulary import HOSTS, MACHINES, REGISTRATIONS, Resource


def test_api_version_is_group_slash_version() -> None:
    assert Resource("g.example", "v2", "things", "Thing").api_version == "g.example/v2"
    assert HOSTS.api_version == "infrastructure.cluster.x-k8s.io/v1beta1"
    assert MACHINES.api_version == "cluster.x-k8s.io/v1beta2"
    assert (REGISTRATIONS.plural, REGISTRATIONS.kind) == ("elementalregistrations", "ElementalRegistration")


@pytest.mark.parametrize("endpoint", ["https://api.example", "https://api.example/", "https://api.example//"])
def test_registration_uri(endpoint: str) -> None:
    assert (
        vocabulary.registration_uri(endpoint, "ns", "reg")
        == "https://api.example/elemental/v1/namespaces/ns/registrations/reg"
    )


def test_registration_uri_keeps_an_endpoint_path() -> None:
    assert (
        vocabulary.registration_uri("https://gw.example/elemental-api/", "ns", "reg")
        == "https://gw.example/elemental-api/elemental/v1/namespaces/ns/registrations/reg"
    )


def test_registration_uri_strips_only_slashes() -> None:
    assert (
        vocabulary.registration_uri("https://gw.example/APIX/", "ns", "reg")
        == "https://gw.example/APIX/elemental/v1/namespaces/ns/registrations/reg"
    )


def test_host_path() -> None:
    assert vocabulary.host_path("ns", "reg", "h") == "/elemental/v1/namespaces/ns/registrations/reg/hosts/h"
