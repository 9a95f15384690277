"""Issue 23: a link needs both sides to agree with the move. The cases found outside the
planted patterns, each now an alert, and a property over the rule table: flipping either side
of a link to a state (or a target registry) the move does not allow never leaves that link."""

from __future__ import annotations

from typing import Any

from detect_support import block, verra_serial
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.detect.cluster import pairs_of
from metaregistry.detect.findings import drafts_of
from metaregistry.detect.rules import RULES, classify, group_of, role_of
from metaregistry.model import UnitBlock

SOURCE = verra_serial(100, 199)

#: The spec, written independently of the rule table: per link kind, the source's statuses,
#: the target registry's roles and the target's statuses a move allows.
_ALL = {"issued", "pending", "buffer", "retired", "cancelled", "transferred", "expired"}
_LIVE = {"issued", "pending", "buffer"}
_GIVEN_UP = {"cancelled", "transferred"}
ALLOWED: dict[str, tuple[set[str], set[str], set[str]]] = {
    "tokenization": ({"retired"}, {"bridge"}, _ALL),
    "custody": (_LIVE, {"bridge"}, _LIVE),
    "compliance_move": (_GIVEN_UP, {"compliance"}, _ALL),
    "transition": (_GIVEN_UP, {"standard", "national"}, _ALL),
    "mirror": ({"transferred"}, {"jcm"}, _ALL),
    "conversion": (_GIVEN_UP, {"national"}, _ALL),
}


def kinds(*cluster: UnitBlock) -> list[str]:
    alerts, links = drafts_of(pairs_of(list(cluster)))
    return sorted([f"alert:{a.kind}" for a in alerts] + [f"link:{x.kind}" for x in links])


def verra(status: str, reason: str | None = None, **kw: Any) -> UnitBlock:
    return block("verra", "v1", 100, 199, status, serial=SOURCE, status_reason=reason, **kw)


def itmo(registry: str = "srn-ppi", ca: str = "applied", **kw: Any) -> UnitBlock:
    values: dict[str, Any] = {
        "first_transfer_date": "2024-05-01",
        "itmo_id": "ITMO-1",
        "corresponding_adjustment": ca,
        "origin": SOURCE,
    }
    values.update(kw)
    return block(registry, f"{registry}-1", 100, 199, "transferred", **values)


def test_an_itmo_with_ca_applied_and_the_standard_retiring_voluntarily_is_two_claims() -> None:
    assert kinds(verra("retired", "Voluntary offsetting"), itmo()) == ["alert:double_use"]


def test_an_itmo_with_the_standard_still_issued_is_a_double_issuance() -> None:
    assert kinds(verra("issued"), itmo()) == ["alert:double_issuance"]


def test_a_retirement_for_tokenization_live_in_a_national_registry_is_no_tokenization() -> None:
    national = block("srn-ppi", "s1", 100, 199, "issued", origin=SOURCE)
    found = kinds(verra("retired", "Retired for tokenization: bridged to Toucan"), national)
    assert found == ["alert:use_after_transfer"]
    unnamed = block("srn-ppi", "s1", 100, 199, "issued")
    found = kinds(verra("retired", "Retired for tokenization: bridged to Toucan"), unnamed)
    assert found == ["alert:double_issuance"]


def test_a_cancellation_for_no_move_with_units_live_elsewhere_is_an_alert() -> None:
    for reason in ("Buffer contribution for a reversal", "Correction", None):
        elsewhere = block("tccr", "t1", 100, 199, "issued")
        assert kinds(verra("cancelled", reason), elsewhere) == ["alert:double_issuance"]
    # a conversion the target names is still a conversion
    named = block("srn-ppi", "s1", 100, 199, "issued", origin=SOURCE)
    assert kinds(verra("cancelled", "for conversion to SPE-GRK"), named) == ["link:conversion"]


def _jcm(registry: str, status: str, **kw: Any) -> UnitBlock:
    serial = "JCM-ID-ID012-2022-0007-601-1000"
    return block(
        registry,
        f"{registry}-1",
        601,
        1000,
        status,
        scheme="jcm",
        scope="ID-0007",
        serial=serial,
        **kw,
    )


