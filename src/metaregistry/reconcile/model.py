"""What project-level reconciliation reads and what it finds (issue 17).

Reconciliation answers "is this tonne counted twice?" where serial ranges cannot: a move that
re-numbers (ACR and CAR cancel "Convert to ARB offset credits", CARB issues ARB offset credits
under ids of its own), a project registered at two programmes. It works on *holdings* (one
index record seen as project, vintage, status and quantity) grouped by *project key* (every
registry's id of one project, joined by a crosswalk), and compares what a source registry gave
up for a move with what the target registry issued from it.

Nothing here touches the database: :mod:`metaregistry.reconcile.reader` builds holdings from
the index, :mod:`metaregistry.reconcile.store` writes the findings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = [
    "BASIS_PROJECT",
    "Finding",
    "Holding",
    "Outcome",
    "ProjectRef",
    "node",
]

BASIS_PROJECT: Final = "project"

#: A project as one registry names it: (registry slug, normalized project id).
ProjectRef = tuple[str, str]


def node(registry: str, project_id: str) -> ProjectRef:
    return (registry, project_id)


@dataclass(frozen=True, slots=True)
class Holding:
    """One index record as reconciliation reads it.

    ``project`` is the record's own project (its registry and normalized id); ``names`` the
    other projects the record itself names (CARB's OPR project id, the VCS project of a
    bridged token), each with the field it came from. ``vintage`` is the year the units were
    issued for (None when the record does not say). ``numbered`` is False for records that
    carry quantities per project and vintage rather than unit numbers (they never take part
    in range comparison; here they are the only evidence)."""

    registry: str
    record_id: str
    project: ProjectRef | None
    vintage: int | None
    status: str
    quantity: int
    reason: str = ""
    numbered: bool = True
    names: tuple[tuple[ProjectRef, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """One result of reconciliation for a project key, vintage and pair of registries.

    ``outcome`` is one of :class:`Outcome`'s values. ``source``/``target`` are the registries
    (for a double registration: the two registries that issued); ``gave``/``got`` the units the
    source gave up for the move and the units the target issued (for a double registration:
    each side's issuance); ``records`` the records behind both sums as (registry, record_id,
    role) with role ``source`` or ``target``; ``reason`` one line for people."""

    outcome: str
    kind: str
    project_key: str
    projects: tuple[ProjectRef, ...]
    vintage: int | None
    source: str
    target: str
    gave: int
    got: int
    records: tuple[tuple[str, str, str], ...]
    reason: str
    pairs: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = field(default=())

    @property
    def is_alert(self) -> bool:
        return self.outcome in (Outcome.MISMATCH, Outcome.DOUBLE_REGISTRATION)

    @property
    def is_link(self) -> bool:
        return self.outcome in (Outcome.MATCHED, Outcome.REGISTRY_MOVE)


class Outcome:
    """The outcomes of reconciliation (``Finding.outcome``)."""

    MATCHED: Final = "matched"  # both sides balance: a link of the move's kind
    MISMATCH: Final = "mismatched"  # the target issued more than the source gave up: alert
    PENDING: Final = "pending"  # units moved out, no issuance at the target yet
    UNVERIFIABLE: Final = "unverifiable"  # a side's records are not all in the index
    DOUBLE_REGISTRATION: Final = "double_registration"  # two issuers, no move: alert
    REGISTRY_MOVE: Final = "registry_move"  # the project changed registry: a link

    ALL: Final = (MATCHED, MISMATCH, PENDING, UNVERIFIABLE, DOUBLE_REGISTRATION, REGISTRY_MOVE)
