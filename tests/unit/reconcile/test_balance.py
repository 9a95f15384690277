"""The project-level rules on hand-made holdings: links, mismatches, pending, unverifiable,
double registration, registry moves, and the near misses that must stay quiet."""

from __future__ import annotations

from pathlib import Path

import pytest

from metaregistry.reconcile.balance import reconcile_holdings
from metaregistry.reconcile.crosswalk import (
    MapError,
    ProjectLink,
    build,
    parse_project,
    read_map,
    suggest,
)
from metaregistry.reconcile.model import Finding, Holding, Outcome

ALL = {"acr": True, "car": True, "carb": True, "verra": True, "srn-ppi": True}
NONE: dict[str, bool] = {}


def acr_cancel(
    record: str, project: str, vintage: int, qty: int, reason: str = "Convert to ARB offset credits"
) -> Holding:
    return Holding("acr", record, ("acr", project), vintage, "cancelled", qty, reason)


def carb(record: str, project: str, vintage: int, qty: int, *names: tuple[str, str]) -> Holding:
    refs = tuple(
        ((reg, pid), "opr_project_id" if i == 0 else "comment")
        for i, (reg, pid) in enumerate(names)
    )
    return Holding(
        "carb", record, ("carb", project), vintage, "issued", qty, numbered=False, names=refs
    )


def run(
    holdings: list[Holding],
    complete: dict[str, bool] = ALL,
    mapped: list[ProjectLink] | None = None,
) -> list[Finding]:
    return reconcile_holdings(holdings, build(holdings, mapped or []), complete)


def outcomes(findings: list[Finding]) -> list[tuple[str, str, int | None]]:
    return [(f.outcome, f.kind, f.vintage) for f in findings]


def test_a_conversion_carb_accounts_for_is_a_project_link() -> None:
    found = run(
        [
            acr_cancel("c1", "ACR1051", 2025, 14_653),
            carb("CAMM1051-B", "CAMM1051", 2025, 14_653, ("acr", "ACR1051")),
        ]
    )
    assert outcomes(found) == [(Outcome.MATCHED, "compliance_move", 2025)]
    link = found[0]
    assert link.is_link and not link.is_alert
    assert link.records == (("acr", "c1", "source"), ("carb", "CAMM1051-B", "target"))
    assert link.pairs == ((("acr", "c1"), ("carb", "CAMM1051-B")),)
    assert link.project_key == "acr:ACR1051"


def test_exact_pairs_need_no_completeness() -> None:
    found = run(
        [
            acr_cancel("c1", "ACR1051", 2025, 100),
            carb("X-A", "CAMM1051", 2025, 100, ("acr", "ACR1051")),
        ],
        complete=NONE,
    )
    assert outcomes(found) == [(Outcome.MATCHED, "compliance_move", 2025)]


def test_sums_balance_across_several_records() -> None:
    found = run(
        [
            acr_cancel("c1", "ACR7", 2020, 60),
            acr_cancel("c2", "ACR7", 2020, 40),
            carb("CA7-A", "CA7", 2020, 100, ("acr", "ACR7")),
        ]
    )
    assert outcomes(found) == [(Outcome.MATCHED, "compliance_move", 2020)]
    assert (found[0].gave, found[0].got) == (100, 100)


def test_target_issuing_more_is_an_alert_only_when_both_sides_are_complete() -> None:
    holdings = [
        acr_cancel("c1", "ACR7", 2020, 60),
        carb("CA7-A", "CA7", 2020, 100, ("acr", "ACR7")),
    ]
    alert = run(holdings)
    assert outcomes(alert) == [(Outcome.MISMATCH, "compliance_move", 2020)]
    assert alert[0].is_alert and (alert[0].gave, alert[0].got) == (60, 100)
    assert "gave up only 60" in alert[0].reason
    quiet = run(holdings, complete={"acr": True})
    assert outcomes(quiet) == [(Outcome.UNVERIFIABLE, "compliance_move", 2020)]
    assert "carb" in quiet[0].reason


def test_units_moved_out_without_issuance_are_pending() -> None:
    found = run([acr_cancel("c1", "ACR7", 2020, 60)])
    assert outcomes(found) == [(Outcome.PENDING, "compliance_move", 2020)]


def test_a_carb_row_without_any_source_record_is_unverifiable_not_an_alert() -> None:
    found = run([carb("CA9-A", "CA9", 2021, 500, ("acr", "ACR9"))], complete={"carb": True})
    assert outcomes(found) == [(Outcome.UNVERIFIABLE, "compliance_move", 2021)]


def test_near_miss_other_vintage_is_not_a_link() -> None:
    found = run(
        [
            acr_cancel("c1", "ACR7", 2020, 100),
            carb("CA7-A", "CA7", 2021, 100, ("acr", "ACR7")),
        ],
        complete={"acr": False, "carb": True},
    )
    assert sorted(outcomes(found)) == [
        (Outcome.PENDING, "compliance_move", 2020),
        (Outcome.UNVERIFIABLE, "compliance_move", 2021),
    ]