def test_jcm_one_ledger_first_transfers_as_itmo_the_other_retires_for_its_own_claim() -> None:
    moved = _jcm(
        "jcm-indonesia",
        "transferred",
        first_transfer_date="2024-02-01",
        itmo_id="ITMO-ID-7",
        corresponding_adjustment="applied",
    )
    retired = _jcm("jcm-japan", "retired", status_reason="Retired for NDC use")
    assert kinds(moved, retired) == ["alert:double_use"]
    # the mirror: the other ledger received the units (its origin names them) and retires
    received = _jcm(
        "jcm-japan", "retired", status_reason="Retired for NDC use", origin=moved.serial
    )
    assert kinds(moved, received) == ["link:mirror"]


def test_jcm_both_ledgers_using_the_same_units_is_double_use() -> None:
    a = _jcm("jcm-indonesia", "retired", status_reason="Used towards Indonesia's NDC")
    b = _jcm("jcm-japan", "retired", status_reason="Retired for NDC use")
    assert kinds(a, b) == ["alert:double_use"]


def test_a_pending_adjustment_inside_its_window_is_a_low_note_outside_it_critical() -> None:
    def severity(use_date: str) -> str:
        alerts, _ = drafts_of(
            pairs_of(
                [
                    verra("retired", "Voluntary offsetting", status_date=use_date),
                    itmo(ca="pending", origin=None),
                ]
            )
        )
        (alert,) = alerts
        assert alert.kind == "use_after_transfer"
        return alert.severity

    assert severity("2025-01-15") == "low"
    assert severity("2029-01-15") == "critical"


# ---- the property over the rule table

_STATUSES = ["issued", "pending", "buffer", "retired", "cancelled", "transferred", "expired"]
_TARGETS = ["toucan", "stellar", "carb", "srn-ppi", "tccr", "gold-standard", "jcm-japan", "acr"]
_REASONS = [
    None,
    "Retired for tokenization: bridged to Toucan Protocol (TCO2)",
    "held in sub-account: 11273 (CARBON Pool | stellarcarbon.io)",
    "Convert to ARB offset credits",
    "Transition to the Article 6.4 mechanism",
    "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)",
    "Buffer contribution",
]


@settings(max_examples=400, deadline=None)
@given(
    source_status=st.sampled_from(_STATUSES),
    target_status=st.sampled_from(_STATUSES),
    target=st.sampled_from(_TARGETS),
    reason=st.sampled_from(_REASONS),
    named=st.booleans(),
    scheme=st.sampled_from(["vcs", "cdm", "jcm"]),
)
def test_every_link_has_both_sides_in_a_state_its_move_allows(
    source_status: str,
    target_status: str,
    target: str,
    reason: str | None,
    named: bool,
    scheme: str,
) -> None:
    source = block(
        "verra" if scheme != "jcm" else "jcm-indonesia",
        "src",
        100,
        199,
        source_status,
        scheme=scheme,
        serial=SOURCE,
        status_reason=reason,
    )
    other = block(
        target, "tgt", 100, 199, target_status, scheme=scheme, origin=SOURCE if named else None
    )
    verdict = classify(source, other)
    if verdict is None or verdict.rule.link_kind is None:
        return
    first, second = verdict.first, verdict.second
    statuses, roles, target_statuses = ALLOWED[verdict.rule.link_kind]
    assert first.status in statuses, verdict.rule.name
    assert role_of(second.registry) in roles, verdict.rule.name
    assert second.status in target_statuses, verdict.rule.name


def _link_case(name: str) -> tuple[UnitBlock, UnitBlock]:
    from test_rules import CASES

    (a, b), _, _ = CASES[name]
    verdict = classify(a, b)
    assert verdict is not None and verdict.rule.name == name
    return verdict.first, verdict.second


_LINK_RULES = [r.name for r in RULES if r.link_kind is not None]


def _in_spec(kind: str, source: UnitBlock, target: UnitBlock) -> bool:
    statuses, roles, target_statuses = ALLOWED[kind]
    return (
        source.status in statuses
        and role_of(target.registry) in roles
        and target.status in target_statuses
    )


