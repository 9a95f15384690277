"""What the planted cases are built from: fresh sources with unallocated numbers after them,
JCM issuances and transfers between ledgers, and the split of a block into a used part and a
live rest (how partial overlaps arise)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from metaregistry.mock.world.issuer import JCM_PARTNER_LEDGERS, Issuer
from metaregistry.mock.world.model import Block

__all__ = [
    "CONVERSION_REASON",
    "TRANSITION_REASON",
    "Planted",
    "gs_source",
    "jcm_issuance",
    "size",
    "source_and_rest",
    "split_off",
    "target_used_part",
    "transfer",
    "verra_source",
    "with_status",
]

CONVERSION_REASON: Final = "Cancelled for conversion to SPE-GRK in SRN-PPI (Indonesia)"
TRANSITION_REASON: Final = "Transferred to the Gold Standard (CDM activity transition)"


@dataclass(slots=True)
class Planted:
    """What a maker returns: the pair of blocks of the case and a plain-language note."""

    first: Block
    second: Block
    note: str
    #: The alert or link kind detection must find, where the pattern's own kind does not say
    #: (issue 23's flipped links and near misses: one pattern, several kinds).
    kind: str | None = None
    #: The alert's severity where the case pins it (a pending adjustment inside its window
    #: is a low note, issue 23); None: any.
    severity: str | None = None


def verra_source(issuer: Issuer, quantity: int) -> Block:
    project = issuer.project("verra")
    day = issuer.day()
    start, end = issuer.numbering.take_vcs(quantity, quantity + 100)
    batch = issuer.numbering.batch("vcs", 20000)
    return issuer.verra(project, issuer.vintage(day), batch, start, end, day)


def gs_source(issuer: Issuer, quantity: int) -> Block:
    day = issuer.day()
    batch = issuer.numbering.batch("gs", 30000)
    project = issuer.project("gold-standard")
    return issuer.gold_standard(project, issuer.vintage(day), batch, 1, quantity, day)


def size(issuer: Issuer) -> int:
    return max(10, issuer.quantity(1.5, 4.0))


def with_status(block: Block, status: str, day: int, reason: str | None) -> Block:
    block.status, block.status_on, block.reason = status, day, reason
    return block


def split_off(issuer: Issuer, block: Block, least: int = 1) -> tuple[Block, Block]:
    """``block`` cut in two adjacent parts, the first of at least ``least`` units, the second
    of at least one (requires ``quantity > least``)."""
    cut = block.start + least - 1 + issuer.rng.randrange(block.quantity - least)
    return issuer.part(block, block.start, cut), issuer.part(block, cut + 1, block.end)


def source_and_rest(issuer: Issuer, source: Block, partial: bool) -> Block:
    """In a partial case the source registry keeps part of the issuance live: write that rest
    and return the part the case uses."""
    if not partial or source.quantity <= 2:  # too small to leave a rest: plant it exact
        return source
    used, rest = split_off(issuer, source, least=2)
    issuer.add(rest)
    return used


def target_used_part(issuer: Issuer, target: Block, partial: bool, reason: str) -> Block:
    """Write the target; in a partial case split it into a used part (returned) and a live
    rest, so the pair overlaps on a sub-range."""
    if not partial or target.quantity <= 1:  # a single unit cannot overlap partially
        return issuer.add(target)
    used, rest = split_off(issuer, target)
    issuer.add(with_status(used, "retired", issuer.after(target.issued_on), reason))
    issuer.add(rest)
    return used


def jcm_issuance(issuer: Issuer, partner: str) -> tuple[Block, Block]:
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


def transfer(issuer: Issuer, share: Block, to: Block, start: int, end: int) -> tuple[Block, Block]:
    """Move ``start..end`` of ``share`` to the ledger of ``to``: writes the share's other parts
    and returns (transferred holding on the source, received holding on the target), unwritten."""
    if start > share.start:
        issuer.add(issuer.part(share, share.start, start - 1))
    if end < share.end:
        issuer.add(issuer.part(share, end + 1, share.end))
    day = issuer.after(share.issued_on)
    moved = with_status(
        issuer.part(share, start, end), "transferred", day, "Transferred between ledgers"
    )
    moved.counterpart = to.registry.removeprefix("jcm-")
    received = issuer.part(to, start, end)
    received.serial, received.issued_on = moved.serial, day
    received.origin, received.counterpart = moved.serial, share.registry.removeprefix("jcm-")
    return moved, received
