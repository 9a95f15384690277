"""Issue 23's ground truth: every legitimate pattern with one side changed to something its
move does not allow, and near misses that look like contradictions but stay links.

A link needs both sides to agree with the move (:mod:`metaregistry.detect.rules`): the source
gave the units up the way the move requires, the target is a registry that can receive it.
``flipped_source`` plants each legitimate pattern with its source in a state the move does not
allow (retired instead of cancelled, expired, cancelled instead of transferred or retired,
never cancelled); ``flipped_target`` each move into a registry that cannot receive it (a
compliance move or a transition onto a bridge, a conversion into CARB). Each case names the
alert kind its states say. ``near_miss`` plants moves whose other details look suspicious (a
converted certificate passed on as an ITMO, a JCM mirror first-transferred as ITMOs, a token
naming no origin, a source transferred rather than cancelled): each stays a link.
"""

from __future__ import annotations

from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.model import Block
from metaregistry.mock.world.planting import (
    CONVERSION_REASON,
    TRANSITION_REASON,
    Planted,
    jcm_issuance,
    size,
    source_and_rest,
    target_used_part,
    transfer,
    verra_source,
    with_status,
)

__all__ = ["flipped_source", "flipped_target", "near_miss"]

_TOKENIZATION_REASON = "Retired for tokenization: bridged to Toucan Protocol (TCO2)"


def _upper(issuer: Issuer, block: Block, partial: bool) -> int:
    """Where a partial target stops inside ``block`` (its end for an exact one)."""
    if not partial or block.quantity < 2:
        return block.end
    return block.start + issuer.rng.randrange(block.quantity - 1)


def _cdm_source(issuer: Issuer) -> Block:
    project = issuer.project("cdm")
    quantity = size(issuer)
    start, end = issuer.numbering.take_cdm(project.country, quantity, quantity + 100)
    return issuer.cdm(project, start, end, issuer.day())


def _gs_cers(issuer: Issuer, source: Block, end: int, issued_on: int) -> Block:
    """Gold Standard's record of CDM CERs, carrying their CDM serial (as after a transition)."""
    return Block(
        "gold-standard",
        issuer.part(source, source.start, end).serial,
        "cdm",
        source.scope,
        source.start,
        end,
        "issued",
        source.project,
        source.vintage,
        issued_on,
        product="CER",
    )


def _us_source(issuer: Issuer, registry: str, partial: bool) -> Block:
    project = issuer.project(registry)
    day = issuer.day()
    batch = issuer.numbering.batch(registry, 3000 if registry == "acr" else 9000)
    source = issuer.us_registry(registry, project, issuer.vintage(day), batch, 1, size(issuer), day)
    return source_and_rest(issuer, source, partial)


def _carb(issuer: Issuer, source: Block, end: int, day: int) -> Block:
    native = f"CAFR{5000 + issuer.rng.randrange(5000)}-A"
    return issuer.held_elsewhere("carb", source, source.start, end, native, day)


def flipped_source(issuer: Issuer, variant: int, partial: bool) -> Planted:
    """A legitimate pattern whose source gave the units up in a way its move does not allow:
    0 conversion (Verra retired, not cancelled), 1 transition (CDM CERs expired, not
    cancelled), 2 JCM mirror (the share cancelled, not transferred), 3 tokenization (Verra
    cancelled, not retired for the bridge), 4 compliance move (ACR never cancelled)."""
    if variant == 0:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        reason = CONVERSION_REASON.replace("Cancelled", "Retired")
        issuer.add(with_status(source, "retired", day, reason))
        target = issuer.converted(source, issuer.after(day, 30))
        target = issuer.add(issuer.part(target, target.start, _upper(issuer, target, partial)))
        return Planted(
            source,
            target,
            "conversion with its source retired, not cancelled: the VCUs claimed in Verra, "
            "live as SPE-GRK",
            kind="use_after_transfer",
        )
    if variant == 1:
        source = _cdm_source(issuer)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "expired", day, "tCERs expired"))
        end = _upper(issuer, source, partial)
        target = issuer.add(_gs_cers(issuer, source, end, issuer.after(day, 60)))
        return Planted(
            source,
            target,
            "transition with its source expired, not cancelled: CERs lapsed in the CDM "
            "registry, live in Gold Standard",
            kind="double_issuance",
        )
    if variant == 2:
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        moved, received = transfer(issuer, mate, japan, mate.start, mate.end)
        issuer.add(with_status(moved, "cancelled", moved.status_on or 0, "Voluntary cancellation"))
        received = issuer.add(issuer.part(received, received.start, _upper(issuer, moved, partial)))
        return Planted(
            moved,
            received,
            "JCM mirror with its source cancelled, not transferred: the other ledger holds "
            "units cancelled on the first",
            kind="double_issuance",
        )
    if variant == 3:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        reason = _TOKENIZATION_REASON.replace("Retired", "Cancelled")
        issuer.add(with_status(source, "cancelled", day, reason))
        token = issuer.bridged("toucan", source, source.start, _upper(issuer, source, partial), day)
        issuer.add(token)
        return Planted(
            source,
            token,
            "tokenization with its source cancelled, not retired for the bridge: live as tokens",
            kind="double_issuance",
        )
    source = _us_source(issuer, "acr", partial)
    source.generic = True  # ACR's reports list live credits by project, never by serial
    issuer.add(source)
    carb = issuer.add(
        _carb(issuer, source, _upper(issuer, source, partial), issuer.after(source.issued_on))
    )
    return Planted(
        source,
        carb,
        "compliance move with its source never cancelled: ACR credits live, and live in CARB",
        kind="double_issuance",
    )


