"""The fast paths the API's integrity check takes are byte for byte the canonical ones."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from metaregistry.canonical import hash_json
from metaregistry.log.binding import (
    block_leaf_hash,
    content_of,
    describe_differences,
    record_hash_of,
)
from metaregistry.log.leaf import BlockLeaf
from metaregistry.log.merkle import leaf_hash
from metaregistry.model import CONTENT_FIELDS

values = st.one_of(
    st.none(),
    st.text(),  # every code point, lone surrogates and control characters included
    st.integers(min_value=-(2**70), max_value=2**70),  # beyond 64 bits too
)


@given(st.fixed_dictionaries({name: values for name in CONTENT_FIELDS}))
def test_record_hash_of_is_hash_json_of_the_content(fields: dict[str, Any]) -> None:
    content = content_of(fields)
    try:
        expected: str | None = hash_json(content)
    except ValueError:
        expected = None
    assert record_hash_of(fields) == expected


@given(st.text(), st.text(), st.integers(min_value=-(2**70), max_value=2**70), st.text())
def test_block_leaf_hash_is_the_leaf_hash_of_the_block_leaf(
    registry: str, record_id: str, version: int, record_hash: str
) -> None:
    try:
        expected: bytes | None = leaf_hash(
            BlockLeaf(registry, record_id, version, record_hash).data()
        )
    except ValueError:
        expected = None
    assert block_leaf_hash(registry, record_id, version, record_hash) == expected


def test_differences_name_each_field() -> None:
    said = describe_differences({"status": "issued"}, {"status": "retired"}, "the row", "v1")
    assert said == "status is 'issued' in the row, 'retired' in v1"
