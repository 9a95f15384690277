"""One test per row of the classification table (and per non-status rule), and the
conditions the rows rely on (status groups, reasons, origin links, Article 6)."""

from __future__ import annotations

from typing import Any

import pytest
from detect_support import block, verra_serial

from metaregistry.detect.cluster import pairs_of
from metaregistry.detect.findings import INTERNAL_RULES, beyond_issuance, drafts_of
from metaregistry.detect.rules import RULES, classify, points_at, reason_classes
from metaregistry.model import UnitBlock

SOURCE = verra_serial(100, 199)
CONVERSION = "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)"


def _verra(status: str, reason: str | None = None, **kw: Any) -> UnitBlock:
    return block("verra", "v1", 100, 199, status, serial=SOURCE, status_reason=reason, **kw)


def _held(
    registry: str, status: str = "issued", origin: str | None = SOURCE, **kw: Any
) -> UnitBlock:
    return block(registry, f"{registry}-1", 100, 199, status, origin=origin, **kw)


# rule name -> (the cluster, the outcome: link kind or alert kind or None, roles' registries)
CASES: dict[str, tuple[list[UnitBlock], str | None, tuple[str, str]]] = {
    "itmo-then-retired": (
        [
            _verra("retired", "Environmental Benefit"),
            _held(
                "srn-ppi",
                "transferred",
                first_transfer_date="2024-05-01",
                itmo_id="ITMO-ID-1",
                corresponding_adjustment="not-applied",
            ),
        ],
        "use_after_transfer",
        ("srn-ppi", "verra"),
    ),
    "tokenized": (
        [
            _verra("retired", "Retired for tokenization: bridged to Toucan Protocol (TCO2)"),
            _held("toucan"),
        ],
        "tokenization",
        ("verra", "toucan"),
    ),
    "ambiguous-source": (
        [
            _verra("retired", "retired or cancelled (the source does not tell them apart)"),
            _held("srn-ppi"),
        ],
        "use_after_transfer",
        ("verra", "srn-ppi"),
    ),
    "compliance-move": (
        [
            block(
                "acr",
                "a1",
                1,
                50,
                "cancelled",
                scheme="acr",
                scope="3001",
                status_reason="Convert to ARB offset credits",
            ),
            block("carb", "c1", 1, 50, "issued", scheme="acr", scope="3001"),
        ],
        "compliance_move",
        ("acr", "carb"),
    ),
    "cdm-transition": (
        [
            block("cdm-registry", "k1", 10, 20, "cancelled", scheme="cdm", scope="RW-5"),
            block("gold-standard", "g1", 10, 20, "issued", scheme="cdm", scope="RW-5"),
        ],
        "transition",
        ("cdm-registry", "gold-standard"),
    ),
    "transition": (
        [
            block(
                "gold-standard",
                "g1",
                1,
                9,
                "cancelled",
                scheme="gs",
                scope="30001",
                status_reason="Transition to the Article 6.4 mechanism",
            ),
            block("a6-4", "m1", 1, 9, "issued", scheme="gs", scope="30001"),
        ],
        "transition",
        ("gold-standard", "a6-4"),
    ),
    "jcm-mirror": (
        [
            block(
                "jcm-indonesia",
                "i1",
                601,
                1000,
                "transferred",
                scheme="jcm",
                scope="ID-0007",
                serial="JCM-ID-ID012-2022-0007-601-1000",
            ),
            block(
                "jcm-japan",
                "j1",
                601,
                1000,
                "issued",
                scheme="jcm",
                scope="ID-0007",
                serial="JCM-ID-ID012-2022-0007-601-1000",
                origin="JCM-ID-ID012-2022-0007-601-1000",
            ),
        ],
        "mirror",
        ("jcm-indonesia", "jcm-japan"),
    ),
    "converted": (
        [_verra("cancelled", CONVERSION), _held("srn-ppi")],
        "conversion",
        ("verra", "srn-ppi"),
    ),
    "converted-gone": (
        [_verra("cancelled", CONVERSION), _held("srn-ppi", "cancelled")],
        "conversion",
        ("verra", "srn-ppi"),
    ),
    "both-gone": (
        [_verra("cancelled"), _held("gold-standard", "expired", origin=None)],
        None,
        ("verra", "gold-standard"),
    ),
    "used-after-move": (
        [_verra("retired", "Environmental Benefit"), _held("srn-ppi")],
        "use_after_transfer",
        ("verra", "srn-ppi"),
    ),
    "double-use": (
        [
            _verra("retired", "Environmental Benefit"),
            _held("toucan", "retired", status_reason="Retired for a second claim"),
        ],
        "double_use",
        ("toucan", "verra"),
    ),
    "custody": (
        [
            _verra("issued", "held in sub-account: 11273 (CARBON Pool | stellarcarbon.io)"),
            _held("stellar"),
        ],
        "custody",
        ("verra", "stellar"),
    ),
    "double-issuance-live": (
        [_verra("issued"), _held("srn-ppi")],
        "double_issuance",
        ("srn-ppi", "verra"),
    ),
    "double-issuance-used": (
        [_verra("retired", "Voluntary offsetting"), _held("gold-standard", origin=None)],
        "double_issuance",
        ("verra", "gold-standard"),
    ),
    "internal-overlap": (
        [
            block("tccr", "t1", 1, 100, scheme="tver", scope="00001"),
            block("tccr", "t2", 50, 150, scheme="tver", scope="00001"),
        ],
        "internal_overlap",
        ("tccr", "tccr"),
    ),
    "retired-after-move": (
        [
            block(
                "verra",
                "v1",
                100,
                199,
                "cancelled",
                status_reason=CONVERSION,
                status_date="2024-01-01",
            ),
            block("verra", "v2", 120, 140, "retired", status_date="2024-06-01"),
        ],
        "use_after_transfer",
        ("verra", "verra"),
    ),
    "itmo-ca-pending": (
        [
            _verra("retired", "Environmental Benefit", status_date="2025-03-01"),
            _held(
                "srn-ppi",
                "transferred",
                first_transfer_date="2024-05-01",
                itmo_id="ITMO-ID-2",
                corresponding_adjustment="pending",
            ),
        ],
        "use_after_transfer",
        ("srn-ppi", "verra"),
    ),
    "itmo-claimed-twice": (
        [
            _verra("retired", "Environmental Benefit"),
            _held(
                "srn-ppi",
                "transferred",
                origin=None,
                first_transfer_date="2024-05-01",
                itmo_id="ITMO-ID-3",
                corresponding_adjustment="applied",
            ),
        ],
        "double_use",
        ("srn-ppi", "verra"),
    ),
    "itmo-live-elsewhere": (
        [
            _verra("issued"),
            _held(
                "srn-ppi",
                "transferred",
                origin=None,
                first_transfer_date="2024-05-01",
                itmo_id="ITMO-ID-4",
                corresponding_adjustment="applied",
            ),
        ],
        "double_issuance",
        ("srn-ppi", "verra"),
    ),
    "gone-then-used-elsewhere": (
        [
            _verra("cancelled", "Buffer contribution for a reversal"),
            _held("gold-standard", "retired", origin=None),
        ],
        "double_issuance",
        ("verra", "gold-standard"),
    ),
    "gone-then-live-elsewhere": (
        [_verra("cancelled", "Correction of an issuance error"), _held("tccr", origin=None)],
        "double_issuance",
        ("verra", "tccr"),
    ),
    "beyond-issuance": (
        [
            block(
                "jcm-thailand",
                "t1",
                601,
                1100,
                "issued",
                scheme="jcm",
                scope="TH-0009",
                serial="JCM-TH-TH005-2022-0009-601-1100",
                issuance_total=1000,
            ),
        ],
        "quantity_mismatch",
        ("jcm-thailand", "jcm-thailand"),
    ),
    "quantity-mismatch": (
        [
            _verra("cancelled", CONVERSION),
            block("srn-ppi", "s1", 100, 230, origin=verra_serial(100, 230)),
        ],
        "quantity_mismatch",
        ("verra", "srn-ppi"),
    ),
}


