"""Alerts from pairs: grouping (no alert storm), stable ids, quantity mismatch."""

from __future__ import annotations

from detect_support import block, verra_serial

from metaregistry.detect.cluster import pairs_of
from metaregistry.detect.findings import AlertDraft, LinkDraft, drafts_of
from metaregistry.model import UnitBlock

CONVERSION = "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)"


def _drafts(blocks: list[UnitBlock]) -> tuple[list[AlertDraft], list[LinkDraft]]:
    return drafts_of(pairs_of(blocks))


def test_one_issuance_split_into_many_retirements_is_one_alert() -> None:
    verra = block("verra", "v", 1, 5000)
    gs_issued = block("gold-standard", "i", 1, 5000)
    retirements = [
        block("gold-standard", f"r{i}", 100 * i + 1, 100 * i + 50, "retired") for i in range(40)
    ]
    alerts, _ = _drafts([verra, gs_issued, *retirements])
    kinds = sorted(a.kind for a in alerts)
    # Live in both (double issuance), and retired in GS while live in Verra (also double
    # issuance): one alert, every record a side of it.
    assert kinds == ["double_issuance"]
    (alert,) = alerts
    assert len(alert.sides) == 42
    assert (alert.overlap_start, alert.overlap_end, alert.overlap_size) == (1, 5000, 5000)
    assert "and 38 more" in alert.explanation  # 41 Gold Standard records, 3 named


def test_unrelated_overlaps_between_the_same_registries_stay_separate() -> None:
    blocks = [
        block("verra", "v1", 1, 10),
        block("srn-ppi", "s1", 1, 10),
        block("verra", "v2", 100, 110),
        block("srn-ppi", "s2", 100, 110),
    ]
    alerts, _ = _drafts(blocks)
    assert len(alerts) == 2
    assert len({a.id for a in alerts}) == 2


def test_alert_id_is_stable_and_independent_of_input_order() -> None:
    blocks = [block("verra", "v", 1, 100, "retired"), block("toucan", "t", 50, 150, "retired")]
    (first,), _ = _drafts(blocks)
    (again,), _ = _drafts(list(reversed(blocks)))
    assert first.id == again.id
    assert first.id.startswith("al_") and len(first.id) == 27
    moved = [blocks[0], block("toucan", "t", 40, 150, "retired")]
    (other,), _ = _drafts(moved)
    assert other.id != first.id  # the overlap is part of the identity


def test_quantity_mismatch_covers_shared_units_and_the_excess() -> None:
    source = block(
        "verra", "v", 100, 199, "cancelled", status_reason=CONVERSION, serial=verra_serial(100, 199)
    )
    target = block("srn-ppi", "s", 100, 230, origin=verra_serial(100, 230))
    alerts, links = _drafts([source, target])
    assert [link.kind for link in links] == ["conversion"]
    (alert,) = alerts
    assert alert.kind == "quantity_mismatch"
    assert alert.ranges == [(100, 199)]
    assert alert.excess == [(200, 230)]
    assert (alert.overlap_start, alert.overlap_end) == (100, 230)
    # one meaning per field (issue 22): the span and its size both cover shared and excess
    assert alert.overlap_size == 131 == (230 - 100 + 1)
    assert "31 units (200-230)" in alert.explanation


def test_mismatch_into_the_live_rest_of_the_source_is_one_mismatch() -> None:
    # The generator's partial case: the cancelled part 100-149, the rest 150-199 still live
    # in Verra, and a conversion claiming 100-160.
    used = block(
        "verra",
        "v1",
        100,
        149,
        "cancelled",
        status_reason=CONVERSION,
        serial=verra_serial(100, 149),
    )
    rest = block("verra", "v2", 150, 199, serial=verra_serial(150, 199))
    target = block("srn-ppi", "s", 100, 160, origin=verra_serial(100, 160))
    alerts, _ = _drafts([used, rest, target])
    assert [a.kind for a in alerts] == ["quantity_mismatch"]
    assert alerts[0].excess == [(150, 160)]


def test_a_consistent_conversion_of_a_split_source_has_no_mismatch() -> None:
    a = block("verra", "v1", 100, 149, "cancelled", status_reason=CONVERSION)
    b = block("verra", "v2", 150, 199, "cancelled", status_reason=CONVERSION)
    target = block("srn-ppi", "s", 100, 199, origin=verra_serial(100, 199))
    alerts, links = _drafts([a, b, target])
    assert alerts == []
    assert sorted(link.kind for link in links) == ["conversion", "conversion"]


def test_jcm_transfer_received_with_more_than_the_issuance() -> None:
    moved = block(
        "jcm-indonesia",
        "i",
        601,
        1000,
        "transferred",
        scheme="jcm",
        scope="ID-0007",
        serial="JCM-ID-ID012-2022-0007-601-1000",
    )
    bigger = block(
        "jcm-japan",
        "j",
        601,
        1040,
        scheme="jcm",
        scope="ID-0007",
        serial="JCM-ID-ID012-2022-0007-601-1040",
        origin="JCM-ID-ID012-2022-0007-601-1000",
    )
    alerts, links = _drafts([moved, bigger])
    assert [link.kind for link in links] == ["mirror"]
    assert [(a.kind, a.excess) for a in alerts] == [("quantity_mismatch", [(1001, 1040)])]


def test_use_after_transfer_inside_a_conversion() -> None:
    # Generator pattern: VCUs cancelled for conversion, then a part retired in Verra.
    cancelled = block(
        "verra",
        "c",
        100,
        199,
        "cancelled",
        status_reason=CONVERSION,
        serial=verra_serial(100, 199),
        status_date="2024-01-01",
    )
    late = block(
        "verra",
        "l",
        120,
        150,
        "retired",
        serial=verra_serial(120, 150),
        status_reason="Environmental Benefit",
        status_date="2024-03-01",
    )
    target = block("srn-ppi", "s", 100, 199, origin=verra_serial(100, 199))
    alerts, links = _drafts([cancelled, late, target])
    assert [(a.kind, a.ranges) for a in alerts] == [("use_after_transfer", [(120, 150)])]
    assert [link.kind for link in links] == ["conversion"]


def test_custody_token_wider_than_its_retirements_is_no_mismatch() -> None:
    # Stellarcarbon mints on a Verra block it holds and retires sub-ranges as tokens are
    # redeemed: the token covering more than the retirements is the bridge's normal state.
    token = block("stellarcarbon", "t", 277, 300, origin=verra_serial(277, 300))
    sunk = block(
        "verra",
        "c1",
        283,
        291,
        "retired",
        serial=verra_serial(283, 291),
        status_reason="stellarcarbon.io 5af83162",
    )
    alerts, links = _drafts([token, sunk])
    assert alerts == []
    assert [(link.kind, link.ranges) for link in links] == [("tokenization", ((283, 291),))]
