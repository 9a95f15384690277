"""RFC 8785 canonical JSON: the RFC's own examples, and fast path == reference."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metaregistry.canonical import (
    CanonicalizationError,
    canonicalize,
    canonicalize_reference,
    hash_json,
)
from metaregistry.model import UnitBlock


def test_rfc8785_section_3_2_2_example() -> None:
    # RFC 8785, 3.2.2 (sorting and number/string serialization)
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\nA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonicalize(value).decode() == expected
    assert canonicalize_reference(value).decode() == expected


def test_rfc8785_section_3_2_3_sorting_by_utf16() -> None:
    # RFC 8785, 3.2.3: property names sort by UTF-16 code units
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys_in_order = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
    text = canonicalize(value).decode()
    positions = [text.index(f'"{k}"' if k != "\r" else '"\\r"') for k in keys_in_order]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (0.0, "0"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (0.000001, "0.000001"),
        (123.456, "123.456"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
    ],
)
def test_es6_number_formatting(number: float, text: str) -> None:
    assert canonicalize([number]).decode() == f"[{text}]"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_rejected(bad: float) -> None:
    with pytest.raises(CanonicalizationError, match="no JSON form"):
        canonicalize({"x": bad})


def test_non_json_types_are_rejected() -> None:
    with pytest.raises(CanonicalizationError, match="set"):
        canonicalize({"x": {1, 2}})


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_fast_path_is_byte_identical_to_reference(value: object) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


@given(st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False, allow_infinity=False)))
def test_floats_take_the_reference_path(value: dict[str, float]) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


def test_record_hash_ignores_nulls_and_computed_fields() -> None:
    block = UnitBlock(
        registry="verra",
        record_id="r1",
        serial="S",
        scheme="vcs",
        scope="",
        block_start=1,
        block_end=10,
        quantity=10,
        status="issued",
    )
    later = block.replace(observed_at="2026-01-01T00:00:00.000000Z", raw_hash="0" * 64)
    assert hash_json(block.content()) == hash_json(later.content())
    assert "project_id" not in block.content()
    assert hash_json(block.content()) != hash_json(block.replace(status="retired").content())


class Label(str):
    """A str subclass (as an enum value would be): hashed by its text."""


@pytest.mark.parametrize(
    "value",
    [
        {"a": [{"b": [1, {"c": None}]}, (True, "x")]},
        {"nested": {"deep": {"deeper": {"x": 1.5}}}},
        [{"k": 1}, {"\u00e9": 2}],
        {"\u20ac": "non-ASCII key", "a": 1},
        {"list": [1, 2.0, 3]},
        {"s": Label("issued")},
        {Label("key"): 1},
        {"big": 2**63 + 1, "neg": -(2**70)},
        ("tuple", ["inside"]),
        {},
        [],
    ],
)
def test_fast_path_check_sends_each_shape_where_it_belongs(value: object) -> None:
    assert canonicalize(value) == canonicalize_reference(value)


@pytest.mark.parametrize("bad", [{1: "int key"}, {"a": {2: "nested int key"}}, [{None: 1}]])
def test_non_string_keys_are_rejected_at_any_depth(bad: object) -> None:
    with pytest.raises(CanonicalizationError, match="not a string"):
        canonicalize(bad)


def test_a_lone_surrogate_is_a_canonicalization_error() -> None:
    with pytest.raises(CanonicalizationError, match="not valid Unicode"):
        canonicalize({"a": "\ud800"})
