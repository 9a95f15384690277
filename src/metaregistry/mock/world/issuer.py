"""Blocks as each registry issues them: the shared state of a world being generated (random
source, numbering, projects, writer) and one maker per registry.

A maker returns a :class:`Block` in the registry's own numbering and serial format; the
caller decides its status and whether it is written (:meth:`Issuer.add`). Background
issuances (:mod:`.background`) and planted cases (:mod:`.cases`) are built from these.
"""

from __future__ import annotations

import random
from typing import Final

from metaregistry.mock.world.catalog import RETIREMENT_REASONS, Catalog
from metaregistry.mock.world.model import DAY_ZERO, Article6, Block, Project
from metaregistry.mock.world.numbering import (
    Numbering,
    acr_serial,
    car_serial,
    cdm_serial,
    gs_serial,
    verra_serial,
)
from metaregistry.mock.world.output import WorldWriter
from metaregistry.serials.national import format_jcm, format_spe_grk, format_tver

__all__ = ["JCM_PARTNER_LEDGERS", "Issuer"]

#: The partner ledger of each JCM partnership in a world (Japan holds the other side).
JCM_PARTNER_LEDGERS: Final = {"ID": "jcm-indonesia", "TH": "jcm-thailand"}
VERRA_FIRST_BATCH: Final = 20000
GS_FIRST_BATCH: Final = 30000
ACR_FIRST_BATCH: Final = 3000
CAR_FIRST_BATCH: Final = 9000