def test_every_rule_has_a_case() -> None:
    names = {r.name for r in RULES} | {r.name for r in INTERNAL_RULES}
    assert set(CASES) == names


@pytest.mark.parametrize("name", [r.name for r in RULES])
def test_status_rule_matches_its_case(name: str) -> None:
    (a, b), _, roles = CASES[name]
    verdict = classify(a, b)
    assert verdict is not None
    assert verdict.rule.name == name
    found = (verdict.first.registry, verdict.second.registry)
    symmetric = verdict.rule.first == verdict.rule.second
    assert sorted(found) == sorted(roles) if symmetric else found == roles
    # The order the pair is given in does not matter.
    again = classify(b, a)
    assert again is not None and again.rule.name == name


@pytest.mark.parametrize("name", sorted(CASES))
def test_case_gives_its_outcome(name: str) -> None:
    cluster, outcome, roles = CASES[name]
    if name == "beyond-issuance":  # a check of single blocks, not of pairs
        alerts, links = beyond_issuance(cluster), []
    else:
        alerts, links = drafts_of(pairs_of(cluster))
    kinds = sorted([a.kind for a in alerts] + [link.kind for link in links])
    if outcome is None:
        assert kinds == []
        return
    assert outcome in kinds
    if outcome in {link.kind for link in links}:
        link = next(link for link in links if link.kind == outcome)
        assert (link.source.registry, link.target.registry) == roles
        assert not alerts
    else:
        alert = next(a for a in alerts if a.kind == outcome)
        assert (alert.registry_a, alert.registry_b) == roles
        assert not links or outcome == "quantity_mismatch"


