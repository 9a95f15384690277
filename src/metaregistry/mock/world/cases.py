"""The planted cases: every pattern of DOMAIN.md, legitimate and double counting, in exact and
partial variants. Each maker writes the records of one case (sometimes context records too,
such as the rest of a split issuance) and returns the two blocks whose overlap the truth names.

Every case gets fresh numbers with unallocated slack after them, so nothing outside the case
shares its units: a detector that reports anything else has made a mistake. The construction
of each pattern (statuses, reasons, origin links, Article 6 state) is listed in README.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from metaregistry.mock.world.issuer import JCM_PARTNER_LEDGERS, Issuer
from metaregistry.mock.world.model import Block

__all__ = ["PATTERNS", "Pattern", "Planted"]

CONVERSION_REASON: Final = "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)"
TRANSITION_REASON: Final = "Transferred to the Gold Standard (CDM activity transition)"


@dataclass(slots=True)
class Planted:
    """What a maker returns: the pair of blocks of the case and a plain-language note."""

    first: Block
    second: Block
    note: str


Maker = Callable[[Issuer, int, bool], Planted]


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    legitimate: bool
    variants: int
    make: Maker


# ---- fresh sources, with slack after them that nobody holds


def _verra_source(issuer: Issuer, quantity: int) -> Block:
    project = issuer.project("verra")
    day = issuer.day()
    start, end = issuer.numbering.take_vcs(quantity, quantity + 100)
    batch = issuer.numbering.batch("vcs", 20000)
    return issuer.verra(project, issuer.vintage(day), batch, start, end, day)


def _gs_source(issuer: Issuer, quantity: int) -> Block:
    day = issuer.day()
    batch = issuer.numbering.batch("gs", 30000)
    project = issuer.project("gold-standard")
    return issuer.gold_standard(project, issuer.vintage(day), batch, 1, quantity, day)


def _size(issuer: Issuer) -> int:
    return max(10, issuer.quantity(1.5, 4.0))


def _set(block: Block, status: str, day: int, reason: str | None) -> Block:
    block.status, block.status_on, block.reason = status, day, reason
    return block


def _split_off(issuer: Issuer, block: Block, least: int = 1) -> tuple[Block, Block]:
    """``block`` cut in two adjacent parts, the first of at least ``least`` units, the second
    of at least one (requires ``quantity > least``)."""
    cut = block.start + least - 1 + issuer.rng.randrange(block.quantity - least)
    return issuer.part(block, block.start, cut), issuer.part(block, cut + 1, block.end)


def _source_and_rest(issuer: Issuer, source: Block, partial: bool) -> Block:
    """In a partial case the source registry keeps part of the issuance live: write that rest
    and return the part the case uses."""
    if not partial:
        return source
    used, rest = _split_off(issuer, source, least=2)
    issuer.add(rest)
    return used


def _target_used_part(issuer: Issuer, target: Block, partial: bool, reason: str) -> Block:
    """Write the target; in a partial case split it into a used part (returned) and a live
    rest, so the pair overlaps on a sub-range."""
    if not partial:
        return issuer.add(target)
    used, rest = _split_off(issuer, target)
    issuer.add(_set(used, "retired", issuer.after(target.issued_on), reason))
    issuer.add(rest)
    return used


# ---- legitimate


def conversion(issuer: Issuer, variant: int, partial: bool) -> Planted:
    quantity = _size(issuer)
    source = _verra_source(issuer, quantity) if variant == 0 else _gs_source(issuer, quantity)
    source = _source_and_rest(issuer, source, partial)
    day = issuer.after(source.issued_on)
    issuer.add(_set(source, "cancelled", day, CONVERSION_REASON))
    target = issuer.converted(source, issuer.after(day, 30))
    used = _target_used_part(issuer, target, partial, "Penggunaan untuk pemenuhan kewajiban")
    return Planted(
        source, used, f"{source.registry} units cancelled for conversion, live as SPE-GRK"
    )


def transition(issuer: Issuer, variant: int, partial: bool) -> Planted:
    project = issuer.project("cdm")
    quantity = _size(issuer)
    start, end = issuer.numbering.take_cdm(project.country, quantity, quantity + 100)
    source = issuer.cdm(project, start, end, issuer.day())
    day = issuer.after(source.issued_on)
    issuer.add(_set(source, "cancelled", day, TRANSITION_REASON))
    target = Block(
        "gold-standard",
        source.serial,
        "cdm",
        source.scope,
        start,
        end,
        "issued",
        project,
        source.vintage,
        issuer.after(day, 60),
        product="CER",
    )
    used = _target_used_part(issuer, target, partial, "Retired: voluntary use of transitioned CERs")
    return Planted(source, used, "CDM CERs cancelled in the CDM registry, live in Gold Standard")


def _jcm_issuance(issuer: Issuer, partner: str) -> tuple[Block, Block]:
    """An issuance with Japan's share and the partner's share (not written)."""
    project = issuer.project(f"jcm-{partner.lower()}")
    day = issuer.day()
    total = max(20, issuer.quantity(1.5, 4.0))
    issuance = issuer.numbering.batch(f"jcm-{partner}")
    vintage = issuer.vintage(day)
    cut = issuer.rng.randrange(2, total - 2)
    japan = issuer.jcm("jcm-japan", project, vintage, issuance, 1, cut, day, total)
    other = JCM_PARTNER_LEDGERS[partner]
    mate = issuer.jcm(other, project, vintage, issuance, cut + 1, total, day, total)
    return japan, mate


def _transfer(issuer: Issuer, share: Block, to: Block, start: int, end: int) -> tuple[Block, Block]:
    """Move ``start..end`` of ``share`` to the ledger of ``to``: writes the share's other parts
    and returns (transferred holding on the source, received holding on the target), unwritten."""
    if start > share.start:
        issuer.add(issuer.part(share, share.start, start - 1))
    if end < share.end:
        issuer.add(issuer.part(share, end + 1, share.end))
    day = issuer.after(share.issued_on)
    moved = _set(issuer.part(share, start, end), "transferred", day, "Transferred between ledgers")
    moved.counterpart = to.registry.removeprefix("jcm-")
    received = issuer.part(to, start, end)
    received.serial, received.issued_on = moved.serial, day
    received.origin, received.counterpart = moved.serial, share.registry.removeprefix("jcm-")
    return moved, received


def jcm_mirror(issuer: Issuer, variant: int, partial: bool) -> Planted:
    japan, mate = _jcm_issuance(issuer, "ID" if variant == 0 else "TH")
    source, target = (mate, japan) if variant == 0 else (japan, mate)
    issuer.add(target)
    a = source.start + issuer.rng.randrange(source.quantity // 2 + 1)
    moved, received = _transfer(issuer, source, target, a, source.end)
    issuer.add(moved)
    used = _target_used_part(issuer, received, partial, "Retired for NDC use")
    return Planted(moved, used, "JCM holding transferred between ledgers: the legitimate mirror")


_BRIDGES: Final = (("toucan", "Toucan Protocol (TCO2)"), ("regen", "Regen Ledger (C01)"))


def tokenization(issuer: Issuer, variant: int, partial: bool) -> Planted:
    bridge, label = _BRIDGES[variant]
    source = _source_and_rest(issuer, _verra_source(issuer, _size(issuer)), partial)
    day = issuer.after(source.issued_on)
    issuer.add(_set(source, "retired", day, f"Retired for tokenization: bridged to {label}"))
    token = issuer.bridged(bridge, source, source.start, source.end, day)
    used = _target_used_part(issuer, token, partial, "Retired on-chain (offset claim)")
    return Planted(source, used, f"Verra VCUs retired for tokenization, live on {bridge}")


def compliance_move(issuer: Issuer, variant: int, partial: bool) -> Planted:
    registry = "acr" if variant == 0 else "car"
    project = issuer.project(registry)
    day = issuer.day()
    batch = issuer.numbering.batch(registry, 3000 if registry == "acr" else 9000)
    source = issuer.us_registry(
        registry, project, issuer.vintage(day), batch, 1, _size(issuer), day
    )
    source = _source_and_rest(issuer, source, partial)
    reason = "Convert to ARB offset credits" if registry == "acr" else "ARB"
    issuer.add(_set(source, "cancelled", issuer.after(day), reason))
    native = f"CAFR{5000 + issuer.rng.randrange(5000)}-A"
    carb = issuer.held_elsewhere(
        "carb", source, source.start, source.end, native, source.status_on or day
    )
    used = _target_used_part(
        issuer, carb, partial, "Retired for compliance (4th compliance period)"
    )
    return Planted(source, used, f"{registry.upper()} credits moved into California's program")


# ---- double counting


def _shifted(issuer: Issuer, source: Block, partial: bool) -> tuple[int, int]:
    """The range a second claim covers: the source's own, or (partial) one starting inside it
    and running into the unallocated slack after it."""
    if not partial:
        return source.start, source.end
    start = source.start + 1 + issuer.rng.randrange(source.quantity - 1)
    return start, source.end + 1 + issuer.rng.randrange(source.quantity // 2 + 1)


def _renumbered(issuer: Issuer, block: Block, start: int, end: int) -> Block:
    return issuer.part(block, start, end)


def double_issuance(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 1:
        japan, mate = _jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        if partial:
            japan = issuer.part(japan, 1, mate.start + issuer.rng.randrange(mate.quantity))
        else:
            japan, mate = issuer.part(japan, 1, mate.end), issuer.part(mate, 1, mate.end)
        issuer.add(japan)
        issuer.add(mate)
        return Planted(japan, mate, "JCM shares of one issuance overlap across the ledgers")
    source = issuer.add(_verra_source(issuer, _size(issuer)))
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
    if variant == 2:
        japan, mate = _jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        upper = mate.start + issuer.rng.randrange(mate.quantity) if partial else mate.end
        first = _set(
            issuer.part(japan, 1, upper), "retired", issuer.after(japan.issued_on), "NDC use"
        )
        second = _set(
            mate, "retired", issuer.after(mate.issued_on), "Voluntary use in partner country"
        )
        issuer.add(first)
        issuer.add(second)
        return Planted(first, second, "JCM units retired on both ledgers")
    source = (
        _verra_source(issuer, _size(issuer)) if variant == 0 else _gs_source(issuer, _size(issuer))
    )
    issuer.add(_set(source, "retired", issuer.after(source.issued_on), issuer.reason()))
    start, end = _shifted(issuer, source, partial)
    claimed = issuer.part(source, start, end)
    day = issuer.after(source.issued_on)
    if variant == 0:
        other = issuer.bridged("toucan", claimed, start, end, day)
    else:
        other = issuer.converted(claimed, day)
    issuer.add(_set(other, "retired", issuer.after(day), "Retired for a second claim"))
    return Planted(source, other, f"units retired in {source.registry} and in {other.registry}")


def use_after_transfer(issuer: Issuer, variant: int, partial: bool) -> Planted:
    if variant == 1:
        japan, mate = _jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        moved, received = _transfer(issuer, mate, japan, mate.start, mate.end)
        issuer.add(moved)
        issuer.add(received)
        a, b = _inside(issuer, moved, partial)
        late = _set(
            issuer.part(mate, a, b), "retired", issuer.after(moved.status_on or 0), "Retired"
        )
        issuer.add(late)
        return Planted(late, received, "units retired on a JCM ledger after being transferred out")
    source = _verra_source(issuer, _size(issuer))
    day = issuer.after(source.issued_on)
    if variant == 0:
        issuer.add(_set(source, "cancelled", day, CONVERSION_REASON))
        target = issuer.add(issuer.converted(source, issuer.after(day, 30)))
        # Verra's record id is the serial: the late retirement is never the very same range.
        a, b = _inside(issuer, source, partial) if partial else (source.start, source.end - 1)
        late = _set(issuer.part(source, a, b), "retired", issuer.after(day + 30), issuer.reason())
        issuer.add(late)
        return Planted(
            late, target, "VCUs retired in Verra after their cancellation for conversion"
        )
    # Article 6: retired voluntarily in Verra while first-transferred as ITMOs, no adjustment.
    issuer.add(_set(source, "retired", day, issuer.reason()))
    start, end = _shifted(issuer, source, partial)
    target = issuer.converted(issuer.part(source, start, end), issuer.after(day, 30))
    target.a6 = issuer.article6(target.issued_on, "not-applied", transferred=True, party="ID")
    issuer.add(
        _set(target, "transferred", target.a6.first_transfer_on or day, "Transfer pertama ITMO")
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
    if variant == 1:
        japan, mate = _jcm_issuance(issuer, issuer.rng.choice(("ID", "TH")))
        issuer.add(japan)
        moved, received = _transfer(issuer, mate, japan, mate.start, mate.end)
        issuer.add(moved)
        extra = 1 + issuer.rng.randrange(mate.quantity // 2 + 1)
        bigger = issuer.part(received, received.start, received.end + extra)
        bigger.serial = issuer.part(moved, moved.start, moved.end + extra).serial
        issuer.add(bigger)
        return Planted(
            moved, bigger, "JCM transfer received with more units than the issuance holds"
        )
    if variant == 0:
        source = _verra_source(issuer, _size(issuer))
        reason = CONVERSION_REASON
    else:
        project = issuer.project("acr")
        day = issuer.day()
        batch = issuer.numbering.batch("acr", 3000)
        source = issuer.us_registry(
            "acr", project, issuer.vintage(day), batch, 1, _size(issuer), day
        )
        reason = "Convert to ARB offset credits"
    source = _source_and_rest(issuer, source, partial)
    day = issuer.after(source.issued_on)
    issuer.add(_set(source, "cancelled", day, reason))
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
    quantity = _size(issuer)
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
        first = _verra_source(issuer, quantity)
    else:
        first = _gs_source(issuer, quantity)
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


PATTERNS: Final = (
    Pattern("conversion", True, 2, conversion),
    Pattern("transition", True, 1, transition),
    Pattern("jcm-mirror", True, 2, jcm_mirror),
    Pattern("tokenization", True, 2, tokenization),
    Pattern("compliance-move", True, 2, compliance_move),
    Pattern("double-issuance", False, 3, double_issuance),
    Pattern("double-use", False, 3, double_use),
    Pattern("use-after-transfer", False, 3, use_after_transfer),
    Pattern("quantity-mismatch", False, 3, quantity_mismatch),
    Pattern("internal-overlap", False, 4, internal_overlap),
)