@settings(max_examples=300, deadline=None)
@given(
    rule=st.sampled_from(_LINK_RULES),
    side=st.sampled_from(["source", "target", "registry"]),
    status=st.sampled_from(_STATUSES),
    registry=st.sampled_from(_TARGETS),
)
def test_flipping_either_side_of_a_link_to_a_state_its_move_does_not_allow_is_an_alert(
    rule: str, side: str, status: str, registry: str
) -> None:
    """Issue 23 item 4. Every link rule's own case, one side changed: the source's status,
    the target's status or the target's registry. Where the change leaves the pair outside
    the move's spec, the pair is no link of that kind, and unless both sides are closed
    (nobody holds the units: nothing to record) it is an alert."""
    source, target = _link_case(rule)
    kind = next(r.link_kind for r in RULES if r.name == rule)
    assert kind is not None and _in_spec(kind, source, target)
    if side == "source":
        source = source.replace(status=status)
    elif side == "target":
        target = target.replace(status=status)
    else:
        target = target.replace(registry=registry, record_id=f"{registry}-x")
    if source.registry == target.registry:
        return
    found = classify(source, target)
    if _in_spec(kind, source, target):
        return
    if found is not None and found.rule.link_kind is not None:
        # another move may fit the changed pair (a national registry also receives a
        # transition), never one the spec forbids
        assert _in_spec(found.rule.link_kind, found.first, found.second), (rule, found.rule)
        return
    if {group_of(source.status), group_of(target.status)} == {"gone"}:
        assert found is None or found.rule.alert_kind is None
        return
    assert found is not None and found.rule.alert_kind is not None, (rule, side, status)


def test_expired_units_are_never_given_up_for_a_move() -> None:
    """Expired is not cancelled: units that lapsed in one registry and live in another,
    even one naming them, were issued twice."""
    named = block("srn-ppi", "s1", 100, 199, "issued", origin=SOURCE)
    assert kinds(verra("expired", "Cancelled for conversion"), named) == ["alert:double_issuance"]
    assert kinds(verra("cancelled", "Cancelled for conversion"), named) == ["link:conversion"]


def test_a_jcm_share_cancelled_not_transferred_is_no_mirror() -> None:
    cancelled = _jcm("jcm-indonesia", "cancelled", status_reason="Voluntary cancellation")
    received = _jcm("jcm-japan", "issued", origin=cancelled.serial)
    assert kinds(cancelled, received) == ["alert:double_issuance"]
    moved = cancelled.replace(status="transferred", status_reason="Transfer to JCM Japan")
    assert kinds(moved, received) == ["link:mirror"]


def test_a_block_numbered_its_own_way_is_never_range_compared() -> None:
    """Issue 16: records carrying quantities per project and vintage (numbering ``own``)
    overlap nothing, even where their 1..quantity ranges meet another block's."""
    own = block("carb", "CAMM1051-B", 100, 199, "issued", numbering="own")
    assert kinds(verra("issued"), own) == []
    assert kinds(own, block("carb", "CAMM1051-C", 150, 250, "issued", numbering="own")) == []
    assert kinds(verra("issued"), block("srn-ppi", "s1", 100, 199, "issued")) == [
        "alert:double_issuance"
    ]


def test_references_round_trip_sorted_and_checked() -> None:
    import pytest

    from metaregistry.model import references_of, references_text

    text = references_text(
        [("opr_project_comment", "acr", "ACR258"), ("opr_project", "car", "CAR992")]
    )
    assert text == "opr_project=car:CAR992; opr_project_comment=acr:ACR258"
    assert references_of(text) == [
        ("opr_project", "car", "CAR992"),
        ("opr_project_comment", "acr", "ACR258"),
    ]
    assert references_text([]) is None
    with pytest.raises(ValueError, match="not a reference"):
        references_text([("Bad Kind", "acr", "1")])


def test_a_cancellation_naming_a_bridge_is_no_conversion_into_a_national_registry() -> None:
    """The source says the units went to a bridge; the national registry that names them is
    not one: the sides disagree about the move, the units are live twice."""
    named = block("srn-ppi", "s1", 100, 199, "issued", origin=SOURCE)
    reason = "Cancelled for tokenization: bridged to Toucan Protocol (TCO2)"
    assert kinds(verra("cancelled", reason), named) == ["alert:double_issuance"]
    cdm = "RW-5-100-0-0-1234 - RW-5-199-0-0-1234"
    source = block(
        "cdm-registry", "c1", 100, 199, "cancelled", scheme="cdm", scope="RW-5", serial=cdm
    )
    gold = block("gold-standard", "g1", 100, 199, "issued", scheme="cdm", scope="RW-5", serial=cdm)
    assert kinds(source, gold) == ["link:transition"]
    bridged = source.replace(status_reason="Cancelled to bridge the CERs on-chain")
    assert kinds(bridged, gold) == ["alert:double_issuance"]
