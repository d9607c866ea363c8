"""The settings every program reads the same way: the API's URL from upstream's clusterctl
variables, seconds and counts from flags, each refusal naming its flag."""

from __future__ import annotations

import math

import pytest

from elemental_core.settings import api_endpoint_from, count_setting, seconds_setting


@pytest.mark.parametrize(
    ("environ", "url"),
    [
        ({}, None),
        ({"ELEMENTAL_API_ENDPOINT": ""}, None),
        ({"ELEMENTAL_API_ENDPOINT": "   "}, None),
        ({"ELEMENTAL_API_PROTOCOL": "http"}, None),
        ({"ELEMENTAL_API_ENDPOINT": "api.example.com"}, "https://api.example.com"),
        ({"ELEMENTAL_API_ENDPOINT": " api.example.com:9443 "}, "https://api.example.com:9443"),
        ({"ELEMENTAL_API_ENDPOINT": "h", "ELEMENTAL_API_PROTOCOL": "http"}, "http://h"),
        ({"ELEMENTAL_API_ENDPOINT": "h", "ELEMENTAL_API_PROTOCOL": "https"}, "https://h"),
        ({"ELEMENTAL_API_ENDPOINT": "h", "ELEMENTAL_API_PROTOCOL": ""}, "https://h"),
        ({"ELEMENTAL_API_ENDPOINT": "http://h:80", "ELEMENTAL_API_PROTOCOL": "https"}, "http://h:80"),
        ({"ELEMENTAL_API_ENDPOINT": "https://h", "ELEMENTAL_API_PROTOCOL": "ftp"}, "https://h"),
    ],
)
def test_the_api_url_from_the_clusterctl_variables(environ: dict[str, str], url: str | None) -> None:
    assert api_endpoint_from(environ) == url


@pytest.mark.parametrize("protocol", ["ftp", "HTTPS", "http:"])
def test_an_unknown_protocol_is_refused_by_name(protocol: str) -> None:
    with pytest.raises(ValueError) as refused:
        api_endpoint_from({"ELEMENTAL_API_ENDPOINT": "h", "ELEMENTAL_API_PROTOCOL": protocol})
    assert str(refused.value) == f"ELEMENTAL_API_PROTOCOL must be http or https, not {protocol!r}"


@pytest.mark.parametrize(("value", "seconds"), [(None, 7.5), ("", 7.5), ("1", 1.0), ("0.25", 0.25)])
def test_seconds_from_a_flag_or_the_default(value: str | None, seconds: float) -> None:
    assert seconds_setting("--period", value, 7.5) == seconds


@pytest.mark.parametrize("value", ["0", "-1", "x", "nan", "inf", "-inf"])
def test_seconds_above_zero_or_a_refusal_naming_the_flag(value: str) -> None:
    with pytest.raises(ValueError) as refused:
        seconds_setting("--period", value, 7.5)
    assert str(refused.value) == f"--period {value!r} must be a number of seconds above 0"


def test_zero_seconds_where_zero_is_allowed() -> None:
    assert seconds_setting("--grace", "0", 3.0, zero=True) == 0.0
    assert seconds_setting("--grace", "2", 3.0, zero=True) == 2.0
    for value in ("-1", "x", "inf"):
        with pytest.raises(ValueError) as refused:
            seconds_setting("--grace", value, 3.0, zero=True)
        assert str(refused.value) == f"--grace {value!r} must be a number of seconds"
    assert math.isnan(seconds_setting("--grace", None, math.nan, zero=True))


@pytest.mark.parametrize(("value", "count"), [(None, 4), ("", 4), ("1", 1), ("16", 16)])
def test_counts_from_a_flag_or_the_default(value: str | None, count: int) -> None:
    assert count_setting("--workers", value, 4) == count


@pytest.mark.parametrize("value", ["0", "-2", "1.5", "x"])
def test_counts_at_least_one_or_a_refusal_naming_the_flag(value: str) -> None:
    with pytest.raises(ValueError) as refused:
        count_setting("--workers", value, 4)
    assert str(refused.value) == f"--workers {value!r} must be a whole number, at least 1"