class Issuer:
    """The state of one world being generated."""

    def __init__(self, seed: int, writer: WorldWriter) -> None:
        self.rng = random.Random(seed)
        self.numbering = Numbering()
        self.catalog = Catalog.draw(self.rng)
        self.writer = writer
        #: (registry, number) of projects made outside the catalog (project-level cases)
        self.reserved_projects: set[tuple[str, int]] = set()

    # ---- draws
    def day(self) -> int:
        """An issuance day between 2019 and 2025."""
        return DAY_ZERO + 365 + self.rng.randrange(6 * 365)

    def after(self, day: int, most: int = 400) -> int:
        return day + 1 + self.rng.randrange(most)

    def quantity(self, low: float = 1.3, high: float = 4.7) -> int:
        """A block size, log-uniform (most blocks are small, a few are large)."""
        return int(10 ** self.rng.uniform(low, high))

    def vintage(self, issued_on: int) -> int:
        return 2018 + (issued_on - DAY_ZERO) // 365 - self.rng.randrange(0, 3)

    def reason(self) -> str:
        return self.rng.choice(RETIREMENT_REASONS)

    def project(self, registry: str) -> Project:
        return self.catalog.pick(self.rng, registry)

    def add(self, block: Block) -> Block:
        return self.writer.add(block)

    def cuts(self, start: int, end: int, parts: int) -> list[tuple[int, int]]:
        """``start..end`` split into at most ``parts`` adjacent sub-ranges."""
        size = end - start + 1
        parts = max(1, min(parts, size))
        points = sorted(self.rng.sample(range(start + 1, end + 1), parts - 1)) if parts > 1 else []
        edges = [start, *points, end + 1]
        return [(edges[i], edges[i + 1] - 1) for i in range(len(edges) - 1)]

    def article6(self, issued_on: int, ca: str, *, transferred: bool, party: str) -> Article6:
        loa_on = self.after(issued_on, 200)
        a6 = Article6(
            loa=f"LoA-{party}-{_year(loa_on)}-{self.rng.randrange(1, 9999):04d}",
            loa_on=loa_on,
            purpose=self.rng.choice(("ndc", "oimp", "ndc-and-oimp")),
            ca=ca,
        )
        if transferred:
            a6.first_transfer_on = self.after(loa_on, 200)
            a6.itmo = f"ITMO-{party}-{self.rng.randrange(10**8):08d}"
            a6.acquiring_party = self.rng.choice(("CH", "SG", "JP", "SE", "NO"))
        return a6

    # ---- makers, one per registry (status defaults to issued)
    def verra(
        self, project: Project, vintage: int, batch: int, start: int, end: int, issued_on: int
    ) -> Block:
        serial = verra_serial(batch, start, end, project, vintage)
        return Block("verra", serial, "vcs", "", start, end, "issued", project, vintage, issued_on)

    def gold_standard(
        self, project: Project, vintage: int, batch: int, start: int, end: int, issued_on: int
    ) -> Block:
        serial = gs_serial(batch, start, end, project, vintage)
        return Block(
            "gold-standard",
            serial,
            "gs",
            str(batch),
            start,
            end,
            "issued",
            project,
            vintage,
            issued_on,
            product="VER",
        )

    def spe_grk(
        self, project: Project, vintage: int, batch: int, start: int, end: int, issued_on: int
    ) -> Block:
        code = project.code.replace("-", "")
        serial = format_spe_grk(code, vintage, batch, start=start, end=end)
        return Block(
            "srn-ppi",
            serial,
            "spe-grk",
            f"{batch:06d}",
            start,
            end,
            "issued",
            project,
            vintage,
            issued_on,
        )

    def converted(self, source: Block, issued_on: int, origin_end: int | None = None) -> Block:
        """SRN-PPI's SPE-GRK certificate converted from a Verra or GS block: a fresh SPE-GRK
        batch as its native serial, numbered in the source scheme. ``origin_end`` past the
        source's end makes a conversion that claims more than the source gave up."""
        end = source.end if origin_end is None else origin_end
        origin = _reserial(source, source.start, end)
        project = self.project("srn-ppi")
        batch = self.numbering.batch("spe-grk")
        native = format_spe_grk(
            project.code.replace("-", ""),
            source.vintage,
            batch,
            start=1,
            end=end - source.start + 1,
        )
        return Block(
            "srn-ppi",
            native,
            source.scheme,
            source.scope,
            source.start,
            end,
            "issued",
            project,
            source.vintage,
            issued_on,
            origin=origin,
            origin_registry=source.registry,
        )

    def tver(
        self, project: Project, vintage: int, batch: int, start: int, end: int, issued_on: int
    ) -> Block:
        serial = format_tver(
            project.sector == "premium", project.number, vintage, batch, start=start, end=end
        )
        return Block(
            "tccr",
            serial,
            "tver",
            f"{batch:05d}",
            start,
            end,
            "issued",
            project,
            vintage,
            issued_on,
        )

    def jcm(
        self,
        ledger: str,
        project: Project,
        vintage: int,
        issuance: int,
        start: int,
        end: int,
        issued_on: int,
        total: int,
    ) -> Block:
        partner = project.country
        serial = format_jcm(partner, project.code, vintage, issuance, start=start, end=end)
        return Block(
            ledger,
            serial,
            "jcm",
            f"{partner}-{issuance:04d}",
            start,
            end,
            "issued",
            project,
            vintage,
            issued_on,
            issuance_total=total,
        )

    def us_registry(
        self,
        registry: str,
        project: Project,
        vintage: int,
        batch: int,
        start: int,
        end: int,
        issued_on: int,
    ) -> Block:
        make = acr_serial if registry == "acr" else car_serial
        serial = make(batch, start, end, project, vintage)
        return Block(
            registry,
            serial,
            registry,
            str(batch),
            start,
            end,
            "issued",
            project,
            vintage,
            issued_on,
        )

    def cdm(self, project: Project, start: int, end: int, issued_on: int) -> Block:
        party = project.country
        serial = cdm_serial(party, start, end, project)
        return Block(
            "cdm-registry",
            serial,
            "cdm",
            f"{party}-5",
            start,
            end,
            "issued",
            project,
            2012,
            issued_on,
        )

    def held_elsewhere(
        self, registry: str, source: Block, start: int, end: int, serial: str, issued_on: int
    ) -> Block:
        """A block of another registry (a bridge, CARB, Gold Standard) holding ``start..end``
        of the source's credits, numbered in the source scheme."""
        return Block(
            registry,
            serial,
            source.scheme,
            source.scope,
            start,
            end,
            "issued",
            source.project,
            source.vintage,
            issued_on,
            origin=_reserial(source, start, end),
            origin_registry=source.registry,
        )

    def bridged(self, bridge: str, source: Block, start: int, end: int, issued_on: int) -> Block:
        """A token batch on a bridge holding ``start..end`` of Verra's credits. Its serial is the
        source serial of the units it holds, as Toucan's batch NFTs and Regen's C01 batches
        record it (``vcsRetirementSerialNumber``), so the generic connector can read it too."""
        block = self.held_elsewhere(bridge, source, start, end, "", issued_on)
        block.serial = block.origin or ""
        return block

    def part(self, block: Block, start: int, end: int) -> Block:
        """The same block restricted to ``start..end``, its serials rewritten for the range."""
        copy = block.clone()
        copy.start, copy.end = start, end
        copy.record_id = ""
        if block.origin is None:
            copy.serial = renumber(block.serial, block.scheme, block.start, block.end, start, end)
            return copy
        copy.origin = renumber(block.origin, block.scheme, block.start, block.end, start, end)
        if block.registry.startswith("jcm-") or block.serial == block.origin:
            # A received JCM holding keeps the issuance's one numbering in its own serial; a
            # bridged token's serial is its source serial.
            copy.serial = renumber(block.serial, block.scheme, block.start, block.end, start, end)
        elif block.registry == "srn-ppi":
            # The converted certificate's own SPE-GRK numbering runs 1..quantity.
            first, last = start - block.start + 1, end - block.start + 1
            size = block.end - block.start + 1
            copy.serial = renumber(block.serial, "spe-grk", 1, size, first, last)
        return copy


def _reserial(block: Block, start: int, end: int) -> str:
    """The block's serial for another range of the same numbering."""
    return renumber(block.serial, block.scheme, block.start, block.end, start, end)


def renumber(serial: str, scheme: str, old_start: int, old_end: int, start: int, end: int) -> str:
    """``serial`` (naming ``old_start..old_end`` in ``scheme``) rewritten to name
    ``start..end``."""
    if " to " in serial:
        head = serial.rpartition(f"-{old_start} to {old_end}")[0]
        return f"{head}-{start} to {end}"
    if scheme == "cdm":
        first, _, last = serial.partition(" - ")
        return (
            first.replace(f"-5-{old_start}-", f"-5-{start}-", 1)
            + " - "
            + last.replace(f"-5-{old_end}-", f"-5-{end}-", 1)
        )
    if scheme == "vcs":
        batch, _, rest = serial.partition("-")
        tail = rest.partition("-")[2].partition("-")[2]
        return f"{batch}-{start}-{end}-{tail}"
    old = f"-{old_start}-{old_end}"
    if not serial.endswith(old):
        raise ValueError(f"cannot renumber serial {serial!r} ({old_start}-{old_end})")
    return f"{serial[: -len(old)]}-{start}-{end}"


def _year(day: int) -> int:
    return 2018 + (day - DAY_ZERO) // 365
