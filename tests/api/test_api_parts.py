"""The API's pure parts: reading a query, cursors, settings, metrics text."""

from __future__ import annotations

import base64
import json

import pytest

from metaregistry.api.cursor import decode_cursor, encode_cursor
from metaregistry.api.errors import ApiError
from metaregistry.api.metrics import Gauge, RequestMetrics, render
from metaregistry.api.unit_query import read_query
from metaregistry.settings import ConfigError, settings_from


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("vcs::941467100", ("units", "vcs", "", 941467100, 941467100)),
        ("gs:30307:1-500", ("units", "gs", "30307", 1, 500)),
        ("cdm:RW-5:1463953", ("units", "cdm", "RW-5", 1463953, 1463953)),
        ("  spe-grk:2024:7  ", ("units", "spe-grk", "2024", 7, 7)),
        ("GS1-1-UG-GS11236-16-2024-30307-1-19149", ("gold-standard", "gs", "30307", 1, 19149)),
        (
            "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1",
            ("verra", "vcs", "", 941467007, 941467431),
        ),
    ],
)
def test_a_query_names_units_in_the_index_numbering(
    text: str, expected: tuple[str, str, str, int, int]
) -> None:
    query = read_query(text, max_length=512)
    assert (query.family, query.scheme, query.scope, query.start, query.end) == expected
    assert query.quantity == expected[4] - expected[3] + 1


def test_a_parsed_serial_keeps_what_it_states() -> None:
    query = read_query("GS1-1-UG-GS11236-16-2024-30307-1-19149", max_length=512)
    assert query.parsed is not None
    assert query.parsed["project_id"] == "GS11236"
    assert query.to_json()["parsed"]["country"] == "UG"


def test_an_empty_query_is_refused() -> None:
    with pytest.raises(ApiError) as caught:
        read_query("   ", max_length=512)
    assert caught.value.status == 400
    assert caught.value.message == "serial is empty"


def test_a_cursor_comes_back_as_it_went_out() -> None:
    text = encode_cursor("blocks", 941467007, 12)
    assert "=" not in text and "/" not in text and "+" not in text  # URL-safe as it is
    assert decode_cursor(text, "blocks", (int, int)) == [941467007, 12]


@pytest.mark.parametrize(
    "text",
    [
        encode_cursor("project", 5),  # another list's cursor
        encode_cursor("blocks", 5),  # too short
        encode_cursor("blocks", "5", 1),  # wrong type
        encode_cursor("blocks", True, 1),  # booleans are not numbers here
        base64.urlsafe_b64encode(json.dumps({"blocks": 1}).encode()).decode(),
        "not base64 at all!",
        "A" * 2000,
    ],
)
def test_a_cursor_that_is_not_ours_is_a_400_naming_it(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        decode_cursor(text, "blocks", (int, int))
    assert caught.value.status == 400
    assert caught.value.field == "cursor"


def test_api_settings_have_defaults_and_are_checked() -> None:
    config = settings_from({}).api
    assert (config.port, config.rate_limit, config.burst, config.cors_origins) == (
        8080,
        20.0,
        40.0,
        ("*",),
    )
    from_env_text = settings_from(
        {"api": {"cors_origins": "https://a.example, https://b.example"}}
    ).api
    assert from_env_text.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"port": "eighty"}, "api.port: Input should be a valid integer"),
        ({"rate_limit": -1}, "api.rate_limit: Input should be greater than or equal to 0"),
        ({"max_serial_length": 9999}, "api.max_serial_length: Input should be less than or"),
        ({"trust_forwarded_for": "maybe"}, "api.trust_forwarded_for: Input should be a valid"),
        ({"cors_origins": [1]}, "api.cors_origins.0: Input should be a valid string"),
        ({"proof_cache_mb": 0}, "api.proof_cache_mb: Input should be greater than or equal to 1"),
        ({"proof_cache_mb": "64MB"}, "api.proof_cache_mb: Input should be a valid number"),
        ({"public_url": "metaregistry.example.org"}, "api.public_url: must be an http(s) URL"),
        ({"colour": "red"}, "api.colour: is not a setting here"),
    ],
)
def test_bad_api_settings_name_the_key_and_value(table: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from({"api": table})
    assert str(caught.value).startswith(message)
    if "colour" not in table and "cors_origins" not in table:
        assert repr(next(iter(table.values()))) in str(caught.value)  # the value, named


def test_metrics_escape_label_values_and_sort_series() -> None:
    metrics = RequestMetrics()
    metrics.observe("/v1/x", "GET", 200, 0.0007)
    metrics.observe("/v1/x", "GET", 200, 3.0)
    text = render(metrics, [Gauge("g", "A gauge.", 1.5, (("name", 'a"b\\c\nd'),))])
    assert 'g{name="a\\"b\\\\c\\nd"} 1.5' in text
    assert (
        'metaregistry_http_request_duration_seconds_bucket{le="0.001",method="GET",'
        'route="/v1/x",status="200"} 1.0'
    ) in text
    assert (
        'metaregistry_http_request_duration_seconds_bucket{le="+Inf",method="GET",'
        'route="/v1/x",status="200"} 2.0'
    ) in text
    assert 'metaregistry_http_requests_total{method="GET",route="/v1/x",status="200"} 2.0' in text
    assert text.count("# TYPE g gauge") == 1
