"""Leaf bytes: the RFC 8785 form of the record version or alert event, and nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.canonical import canonicalize
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafFormatError, parse_leaf

text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=40)


@settings(deadline=None)  # a loaded CI machine is not a failure
@given(text, text, st.integers(-(2**63), 2**63), text)
def test_block_leaf_bytes_are_exactly_the_canonical_json(
    registry: str, record_id: str, version: int, record_hash: str
) -> None:
    leaf = BlockLeaf(registry, record_id, version, record_hash)
    expected = canonicalize(
        {
            "type": "block",
            "registry": registry,
            "record_id": record_id,
            "version": version,
            "record_hash": record_hash,
        }
    )
    assert leaf.data() == expected
    assert parse_leaf(expected) == leaf


@settings(deadline=None)  # a loaded CI machine is not a failure
@given(text, text)
def test_event_leaf_bytes_are_exactly_the_canonical_json(event_id: str, event_hash: str) -> None:
    leaf = EventLeaf(event_id, event_hash)
    expected = canonicalize({"type": "alert_event", "event_id": event_id, "event_hash": event_hash})
    assert leaf.data() == expected
    assert parse_leaf(expected) == leaf


def test_a_block_leaf_reads_as_documented() -> None:
    leaf = BlockLeaf("verra", "VCS-1", 2, "ab" * 32)
    assert leaf.data() == (
        b'{"record_hash":"' + b"ab" * 32 + b'","record_id":"VCS-1","registry":"verra",'
        b'"type":"block","version":2}'
    )


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"type":"vote"}', "leaf type"),
        (b'{"event_hash":"h","event_id":"1","extra":1,"type":"alert_event"}', "has fields"),
        (b'{"event_hash":"h","event_id":1,"type":"alert_event"}', "event_id must be str"),
        (b'{"type":"alert_event","event_id":"1","event_hash":"h"}', "canonical form"),
    ],
)
def test_anything_else_is_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(LeafFormatError, match=reason):
        parse_leaf(data)


def test_a_block_leaf_without_a_canonical_form_is_refused() -> None:
    with pytest.raises(LeafFormatError, match="version must be an integer"):
        BlockLeaf("verra", "1", True, "h").data()
    with pytest.raises(LeafFormatError, match="no canonical form"):
        BlockLeaf("verra", "\ud800", 1, "h").data()
    with pytest.raises(LeafFormatError, match="no canonical form"):
        BlockLeaf(None, "1", 1, "h").data()  # type: ignore[arg-type]
