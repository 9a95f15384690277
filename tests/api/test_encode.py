"""The API's JSON encoder writes what the standard library writes, byte for byte."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from metaregistry.api.answers import encode

# JSON values without floats (orjson and json may spell a float differently: 1e16 / 1e+16)
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _standard(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


@given(values)
def test_encode_equals_the_standard_library(body: Any) -> None:
    assert encode(body) == _standard(body)


def test_what_orjson_refuses_takes_the_standard_path() -> None:
    for body in ({"n": 2**70}, {"n": -(2**65)}, {1: "non-string key"}, {"é": "\u2028 ü"}):
        assert encode(body) == _standard(body)
    assert json.loads(encode({"floats": [0.1, 1e16, -2.5]})) == {"floats": [0.1, 1e16, -2.5]}
