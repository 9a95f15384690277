"""Ordinary issuances: most of a world. Each call writes one issuance of one registry as that
registry lists it (one to four records, never overlapping another issuance's units across
registries, never two live records on the same units), and returns how many records it wrote.

Within a registry, an issuance is split the way real exports split it: retired or cancelled
sub-ranges next to the still-issued rest (Verra), or, for a few Gold Standard batches, the
whole batch listed as issued next to a later retirement of part of it (the GS export's event
style; DOMAIN.md: not an internal overlap).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from metaregistry.mock.world.issuer import JCM_PARTNER_LEDGERS, Issuer
from metaregistry.mock.world.model import Block

__all__ = ["BACKGROUND", "background_issuance"]

_GAP: Final = 1000


def _finish(issuer: Issuer, parts: list[Block], live_status: str = "issued") -> int:
    """Give every part but (usually) the last a used status, then write them."""
    rng = issuer.rng
    for index, block in enumerate(parts):
        last = index == len(parts) - 1
        if last and rng.random() < 0.75:
            block.status = live_status
            continue
        block.status = "retired" if rng.random() < 0.9 else "cancelled"
        block.status_on = issuer.after(block.issued_on, 900)
        block.reason = (
            issuer.reason() if block.status == "retired" else "Removal of credits from the registry"
        )
        issuer.add(block)
    for block in parts:
        if block.status == live_status:
            issuer.add(block)
    return len(parts)


def _split(issuer: Issuer, whole: Block, most: int = 4) -> list[Block]:
    count = issuer.rng.choice((1, 1, 2, 2, 3, most))
    if count == 1:
        return [whole]
    return [issuer.part(whole, a, b) for a, b in issuer.cuts(whole.start, whole.end, count)]


def verra(issuer: Issuer) -> int:
    project = issuer.project("verra")
    day = issuer.day()
    quantity = issuer.quantity()
    start, end = issuer.numbering.take_vcs(quantity, issuer.rng.randrange(_GAP))
    batch = issuer.numbering.batch("vcs", 20000)
    whole = issuer.verra(project, issuer.vintage(day), batch, start, end, day)
    whole.issuance_total = quantity
    return _finish(issuer, _split(issuer, whole))


def gold_standard(issuer: Issuer) -> int:
    project = issuer.project("gold-standard")
    day = issuer.day()
    quantity = issuer.quantity()
    batch = issuer.numbering.batch("gs", 30000)
    whole = issuer.gold_standard(project, issuer.vintage(day), batch, 1, quantity, day)
    if quantity > 10 and issuer.rng.random() < 0.05:
        # Export style: the batch as issued, and separately a retirement inside it.
        a, b = sorted(issuer.rng.sample(range(1, quantity + 1), 2))
        retired = issuer.part(whole, a, b)
        retired.status, retired.status_on, retired.reason = (
            "retired",
            issuer.after(day),
            "Voluntary",
        )
        issuer.add(whole)
        issuer.add(retired)
        return 2
    return _finish(issuer, _split(issuer, whole))


def srn_ppi(issuer: Issuer) -> int:
    rng = issuer.rng
    project = issuer.project("srn-ppi")
    day = issuer.day()
    batch = issuer.numbering.batch("spe-grk")
    whole = issuer.spe_grk(project, issuer.vintage(day), batch, 1, issuer.quantity(), day)
    if rng.random() < 0.08:
        # Authorized and first-transferred abroad as ITMOs, adjustment applied.
        whole.a6 = issuer.article6(day, "applied", transferred=True, party="ID")
        whole.status, whole.status_on = "transferred", whole.a6.first_transfer_on
        whole.reason = "Transfer pertama ITMO (Pasal 6.2)"
        issuer.add(whole)
        return 1
    live = rng.choice(("issued", "issued", "issued", "buffer", "pending"))
    return _finish(issuer, _split(issuer, whole), live)


def tccr(issuer: Issuer) -> int:
    rng = issuer.rng
    project = issuer.project("tccr")
    day = issuer.day()
    batch = issuer.numbering.batch("tver")
    whole = issuer.tver(project, issuer.vintage(day), batch, 1, issuer.quantity(1.0, 4.3), day)
    if rng.random() < 0.05:
        whole.a6 = issuer.article6(
            day, rng.choice(("applied", "pending")), transferred=True, party="TH"
        )
        whole.status, whole.status_on = "transferred", whole.a6.first_transfer_on
        whole.reason = "Article 6.2 first transfer"
        issuer.add(whole)
        return 1
    return _finish(issuer, _split(issuer, whole, 3))


def jcm(issuer: Issuer) -> int:
    """One issuance: Japan's share and the partner's share, disjoint, each maybe split by a
    retirement."""
    rng = issuer.rng
    partner = rng.choice(tuple(JCM_PARTNER_LEDGERS))
    project = issuer.project(f"jcm-{partner.lower()}")
    day = issuer.day()
    total = max(2, issuer.quantity(1.3, 4.0))
    issuance = issuer.numbering.batch(f"jcm-{partner}")
    vintage = issuer.vintage(day)
    cut = rng.randrange(1, total)
    written = 0
    for ledger, (a, b) in (
        ("jcm-japan", (1, cut)),
        (JCM_PARTNER_LEDGERS[partner], (cut + 1, total)),
    ):
        share = issuer.jcm(ledger, project, vintage, issuance, a, b, day, total)
        written += _finish(issuer, _split(issuer, share, 2))
    return written


def us_registries(issuer: Issuer) -> int:
    registry = issuer.rng.choice(("acr", "car"))
    project = issuer.project(registry)
    day = issuer.day()
    batch = issuer.numbering.batch(registry, 3000 if registry == "acr" else 9000)
    whole = issuer.us_registry(
        registry, project, issuer.vintage(day), batch, 1, issuer.quantity(), day
    )
    return _finish(issuer, _split(issuer, whole, 2))


def cdm(issuer: Issuer) -> int:
    project = issuer.project("cdm")
    quantity = issuer.quantity()
    start, end = issuer.numbering.take_cdm(project.country, quantity, issuer.rng.randrange(_GAP))
    whole = issuer.cdm(project, start, end, issuer.day())
    return _finish(issuer, _split(issuer, whole, 2))


#: (weight, writer) of each kind of ordinary issuance.
BACKGROUND: Final[tuple[tuple[int, Callable[[Issuer], int]], ...]] = (
    (34, verra),
    (20, gold_standard),
    (12, srn_ppi),
    (10, tccr),
    (12, jcm),
    (8, us_registries),
    (4, cdm),
)
_WRITERS: Final = tuple(writer for _, writer in BACKGROUND)
_WEIGHTS: Final = tuple(weight for weight, _ in BACKGROUND)


def background_issuance(issuer: Issuer) -> int:
    """Write one ordinary issuance of a randomly chosen registry; returns the records written."""
    (writer,) = issuer.rng.choices(_WRITERS, _WEIGHTS)
    return writer(issuer)