def test_explanation_names_both_registries_serials_overlap_and_statuses() -> None:
    cluster, _, _ = CASES["double-use"]
    (alert,), _ = drafts_of(pairs_of(cluster))
    text = alert.explanation
    for b in cluster:
        assert b.registry in text
        assert b.serial in text
        assert f"({b.status})" in text
    assert "100 units (100-199) of vcs" in text


def test_a_bridge_record_naming_the_bridge_is_never_the_source_of_a_tokenization() -> None:
    # Stellarcarbon's retirement names stellarcarbon.io, and its origin points at the Verra
    # block; Verra retired the same units for someone else: two claims, not a bridge.
    verra = _verra("retired", "Environmental Benefit")
    token = _held("stellar", "retired", status_reason="beneficiary: G... via stellarcarbon.io")
    verdict = classify(verra, token)
    assert verdict is not None and verdict.rule.name == "double-use"


def test_custody_needs_the_verra_side_to_name_the_bridge() -> None:
    held = _verra("issued", "held in sub-account: 4242 (Some Trader Ltd)")
    verdict = classify(held, _held("stellar"))
    assert verdict is not None and verdict.rule.name == "double-issuance-live"
    # ... and the token to name the Verra block (its origin).
    named = _verra("issued", "held in sub-account: 11273 (CARBON Pool | stellarcarbon.io)")
    verdict = classify(named, _held("stellar", origin=None))
    assert verdict is not None and verdict.rule.name == "double-issuance-live"


def test_itmo_with_corresponding_adjustment_is_no_use_after_transfer() -> None:
    verra = _verra("retired", "Environmental Benefit")
    srn = _held(
        "srn-ppi",
        "transferred",
        first_transfer_date="2024-05-01",
        corresponding_adjustment="applied",
    )
    verdict = classify(verra, srn)
    assert verdict is not None and verdict.rule.name != "itmo-then-retired"


def test_retirement_without_bridge_reason_is_not_tokenization() -> None:
    verdict = classify(_verra("retired", "Voluntary offsetting"), _held("toucan"))
    assert verdict is not None and verdict.rule.alert_kind == "use_after_transfer"


@pytest.mark.parametrize(
    ("reason", "classes"),
    [
        ("Retired for tokenization: bridged to Regen Ledger (C01)", {"bridge"}),
        ("stellarcarbon.io 61d4ff5516b7098b", {"bridge"}),
        ("MCO2 Supply B2B Retirement", {"bridge"}),
        ("Convert to ARB offset credits", {"compliance"}),
        ("WA ECO", {"compliance"}),
        ("Convert to Ecology offset credits", {"compliance"}),
        ("Transferred to the Gold Standard (CDM activity transition)", {"transition"}),
        ("Environmental Benefit", set()),
        ("CORSIA first phase offsetting requirement", set()),
        ("Removal of credits from the registry", set()),
        (
            "retired or cancelled (the source does not tell them apart); reason: Other",
            {"ambiguous"},
        ),
        (None, set()),
    ],
)
def test_reason_classes(reason: str | None, classes: set[str]) -> None:
    assert reason_classes(reason) == classes


def test_origin_points_at_the_same_serial_or_the_native_record_of_its_units() -> None:
    source = _verra("cancelled")
    part = block("verra", "v2", 150, 160, "retired", serial=verra_serial(150, 160))
    target = _held("srn-ppi")
    assert points_at(target, source)
    assert points_at(target, part)  # the origin's range covers the part
    other = block("verra", "v3", 300, 310, serial=verra_serial(300, 310))
    assert not points_at(target, other)
    twin = _held("toucan")  # another holder of the same source: not the source itself
    assert not points_at(target, twin)
    assert not points_at(block("srn-ppi", "s2", 100, 199, origin="not a serial"), source)


def test_ambiguous_export_is_a_low_severity_alert_saying_why() -> None:
    (alert,), links = drafts_of(pairs_of(CASES["ambiguous-source"][0]))
    assert (alert.severity, links) == ("low", [])
    assert "does not tell them apart" in alert.explanation


def test_a_share_past_its_issuance_names_the_units_never_issued() -> None:
    (share,), _, _ = CASES["beyond-issuance"]
    (alert,) = beyond_issuance([share])
    assert (alert.kind, alert.severity) == ("quantity_mismatch", "high")
    assert alert.excess == [(1001, 1100)] and alert.ranges == [(601, 1000)]
    assert "1001-1100" in alert.explanation or "1,001" in alert.explanation
    inside = share.replace(block_end=1000, quantity=400)
    assert beyond_issuance([inside]) == []
