"""Per-registry unit state, pairs and clusters; and the oracle agreeing on random blocks."""

from __future__ import annotations

from detect_support import block, oracle_pairs
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.detect.cluster import Key, Ranges, clusters_of, pairs_of, subtract_ranges
from metaregistry.model import UnitBlock


def test_issuance_and_its_own_retirement_are_no_internal_overlap() -> None:
    # The Gold Standard sample's export style: batch issued 1-5485, 110-5463 retired.
    issued = block("gold-standard", "i", 1, 5485, "issued", scheme="gs", scope="30256")
    retired = block("gold-standard", "r", 110, 5463, "retired", scheme="gs", scope="30256")
    pairs = pairs_of([issued, retired])
    assert pairs.internal_live == {}
    assert pairs.internal_reuse == {}
    assert pairs.cross == {}


def test_two_live_records_of_one_registry_are_internal_overlap() -> None:
    a = block("tccr", "a", 1, 100, "issued")
    b = block("tccr", "b", 60, 150, "pending")
    assert pairs_of([a, b]).internal_live == {(a.key, b.key): [(60, 100)]}


def test_live_records_under_a_retirement_are_not_internal_overlap() -> None:
    a = block("tccr", "a", 1, 100, "issued")
    b = block("tccr", "b", 1, 100, "issued")
    r = block("tccr", "r", 1, 100, "retired")
    assert pairs_of([a, b, r]).internal_live == {}


def test_foreign_block_pairs_with_the_most_final_record_of_each_unit() -> None:
    issued = block("gold-standard", "i", 1, 100, "issued")
    retired = block("gold-standard", "r", 40, 59, "retired")
    foreign = block("verra", "v", 1, 100, "issued")
    cross = pairs_of([issued, retired, foreign]).cross
    assert cross == {
        (issued.key, foreign.key): [(1, 39), (60, 100)],
        (retired.key, foreign.key): [(40, 59)],
    }


def test_retirement_after_a_cancellation_in_one_registry_is_reuse() -> None:
    moved = block("verra", "c", 1, 100, "cancelled", status_date="2024-01-01")
    late = block("verra", "r", 10, 20, "retired", status_date="2024-02-01")
    early = block("verra", "e", 30, 40, "retired", status_date="2023-12-01")
    undated = block("verra", "u", 50, 60, "retired")
    reuse = pairs_of([moved, late, early, undated]).internal_reuse
    assert reuse == {(moved.key, late.key): [(10, 20)]}


def test_withdrawn_blocks_are_ignored() -> None:
    a = block("verra", "a", 1, 10)
    b = block("srn-ppi", "b", 1, 10, "withdrawn")
    assert pairs_of([a, b]).cross == {}


def test_adjacent_ranges_do_not_overlap() -> None:
    # Verra's split batches: 19380-941382555-941382741 retired next to ...742-... issued.
    retired = block("verra", "r", 941382555, 941382741, "retired")
    issued = block("verra", "i", 941382742, 941412554, "issued")
    other = block("verra", "o", 941412554, 941412600, "issued", scope="legacy")
    clusters = clusters_of([retired, issued, other])
    assert sorted(len(c) for c in clusters) == [1, 1, 1]


def test_clusters_connect_by_intersection_through_a_chain() -> None:
    a, b, c = block("x", "a", 1, 10), block("y", "b", 10, 20), block("z", "c", 20, 30)
    d = block("x", "d", 31, 40)
    clusters = clusters_of([d, c, b, a])
    assert [[x.record_id for x in cl] for cl in clusters] == [["a", "b", "c"], ["d"]]


def test_subtract_ranges() -> None:
    assert subtract_ranges(1, 100, [(10, 20), (30, 40)]) == [(1, 9), (21, 29), (41, 100)]
    assert subtract_ranges(15, 35, [(10, 20), (30, 40)]) == [(21, 29)]
    assert subtract_ranges(1, 5, []) == [(1, 5)]
    assert subtract_ranges(1, 5, [(0, 9)]) == []


STATUSES = (
    "issued",
    "issued",
    "pending",
    "retired",
    "retired",
    "cancelled",
    "transferred",
    "expired",
    "withdrawn",
)
DATES = (None, "2024-01-01", "2024-06-01")


@st.composite
def random_blocks(draw: st.DrawFn) -> list[UnitBlock]:
    count = draw(st.integers(1, 12))
    out: list[UnitBlock] = []
    for i in range(count):
        start = draw(st.integers(0, 60))
        size = draw(st.integers(1, 25))
        out.append(
            block(
                draw(st.sampled_from(("verra", "srn-ppi", "toucan"))),
                f"r{i}",
                start,
                start + size - 1,
                draw(st.sampled_from(STATUSES)),
                scope=draw(st.sampled_from(("", "", "b2"))),
                status_date=draw(st.sampled_from(DATES)),
            )
        )
    return out


@settings(max_examples=300, deadline=None)
@given(random_blocks())
def test_pairs_agree_with_the_unit_by_unit_oracle(blocks: list[UnitBlock]) -> None:
    expected = oracle_pairs(blocks)
    found: dict[str, dict[tuple[Key, Key], Ranges]] = {
        "cross": {},
        "internal_live": {},
        "internal_reuse": {},
    }
    for cluster in clusters_of(blocks):
        pairs = pairs_of(cluster)
        found["cross"].update(pairs.cross)
        found["internal_live"].update(pairs.internal_live)
        found["internal_reuse"].update(pairs.internal_reuse)
    assert found["cross"] == expected.cross
    assert found["internal_live"] == expected.internal_live
    assert found["internal_reuse"] == expected.internal_reuse
