"""What the generator knows about one block before a registry prints it.

A :class:`Block` is registry-neutral: its range in the credits' own scheme, its normalized
status, its project, dates as day ordinals (cheap to draw and to compare) and its Article 6
state. The modules of :mod:`metaregistry.mock.world.formats` print it the way each registry
publishes it.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Final

__all__ = ["DAY_ZERO", "Article6", "Block", "Project", "ddmmyyyy", "dmy", "iso"]

#: Day ordinal of 2018-01-01; generated dates fall between 2019 and 2026.
DAY_ZERO: Final = dt.date(2018, 1, 1).toordinal()


# Dates are drawn from a few thousand days: caching their text keeps memory bounded and saves
# a date object per record.
@functools.cache
def iso(day: int) -> str:
    return dt.date.fromordinal(day).isoformat()


@functools.cache
def dmy(day: int, year_offset: int = 0) -> str:
    """``DD/MM/YYYY``; ``year_offset`` 543 writes the Buddhist-era year."""
    date = dt.date.fromordinal(day)
    return f"{date.day:02d}/{date.month:02d}/{date.year + year_offset}"


def ddmmyyyy(year: int, month: int, day: int) -> str:
    return f"{day:02d}{month:02d}{year}"


@dataclass(slots=True, frozen=True)
class Project:
    """A project of one registry. ``code`` is the registry's own project code as it prints
    it; ``number`` the numeric part serials use."""

    registry: str
    code: str
    number: int
    name: str
    country: str
    region: str
    sector: str
    methodology: str


@dataclass(slots=True)
class Article6:
    """Article 6.2 state of a block: authorization, corresponding adjustment, first transfer.
    ``purpose`` and ``ca`` hold the normalized values (``ndc``, ``applied`` ...)."""

    loa: str
    loa_on: int
    purpose: str
    ca: str
    itmo: str | None = None
    first_transfer_on: int | None = None
    acquiring_party: str | None = None
    #: The LoA's authorized tonnes; None: the units of the first block written with it.
    quantity: int | None = None
    #: When the host counts the first transfer (``authorization``, ``issuance``, ``use``).
    first_transfer_at: str = "issuance"
    #: ``loa``, ``loack`` or ``results-based-payment`` (issue 19's planted cases).
    kind: str = "loa"
    #: ``active`` or ``revoked``.
    status: str = "active"
    #: JCM: whether the partner party authorized too (Japan always does here).
    authorized_by_partner: bool = True
    #: For a results-based payment: the party that paid.
    payer: str | None = None
    #: Set once the LoA is written to its registry's authorization file (blocks share it).
    published: bool = False


@dataclass(slots=True)
class Block:
    """One record to write. ``serial`` is the registry's native serial; ``scheme``, ``scope``,
    ``start`` and ``end`` number the credits themselves (DOMAIN.md's numbering rules), so for a
    converted or bridged block they are the source's and ``origin`` is the source serial."""

    registry: str
    serial: str
    scheme: str
    scope: str
    start: int
    end: int
    status: str
    project: Project
    vintage: int
    issued_on: int
    status_on: int | None = None
    reason: str | None = None
    origin: str | None = None
    origin_registry: str | None = None
    a6: Article6 | None = None
    counterpart: str | None = None
    issuance_total: int | None = None
    product: str = ""
    record_id: str = ""
    number: int = 0  # the registry's running record number, set when written
    # a record of quantities per project and vintage (CARB's issuance rows): "own"
    numbering: str | None = None
    # what the record names elsewhere (UnitBlock.cross_refs)
    cross_refs: str | None = None
    # SRN-PPI: the project's id at Verra or Gold Standard (mutual recognition)
    standard_project: str | None = None
    # written in the generic format whatever its registry's own: a record the registry's
    # public files cannot state by serial (a live ACR block a serial-level case needs)
    generic: bool = False

    @property
    def quantity(self) -> int:
        return self.end - self.start + 1

    def clone(self) -> Block:
        """A copy (shares the project and the Article 6 state, which are not changed)."""
        return Block(
            self.registry,
            self.serial,
            self.scheme,
            self.scope,
            self.start,
            self.end,
            self.status,
            self.project,
            self.vintage,
            self.issued_on,
            self.status_on,
            self.reason,
            self.origin,
            self.origin_registry,
            self.a6,
            self.counterpart,
            self.issuance_total,
            self.product,
            self.record_id,
            self.number,
            self.numbering,
            self.cross_refs,
            self.standard_project,
            self.generic,
        )
