"""The unit block: the one normalized record type of metaregistry.

A unit block is a contiguous, inclusive range of units of one numbering scheme as one
registry holds it. Numbering follows the credits' own scheme (DOMAIN.md, "Numbering rules"):
a block that holds credits of another scheme is numbered in the source scheme, its native
serial stays in ``serial`` and the source serial in ``origin``.

``content()`` is what ``record_hash`` covers: every content field that is set. The computed
fields (``observed_at``, ``raw_hash``, ``record_hash``) are never part of it, so the same facts
reached by two paths (an API page and a file export) hash the same.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final


class Status(enum.StrEnum):
    """State of a block in the registry that published it."""

    ISSUED = "issued"
    RETIRED = "retired"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"
    PENDING = "pending"
    BUFFER = "buffer"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


#: Statuses in which units are still live in the registry (can be used or moved).
LIVE_STATUSES: Final = frozenset({Status.ISSUED, Status.PENDING, Status.BUFFER})
#: Statuses in which units were claimed (used) in the registry.
USED_STATUSES: Final = frozenset({Status.RETIRED})
#: Statuses in which units left the registry without a claim there.
GONE_STATUSES: Final = frozenset({Status.CANCELLED, Status.TRANSFERRED, Status.EXPIRED})
#: Precedence for "the most final state among a registry's records covering a unit".
STATUS_FINALITY: Final = {
    Status.PENDING: 0,
    Status.ISSUED: 1,
    Status.BUFFER: 1,
    Status.EXPIRED: 2,
    Status.TRANSFERRED: 3,
    Status.CANCELLED: 3,
    Status.RETIRED: 4,
    Status.WITHDRAWN: -1,
}


class AuthorizedPurpose(enum.StrEnum):
    """Article 6.2 authorized use: NDCs, other international mitigation purposes, or both."""

    NDC = "ndc"
    OIMP = "oimp"
    NDC_AND_OIMP = "ndc-and-oimp"


class CorrespondingAdjustment(enum.StrEnum):
    """State of the host country's corresponding adjustment for the units."""

    NOT_REQUIRED = "not-required"
    PENDING = "pending"
    APPLIED = "applied"
    NOT_APPLIED = "not-applied"


MAX_BLOCK_NUMBER: Final = 2**63 - 1

#: ``UnitBlock.numbering`` of a record whose range is its own numbering (not comparable).
OWN_NUMBERING: Final = "own"
_REFERENCE: Final = re.compile(r"^([a-z][a-z0-9_]*)=([a-z0-9][a-z0-9.-]*):(\S(?:.*\S)?)$")


def references_text(entries: Iterable[tuple[str, str, str]]) -> str | None:
    """``(kind, registry, id)`` entries as ``UnitBlock.cross_refs`` (sorted, no duplicates;
    None when there are none)."""
    items = sorted({f"{kind}={registry}:{ident}" for kind, registry, ident in entries})
    for item in items:
        if "; " in item or _REFERENCE.match(item) is None:
            raise ValueError(f"not a reference: {item!r}")
    return "; ".join(items) or None


def references_of(text: str | None) -> list[tuple[str, str, str]]:
    """``UnitBlock.cross_refs`` as ``(kind, registry, id)`` entries."""
    out: list[tuple[str, str, str]] = []
    for item in (text or "").split("; "):
        match = _REFERENCE.match(item)
        if match is not None:
            out.append((match.group(1), match.group(2), match.group(3)))
    return out


#: Content fields in schema order; ``record_hash`` covers the ones that are set.
CONTENT_FIELDS: Final = (
    "registry",
    "record_id",
    "serial",
    "scheme",
    "scope",
    "block_start",
    "block_end",
    "quantity",
    "project_id",
    "vintage_start",
    "vintage_end",
    "country",
    "status",
    "status_reason",
    "status_date",
    "origin",
    "authorization_id",
    "authorized_purpose",
    "corresponding_adjustment",
    "first_transfer_date",
    "itmo_id",
    "numbering",
    "cross_refs",
    "issuance_total",
)
COMPUTED_FIELDS: Final = ("observed_at", "raw_hash", "record_hash")
ALL_FIELDS: Final = CONTENT_FIELDS + COMPUTED_FIELDS
REQUIRED_FIELDS: Final = (
    "registry",
    "record_id",
    "serial",
    "scheme",
    "scope",
    "block_start",
    "block_end",
    "quantity",
    "status",
)


@dataclass(slots=True, kw_only=True)
class UnitBlock:
    """One normalized record. Dates are ISO ``YYYY-MM-DD`` strings; ``observed_at`` is an
    RFC 3339 UTC timestamp. Enum-valued fields hold their string values."""

    registry: str
    record_id: str
    serial: str
    scheme: str
    scope: str
    block_start: int
    block_end: int
    quantity: int
    status: str
    project_id: str | None = None
    vintage_start: str | None = None
    vintage_end: str | None = None
    country: str | None = None
    status_reason: str | None = None
    status_date: str | None = None
    origin: str | None = None
    authorization_id: str | None = None
    authorized_purpose: str | None = None
    corresponding_adjustment: str | None = None
    first_transfer_date: str | None = None
    itmo_id: str | None = None
    #: ``own`` when the record carries quantities per project and vintage, not unit numbers
    #: (ACR, CAR and ART TREES issuance tables, every CARB row, Cercarbono issuances): its
    #: range is a numbering of the record's own, never compared with other blocks'.
    numbering: str | None = None
    #: What the record names elsewhere, kept as data (:func:`references_of`; the name is
    #: not ``references``, an SQL keyword): ``kind=registry:id`` entries joined by ``; ``
    #: (``opr_project=acr:ACR1051``, ``vcs_project=verra:VCS934``,
    #: ``source_serial=verra:<serial>``).
    cross_refs: str | None = None
    #: The units of the whole issuance the block is a share of, where the registry states it
    #: (JCM: one issuance split between two ledgers, numbered 1..issuance_total). A share
    #: reaching past it claims units that were never issued.
    issuance_total: int | None = None
    observed_at: str | None = None
    raw_hash: str | None = None
    record_hash: str | None = None

    def content(self) -> dict[str, Any]:
        """The content fields that are set (nulls omitted): what ``record_hash`` covers."""
        out: dict[str, Any] = {}
        for name in CONTENT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def to_json(self) -> dict[str, Any]:
        """Every field that is set, computed ones included (the export format)."""
        out = self.content()
        for name in COMPUTED_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> UnitBlock:
        """Build from a normalized JSON object (already validated against the schema)."""
        return cls(**{k: data[k] for k in ALL_FIELDS if k in data})

    @property
    def comparable(self) -> bool:
        """Whether the block's range is unit numbers other blocks can be compared with."""
        return self.numbering is None

    def replace(self, **changes: Any) -> UnitBlock:
        return dataclasses.replace(self, **changes)

    @property
    def key(self) -> tuple[str, str]:
        return (self.registry, self.record_id)
