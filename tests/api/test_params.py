"""One parameter parser for every route: the lookup API, the alert feed and the log agree."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from metaregistry.api import params
from metaregistry.api.errors import ApiError


def query(text: str) -> web.Request:
    return make_mocked_request("GET", f"/x?{text}")


@pytest.mark.parametrize("raw", ["-1", "+1", " 1", "1 ", "1.0", "1e3", "²", "١", "", "0x1f"])
def test_an_integer_is_ascii_digits_only(raw: str) -> None:
    with pytest.raises(ApiError) as caught:
        params.parse_integer("limit", raw, low=0, high=10)
    assert caught.value.status == 400
    assert caught.value.body() == {
        "error": "invalid_parameter",
        "message": "limit must be an integer from 0 to 10",
        "field": "limit",
        "value": raw,
    }


def test_integer_bounds_defaults_and_required() -> None:
    assert params.integer(query("limit=007"), "limit", 5, low=1, high=10) == 7
    assert params.integer(query(""), "limit", 5, low=1, high=10) == 5
    with pytest.raises(ApiError, match="limit must be an integer from 1 to 10"):
        params.integer(query("limit=11"), "limit", 5, low=1, high=10)
    with pytest.raises(ApiError, match="size is required"):
        params.integer(query(""), "size")
    assert params.integer(query(f"id={params.MAX_INTEGER}"), "id") == params.MAX_INTEGER
    with pytest.raises(ApiError):
        params.integer(query(f"id={params.MAX_INTEGER + 1}"), "id")
    with pytest.raises(ApiError):
        params.integer(query("id=" + "0" * 20), "id")  # no unbounded digit strings


def test_values_are_repeated_or_comma_separated_and_checked() -> None:
    allowed = frozenset({"open", "resolved"})
    request = query("status=open,resolved&status=open")
    assert params.values(request, "status", allowed) == {"open", "resolved"}
    assert params.values(query("registry=verra, gold-standard"), "registry", None) == {
        "verra",
        "gold-standard",
    }
    with pytest.raises(ApiError, match="status is not one of open, resolved"):
        params.values(query("status=open,closed"), "status", allowed)
    with pytest.raises(ApiError, match="registry is not a registry slug"):
        params.values(query("registry=Not%20A%20Slug"), "registry", None)


def test_text_is_bounded() -> None:
    assert params.text(query("scope=abc"), "scope") == "abc"
    with pytest.raises(ApiError, match="longer than 256"):
        params.text(query("scope=" + "a" * 257), "scope")


def test_no_route_module_keeps_a_parser_of_its_own() -> None:
    """The three near-copies (_int in api/routes.py and feed/routes.py, _integer in
    the log routes) are gone: every route module reads integers through api.params."""
    import inspect

    from metaregistry.api import log_routes
    from metaregistry.api import routes as api_routes
    from metaregistry.feed import routes as feed_routes

    for module in (api_routes, feed_routes, log_routes):
        source = inspect.getsource(module)
        assert "isdigit" not in source and "def _int" not in source, module.__name__