def test_a_reason_alone_clears_nothing() -> None:
    """A cancellation 'for ARB' next to a CARB issuance of another quantity, both complete:
    the reason names the move, the quantities disagree, so it is an alert."""
    found = run(
        [
            acr_cancel("c1", "ACR7", 2020, 10),
            carb("CA7-A", "CA7", 2020, 1_000, ("acr", "ACR7")),
        ]
    )
    assert [f.outcome for f in found] == [Outcome.MISMATCH]


def test_a_cancellation_for_another_reason_is_no_move() -> None:
    found = run(
        [
            acr_cancel("c1", "ACR7", 2020, 100, reason="Removal of credits from the registry"),
            carb("CA7-A", "CA7", 2020, 100, ("acr", "ACR7")),
        ]
    )
    assert [f.outcome for f in found] == [Outcome.MISMATCH]
    assert found[0].gave == 0


def test_a_carb_row_naming_two_opr_projects_is_a_registry_move() -> None:
    found = run(
        [
            carb("CAOD5001-A", "CAOD5001", 2013, 107_542, ("car", "CAR992"), ("acr", "ACR258")),
            Holding("car", "car-iss", ("car", "CAR992"), 2013, "issued", 50),
            Holding("acr", "acr-iss", ("acr", "ACR258"), 2013, "issued", 50),
        ],
        complete={"carb": True},
    )
    moves = [f for f in found if f.outcome == Outcome.REGISTRY_MOVE]
    assert len(moves) == 1 and (moves[0].source, moves[0].target) == ("car", "acr")
    assert not [f for f in found if f.kind == "double_issuance"]


def test_double_registration_needs_both_issuers_complete() -> None:
    holdings = [
        Holding("srn-ppi", "s1", ("srn-ppi", "PRJ-17"), 2022, "issued", 300),
        Holding("verra", "v1", ("verra", "VCS934"), 2022, "retired", 300),
    ]
    mapped = [ProjectLink(("srn-ppi", "PRJ-17"), ("verra", "VCS934"), "map", "map.csv:1")]
    found = run(holdings, mapped=mapped)
    assert outcomes(found) == [(Outcome.DOUBLE_REGISTRATION, "double_issuance", 2022)]
    assert found[0].is_alert and "PRJ-17" in found[0].reason and "VCS934" in found[0].reason
    assert outcomes(run(holdings, complete={"verra": True}, mapped=mapped)) == [
        (Outcome.UNVERIFIABLE, "double_issuance", 2022)
    ]
    # without the mapping (or a record naming the other project) they are two projects
    assert run(holdings) == []


def test_double_registration_near_misses() -> None:
    mapped = [ProjectLink(("acr", "ACR5"), ("car", "CAR5"), "map", "m")]
    other_vintage = [
        Holding("acr", "a", ("acr", "ACR5"), 2019, "issued", 10),
        Holding("car", "c", ("car", "CAR5"), 2020, "issued", 10),
    ]
    assert run(other_vintage, mapped=mapped) == []
    moved_out = [
        Holding("acr", "a", ("acr", "ACR5"), 2019, "issued", 10),
        Holding("car", "c", ("car", "CAR5"), 2019, "cancelled", 10, "Transfer to ACR"),
    ]
    assert run(moved_out, mapped=mapped) == []


def test_a_name_suggestion_is_never_used() -> None:
    holdings = [
        Holding("acr", "a", ("acr", "ACR5"), 2019, "issued", 10),
        Holding("car", "c", ("car", "CAR5"), 2019, "issued", 10),
    ]
    walk = build(holdings)
    names = {
        ("acr", "ACR5"): ("Blue Forest Carbon Project", "US"),
        ("car", "CAR5"): ("Blue Forest project", "US"),
    }
    suggestions = suggest(names, walk)
    assert [(s.a, s.b) for s in suggestions] == [(("acr", "ACR5"), ("car", "CAR5"))]
    assert reconcile_holdings(holdings, walk, ALL) == []
    assert (
        suggest(
            {("acr", "ACR5"): ("Blue Forest", "US"), ("car", "CAR5"): ("Blue Forest", "MX")}, walk
        )
        == []
    )


def test_parse_project_and_the_mapping_file(tmp_path: Path) -> None:
    assert parse_project("ACR 1051") == ("acr", "ACR1051")
    assert parse_project("verra:934") == ("verra", "VCS934")
    assert parse_project("srn-ppi:PRJ-17") == ("srn-ppi", "PRJ-17")
    with pytest.raises(ValueError, match="registry:project_id"):
        parse_project("PRJ-17")
    path = tmp_path / "map.csv"
    path.write_text(
        "project_a,project_b,note\n# a comment\n\nsrn-ppi:PRJ-17,VCS934,mutual recognition 2023\n",
        encoding="utf-8",
    )
    (link,) = read_map(path)
    assert (link.a, link.b, link.source) == (("srn-ppi", "PRJ-17"), ("verra", "VCS934"), "map")
    assert link.detail == "map.csv:4 mutual recognition 2023"
    path.write_text("ACR1,not-an-id\n", encoding="utf-8")
    with pytest.raises(MapError, match=r"map\.csv:1"):
        read_map(path)