def flipped_target(issuer: Issuer, variant: int, partial: bool) -> Planted:
    """A legitimate pattern's source, its units received by a registry that cannot receive
    that move: 0 a compliance move onto a bridge, 1 a conversion into CARB, 2 a transition
    onto a bridge, 3 units cancelled for a bridge held by a national registry instead."""
    if variant == 0:
        source = _us_source(issuer, "acr", partial)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "cancelled", day, "Convert to ARB offset credits"))
        token = issuer.bridged("toucan", source, source.start, _upper(issuer, source, partial), day)
        issuer.add(token)
        return Planted(
            source,
            token,
            "ACR credits cancelled to convert to ARB offsets, live as tokens on a bridge",
            kind="double_issuance",
        )
    if variant == 1:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "cancelled", day, CONVERSION_REASON))
        carb = issuer.add(_carb(issuer, source, _upper(issuer, source, partial), day))
        return Planted(
            source,
            carb,
            "VCUs cancelled for conversion to SPE-GRK, live in CARB instead",
            kind="double_issuance",
        )
    if variant == 3:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        reason = _TOKENIZATION_REASON.replace("Retired", "Cancelled")
        issuer.add(with_status(source, "cancelled", day, reason))
        target = issuer.converted(source, issuer.after(day, 30))
        target = issuer.add(issuer.part(target, target.start, _upper(issuer, target, partial)))
        return Planted(
            source,
            target,
            "VCUs cancelled to bridge them to Toucan, live as SPE-GRK naming them instead",
            kind="double_issuance",
        )
    source = _cdm_source(issuer)
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "cancelled", day, TRANSITION_REASON))
    token = issuer.bridged("toucan", source, source.start, _upper(issuer, source, partial), day)
    issuer.add(token)
    return Planted(
        source,
        token,
        "CDM CERs cancelled for a transition to Gold Standard, live as tokens on a bridge",
        kind="double_issuance",
    )


def near_miss(issuer: Issuer, variant: int, partial: bool) -> Planted:
    """Moves both sides agree with, whatever else looks odd: 0 a conversion whose SPE-GRK was
    then first-transferred as ITMOs (CA applied), 1 a JCM mirror first-transferred as ITMOs
    (CA applied) and retired by the receiving ledger for its NDC, 2 a tokenization whose token
    names no origin, 3 a compliance move whose source was transferred rather than cancelled."""
    if variant == 0:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "cancelled", day, CONVERSION_REASON))
        target = issuer.converted(source, issuer.after(day, 30))
        target = issuer.part(target, target.start, _upper(issuer, target, partial))
        target.a6 = issuer.article6(target.issued_on, "applied", transferred=True, party="ID")
        moved_on = target.a6.first_transfer_on or target.issued_on
        issuer.add(with_status(target, "transferred", moved_on, "Transfer pertama ITMO"))
        return Planted(
            source,
            target,
            "VCUs cancelled for conversion; the SPE-GRK first-transferred as ITMOs (CA applied)",
            kind="conversion",
        )
    if variant == 1:
        partner = issuer.rng.choice(("ID", "TH"))
        japan, mate = jcm_issuance(issuer, partner)
        issuer.add(japan)
        moved, received = transfer(issuer, mate, japan, mate.start, mate.end)
        moved.a6 = issuer.article6(mate.issued_on, "applied", transferred=True, party=partner)
        moved.reason = "First transfer of ITMOs to the JCM registry of Japan"
        issuer.add(moved)
        used = target_used_part(issuer, received, partial, "Retired for NDC use")
        return Planted(
            moved,
            used,
            "JCM share first-transferred as ITMOs (CA applied) to Japan, which retires them",
            kind="mirror",
        )
    if variant == 2:
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "retired", day, _TOKENIZATION_REASON))
        token = issuer.bridged("toucan", source, source.start, source.end, day)
        token.origin = token.origin_registry = None
        used = target_used_part(issuer, token, partial, "Retired on-chain (offset claim)")
        return Planted(
            source,
            used,
            "VCUs retired for tokenization; the token names no origin",
            kind="tokenization",
        )
    source = _us_source(issuer, "acr", partial)
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "transferred", day, "Convert to ARB offset credits"))
    carb = _carb(issuer, source, source.end, day)
    used = target_used_part(issuer, carb, partial, "Retired for compliance")
    return Planted(
        source,
        used,
        "ACR credits transferred (not cancelled) to convert to ARB offsets, held in CARB",
        kind="compliance_move",
    )
