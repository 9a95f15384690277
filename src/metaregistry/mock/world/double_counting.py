"""The double-counting patterns (DOMAIN.md): double issuance, double use, use after transfer,
quantity mismatch and internal overlap. Each maker writes one case and returns its two blocks;
detection should raise one alert of the pattern's kind covering their overlap."""

from __future__ import annotations

from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.model import Block
from metaregistry.mock.world.planting import (
    CONVERSION_REASON,
    Planted,
    gs_source,
    jcm_issuance,
    size,
    source_and_rest,
    transfer,
    verra_source,
    with_status,
)

__all__ = [
    "double_issuance",
    "double_use",
    "internal_overlap",
    "quantity_mismatch",
    "use_after_transfer",
]


def _shifted(issuer: Issuer, source: Block, partial: bool) -> tuple[int, int]:
    """The range a second claim covers: the source's own, or (partial) one starting inside it
    and running into the unallocated slack after it."""
    if not partial:
        return source.start, source.end
    start = source.start + 1 + issuer.rng.randrange(source.quantity - 1)
    return start, source.end + 1 + issuer.rng.randrange(source.quantity // 2 + 1)


def _itmo(issuer: Issuer, source: Block, partial: bool, ca: str) -> Block:
    """Part of ``source`` converted into SPE-GRK (naming it) and first-transferred as an ITMO
    with the corresponding adjustment in state ``ca``: written."""
    start, end = _inside(issuer, source, partial) if partial else (source.start, source.end)
    target = issuer.converted(issuer.part(source, start, end), issuer.after(source.issued_on, 30))
    target.a6 = issuer.article6(target.issued_on, ca, transferred=True, party="ID")
    return issuer.add(
        with_status(
            target,
            "transferred",
            target.a6.first_transfer_on or target.issued_on,
            "Transfer pertama ITMO",
        )
    )


def double_issuance(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 3:
        # issue 23: an ITMO first-transferred with its adjustment applied, from units the
        # standard still shows issued (never cancelled for the conversion): counted twice
        source = issuer.add(verra_source(issuer, size(issuer)))
        target = _itmo(issuer, source, partial, "applied")
        return Planted(target, source, "ITMO first-transferred (CA applied); VCUs still live")
    if variant == 4:
        # issue 23: a cancellation for no move (a buffer contribution), the units live on a
        # bridge: the reason is not a move the bridge can receive
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        issuer.add(with_status(source, "cancelled", day, "Buffer contribution for a reversal"))
        token = issuer.add(issuer.bridged("toucan", source, source.start, source.end, day))
        return Planted(source, token, "VCUs cancelled for a buffer contribution, live as tokens")
    if variant == 1:
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        if partial:
            japan = issuer.part(japan, 1, mate.start + issuer.rng.randrange(mate.quantity))
        else:
            japan, mate = issuer.part(japan, 1, mate.end), issuer.part(mate, 1, mate.end)
        issuer.add(japan)
        issuer.add(mate)
        return Planted(japan, mate, "JCM shares of one issuance overlap across the ledgers")
    source = issuer.add(verra_source(issuer, size(issuer)))
    start, end = _shifted(issuer, source, partial)
    claimed = issuer.part(source, start, end)
    if variant == 0:
        other = issuer.converted(claimed, issuer.after(source.issued_on))
        note = "VCUs live in Verra and, never cancelled, live as SPE-GRK in SRN-PPI"
    else:
        other = issuer.bridged("toucan", claimed, start, end, source.issued_on)
        note = "VCUs live in Verra and, never retired for bridging, live as tokens"
    issuer.add(other)
    return Planted(source, other, note)


def double_use(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 3:
        # issue 23: an ITMO first-transferred with its adjustment applied while the standard
        # shows the same units retired voluntarily: the buyer's claim and the retirement
        source = verra_source(issuer, size(issuer))
        issuer.add(with_status(source, "retired", issuer.after(source.issued_on), issuer.reason()))
        target = _itmo(issuer, source, partial, "applied")
        return Planted(target, source, "ITMO first-transferred (CA applied); VCUs also retired")
    if variant == 4:
        # issue 23: one JCM ledger first-transfers its share as ITMOs, the other ledger
        # retires the same units for its own claim (it never received them)
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        day = issuer.after(mate.issued_on)
        mate.a6 = issuer.article6(mate.issued_on, "applied", transferred=True, party="ID")
        moved = issuer.add(with_status(mate, "transferred", day, "First transfer of ITMOs"))
        upper = mate.start + issuer.rng.randrange(mate.quantity) if partial else mate.end
        claim = with_status(
            issuer.part(japan, 1, upper), "retired", issuer.after(day), "Retired for NDC use"
        )
        issuer.add(claim)
        return Planted(moved, claim, "JCM ITMOs first-transferred; the other ledger retires them")
    if variant == 2:
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        upper = mate.start + issuer.rng.randrange(mate.quantity) if partial else mate.end
        first = with_status(
            issuer.part(japan, 1, upper), "retired", issuer.after(japan.issued_on), "NDC use"
        )
        second = with_status(
            mate, "retired", issuer.after(mate.issued_on), "Voluntary use in partner country"
        )
        issuer.add(first)
        issuer.add(second)
        return Planted(first, second, "JCM units retired on both ledgers")
    source = verra_source(issuer, size(issuer)) if variant == 0 else gs_source(issuer, size(issuer))
    issuer.add(with_status(source, "retired", issuer.after(source.issued_on), issuer.reason()))
    start, end = _shifted(issuer, source, partial)
    claimed = issuer.part(source, start, end)
    day = issuer.after(source.issued_on)
    if variant == 0:
        other = issuer.bridged("toucan", claimed, start, end, day)
    else:
        other = issuer.converted(claimed, day)
    issuer.add(with_status(other, "retired", issuer.after(day), "Retired for a second claim"))
    return Planted(source, other, f"units retired in {source.registry} and in {other.registry}")


def use_after_transfer(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 4:
        # issue 23: first-transferred as ITMOs with the adjustment still pending, the VCUs
        # retired voluntarily within the window a host has to apply it: a low note
        source = verra_source(issuer, size(issuer))
        target = _itmo(issuer, source, partial, "pending")
        moved_on = target.a6.first_transfer_on if target.a6 else None
        day = (moved_on or target.issued_on) + 1 + issuer.rng.randrange(300)
        issuer.add(with_status(source, "retired", day, issuer.reason()))
        return Planted(
            target,
            source,
            "ITMO first-transferred, CA pending; VCUs retired inside the adjustment's window",
            severity="low",
        )
    if variant == 3:
        # issue 23: a retirement worded "for tokenization" whose units are live in a national
        # registry, not on a bridge: the reason alone is no tokenization
        source = source_and_rest(issuer, verra_source(issuer, size(issuer)), partial)
        day = issuer.after(source.issued_on)
        issuer.add(
            with_status(source, "retired", day, "Retired for tokenization: bridged to Toucan")
        )
        target = issuer.add(issuer.converted(source, issuer.after(day, 30)))
        return Planted(source, target, "retired 'for tokenization', live in SRN-PPI")
    if variant == 1:
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        moved, received = transfer(issuer, mate, japan, mate.start, mate.end)
        issuer.add(moved)
        issuer.add(received)
        a, b = _inside(issuer, moved, partial)
        late = with_status(
            issuer.part(mate, a, b), "retired", issuer.after(moved.status_on or 0), "Retired"
        )
        issuer.add(late)
        return Planted(late, received, "units retired on a JCM ledger after being transferred out")
    source = verra_source(issuer, size(issuer))
    day = issuer.after(source.issued_on)
    if variant == 0:
        issuer.add(with_status(source, "cancelled", day, CONVERSION_REASON))
        target = issuer.add(issuer.converted(source, issuer.after(day, 30)))
        # Verra's record id is the serial: the late retirement is never the very same range.
        a, b = _inside(issuer, source, partial) if partial else (source.start, source.end - 1)
        late = with_status(
            issuer.part(source, a, b), "retired", issuer.after(day + 30), issuer.reason()
        )
        issuer.add(late)
        return Planted(
            late, target, "VCUs retired in Verra after their cancellation for conversion"
        )
    # Article 6: retired voluntarily in Verra while first-transferred as ITMOs, no adjustment.
    issuer.add(with_status(source, "retired", day, issuer.reason()))
    start, end = _shifted(issuer, source, partial)
    target = issuer.converted(issuer.part(source, start, end), issuer.after(day, 30))
    target.a6 = issuer.article6(target.issued_on, "not-applied", transferred=True, party="ID")
    issuer.add(
        with_status(
            target, "transferred", target.a6.first_transfer_on or day, "Transfer pertama ITMO"
        )
    )
    return Planted(
        source, target, "VCUs retired voluntarily and first-transferred as ITMOs without CA"
    )


def _inside(issuer: Issuer, block: Block, partial: bool) -> tuple[int, int]:
    if not partial or block.quantity < 3:
        return block.start, block.end
    a = block.start + 1 + issuer.rng.randrange(block.quantity - 2)
    return a, a + issuer.rng.randrange(block.end - a + 1)


def quantity_mismatch(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 3:
        # issue 23: the partner ledger's share reaches past the issuance's stated total, with
        # no move between the ledgers: the two shares add up to more than was issued
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        extra = 1 + issuer.rng.randrange(max(1, mate.quantity // 2))
        over = issuer.add(issuer.part(mate, mate.start, mate.end + extra))
        return Planted(over, over, "JCM shares adding up to more than the issuance's total")
    if variant == 1:
        japan, mate = jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        moved, received = transfer(issuer, mate, japan, mate.start, mate.end)
        issuer.add(moved)
        extra = 1 + issuer.rng.randrange(mate.quantity // 2 + 1)
        bigger = issuer.part(received, received.start, received.end + extra)
        bigger.serial = issuer.part(moved, moved.start, moved.end + extra).serial
        issuer.add(bigger)
        return Planted(
            moved, bigger, "JCM transfer received with more units than the issuance holds"
        )
    if variant == 0:
        source = verra_source(issuer, size(issuer))
        reason = CONVERSION_REASON
    else:
        project = issuer.project("acr")
        day = issuer.day()
        batch = issuer.numbering.batch("acr", 3000)
        source = issuer.us_registry(
            "acr", project, issuer.vintage(day), batch, 1, size(issuer), day
        )
        reason = "Convert to ARB offset credits"
    source = source_and_rest(issuer, source, partial)
    day = issuer.after(source.issued_on)
    issuer.add(with_status(source, "cancelled", day, reason))
    extra = 1 + issuer.rng.randrange(source.quantity // 2 + 1)
    if variant == 0:
        target = issuer.converted(source, issuer.after(day, 30), origin_end=source.end + extra)
    else:
        native = f"CAFR{5000 + issuer.rng.randrange(5000)}-A"
        target = issuer.held_elsewhere(
            "carb", source, source.start, source.end + extra, native, day
        )
    issuer.add(target)
    return Planted(
        source, target, f"{target.registry} holds more units than {source.registry} gave up"
    )


def internal_overlap(issuer: Issuer, variant: int, partial: bool) -> Planted:
    quantity = size(issuer)
    day = issuer.day()
    if variant == 0:
        batch = issuer.numbering.batch("spe-grk")
        first = issuer.spe_grk(
            issuer.project("srn-ppi"), issuer.vintage(day), batch, 1, quantity, day
        )
    elif variant == 1:
        batch = issuer.numbering.batch("tver")
        first = issuer.tver(issuer.project("tccr"), issuer.vintage(day), batch, 1, quantity, day)
    elif variant == 2:
        first = verra_source(issuer, quantity)
    else:
        first = gs_source(issuer, quantity)
    start, end = _shifted(issuer, first, partial)
    second = issuer.part(first, start, end)
    if second.serial == first.serial:
        second.serial = _duplicate_serial(first)
    issuer.add(first)
    issuer.add(second)
    return Planted(first, second, f"two live {first.registry} records claim the same units")


def _duplicate_serial(block: Block) -> str:
    """Another serial for the very same units: Verra and Gold Standard key records by serial,
    so an exact duplicate is listed under another batch id (Verra) or project type code (GS),
    as a data-entry error would."""
    head, _, rest = block.serial.partition("-")
    if block.registry == "verra":
        return f"{int(head) + 500000}-{rest}"
    if block.registry == "gold-standard":
        tokens = block.serial.split("-")
        tokens[4] = str(int(tokens[4]) + 1)
        return "-".join(tokens)
    return block.serial
