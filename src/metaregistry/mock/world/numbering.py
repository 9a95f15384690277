"""Unit numbers and the serials of the schemes the national registries do not own.

Numbering keeps O(1) state per scheme: a next free number for registry-wide schemes (VCS,
CDM per party) and a next batch number for batch-scoped ones (GS, ACR, CAR, SPE-GRK, T-VER,
JCM per partnership). Every allocation may leave a gap after it, so a planted case can claim
numbers past its source's end (a quantity mismatch) that no other block holds.

The serial writers follow the shapes read from the real exports (DOMAIN.md); the tests parse
every one of them back with :func:`metaregistry.serials.parse_serial`.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from metaregistry.mock.world.model import Project, ddmmyyyy

__all__ = [
    "Numbering",
    "acr_serial",
    "car_serial",
    "cdm_serial",
    "gs_serial",
    "verra_serial",
]

VCS_FIRST: Final = 100_000_000
CDM_FIRST: Final = 1_000_000


class Numbering:
    """Next free numbers and batches of every scheme of one world."""

    def __init__(self) -> None:
        self.vcs = VCS_FIRST
        self.cdm: dict[str, int] = defaultdict(lambda: CDM_FIRST)
        self.batches: dict[str, int] = defaultdict(int)

    def take_vcs(self, quantity: int, gap: int) -> tuple[int, int]:
        """A fresh VCS range of ``quantity`` units, then ``gap`` numbers nobody holds."""
        start = self.vcs
        self.vcs = start + quantity + gap
        return start, start + quantity - 1

    def take_cdm(self, party: str, quantity: int, gap: int) -> tuple[int, int]:
        start = self.cdm[party]
        self.cdm[party] = start + quantity + gap
        return start, start + quantity - 1

    def batch(self, scheme: str, first: int = 1) -> int:
        """The next batch (issuance) number of a batch-scoped scheme."""
        self.batches[scheme] += 1
        return first + self.batches[scheme] - 1


def verra_serial(batch: int, start: int, end: int, project: Project, vintage: int) -> str:
    """``<batch>-<start>-<end>-VCS-VCU-<code>-VER-<cc>-<scope>-<project>-<from>-<to>-<flag>``."""
    sectoral = 1 + project.number % 16
    return (
        f"{batch}-{start}-{end}-VCS-VCU-{262 + project.number % 1300}-VER-{project.country}-"
        f"{sectoral}-{project.number}-{ddmmyyyy(vintage, 1, 1)}-{ddmmyyyy(vintage, 12, 31)}-"
        f"{project.number % 2}"
    )


def gs_serial(batch: int, start: int, end: int, project: Project, vintage: int) -> str:
    """``GS1-1-<cc>-GS<project>-<type>-<vintage>-<batch>-<start>-<end>``."""
    return (
        f"GS1-1-{project.country}-GS{project.number}-{1 + project.number % 20}-{vintage}-"
        f"{batch}-{start}-{end}"
    )


def cdm_serial(party: str, start: int, end: int, project: Project) -> str:
    """Two full Kyoto serials joined by `` - `` (unit type 5 = CER, period 2)."""
    tail = f"2-2-0-{project.number}"
    return f"{party}-5-{start}-{tail} - {party}-5-{end}-{tail}"


def acr_serial(batch: int, start: int, end: int, project: Project, vintage: int) -> str:
    return f"ACR-{project.country}-{project.number}-{vintage}-{batch}-{start} to {end}"


def car_serial(batch: int, start: int, end: int, project: Project, vintage: int) -> str:
    """``CAR-1-<cc>-<project>-<type>-<protocol>-<state>-<vintage>-<batch>-<from> to <to>``, the
    state (``CA`` of ``US-CA``) as real CAR serials print it, so the ``car`` grammar reads it."""
    return (
        f"CAR-1-{project.country}-{project.number}-{30 + project.number % 40}-"
        f"{900 + project.number % 97}-{project.region.rpartition('-')[2]}-{vintage}-{batch}-"
        f"{start} to {end}"
    )
