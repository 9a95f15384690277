"""The planted cases: every pattern of DOMAIN.md, legitimate (:mod:`.legitimate`) and double
counting (:mod:`.double_counting`), each in exact and partial variants.

Every case gets fresh numbers with unallocated slack after them, so nothing outside the case
shares its units: a detector that reports anything else has made a mistake. README.md lists
how each pattern is built (statuses, reasons, origin links, Article 6 state).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from metaregistry.mock.world.contradictions import flipped_source, flipped_target, near_miss
from metaregistry.mock.world.double_counting import (
    double_issuance,
    double_use,
    internal_overlap,
    quantity_mismatch,
    use_after_transfer,
)
from metaregistry.mock.world.issuer import Issuer
from metaregistry.mock.world.legitimate import (
    compliance_move,
    conversion,
    jcm_mirror,
    tokenization,
    transition,
)
from metaregistry.mock.world.planting import Planted

__all__ = ["PATTERNS", "Pattern", "Planted"]

Maker = Callable[[Issuer, int, bool], Planted]


@dataclass(frozen=True, slots=True)
class Pattern:
    name: str
    legitimate: bool
    variants: int
    make: Maker
    #: The link or alert kind of its cases (a case may name its own: ``Planted.kind``).
    kind: str = ""


PATTERNS: Final = (
    Pattern("conversion", True, 2, conversion, "conversion"),
    Pattern("transition", True, 1, transition, "transition"),
    Pattern("jcm-mirror", True, 2, jcm_mirror, "mirror"),
    Pattern("tokenization", True, 2, tokenization, "tokenization"),
    Pattern("compliance-move", True, 2, compliance_move, "compliance_move"),
    Pattern("double-issuance", False, 5, double_issuance, "double_issuance"),
    Pattern("double-use", False, 5, double_use, "double_use"),
    Pattern("use-after-transfer", False, 5, use_after_transfer, "use_after_transfer"),
    Pattern("quantity-mismatch", False, 4, quantity_mismatch, "quantity_mismatch"),
    Pattern("internal-overlap", False, 4, internal_overlap, "internal_overlap"),
    # issue 23: every move with one side changed to what it does not allow, and near misses
    Pattern("flipped-source", False, 5, flipped_source),
    Pattern("flipped-target", False, 4, flipped_target),
    Pattern("near-miss", True, 4, near_miss),
)
