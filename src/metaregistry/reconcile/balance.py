"""Balances per project key and vintage: what a source gave up for a move against what the
target issued from it, and projects issuing at two registries with no move between them.

The rules, in the order they are applied to one project key, vintage and move target:

1. **Exact pairs.** A target record and a source record that gave up exactly its quantity for
   that move (status cancelled or transferred, the move named on the source side) are a link
   of the move's kind, ``basis: "project"``. An exact pairing is evidence by itself: it needs
   no completeness.
2. **The rest, by sums.** The target issued as much as the source gave up: a link listing
   the records of both sides. The target issued more: a ``quantity_mismatch`` alert when
   both registries' record sets are complete in the index, else *unverifiable*. The source
   gave up more, or the target issued nothing yet: *pending*, reported, not an alert.
3. **Double registration.** One project key with issuances at two issuing registries for the
   same vintage, neither side showing units moved out for it: a ``double_issuance`` alert
   (basis project) when both are complete, else *unverifiable*. A pair joined by a registry
   move (a CARB row naming two OPR projects) is a ``registry_move`` link instead.

A reason string only says *which* move a cancellation was for; it never clears anything by
itself: a link needs the target's issuance to agree in quantity.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from metaregistry.reconcile.crosswalk import Crosswalk, key_text
from metaregistry.reconcile.model import Finding, Holding, Outcome, ProjectRef

__all__ = ["ISSUERS", "MOVES", "Move", "reconcile_holdings"]


@dataclass(frozen=True, slots=True)
class Move:
    """A move that re-numbers: units a source registry cancels (or transfers) with a reason
    naming the target, and the target issues under ids of its own."""

    kind: str
    target: str
    sources: frozenset[str]
    marker: re.Pattern[str]
    source_statuses: frozenset[str] = frozenset({"cancelled", "transferred"})

    def gives(self, holding: Holding) -> bool:
        return (
            holding.registry in self.sources
            and holding.status in self.source_statuses
            and bool(self.marker.search(holding.reason))
        )


MOVES: tuple[Move, ...] = (
    # ACR "Convert to ARB offset credits", CAR cancellation reason "ARB"
    Move(
        "compliance_move",
        "carb",
        frozenset({"acr", "car", "verra"}),
        re.compile(r"\b(arb|carb|california)\b", re.I),
    ),
    # ACR "Convert to Ecology offset credits", CAR "WA ECO"
    Move(
        "compliance_move",
        "ecology",
        frozenset({"acr", "car"}),
        re.compile(r"\b(ecology|wa eco|washington)\b", re.I),
    ),
)

#: Registries that issue credits for projects they register themselves: a project key
#: issuing at two of these for one vintage, with no move between them, is counted twice.
#: Bridges, compliance programmes (which issue from an OPR's project) and JCM's mirrored
#: ledgers are not issuers in this sense.
ISSUERS: frozenset[str] = frozenset(
    {
        "acr",
        "car",
        "art-trees",
        "verra",
        "gold-standard",
        "cercarbono",
        "srn-ppi",
        "tccr",
        "cdm",
        "isometric",
        "puro",
    }
)

_LIVE_OR_USED = frozenset({"issued", "pending", "buffer", "retired"})
_GONE = frozenset({"cancelled", "transferred"})


def reconcile_holdings(
    holdings: Sequence[Holding],
    crosswalk: Crosswalk,
    complete: Mapping[str, bool],
    moves: Sequence[Move] = MOVES,
) -> list[Finding]:
    """Every finding of reconciliation, in a stable order."""
    by_key: dict[str, list[Holding]] = defaultdict(list)
    for holding in holdings:
        if holding.project is not None and holding.status != "withdrawn":
            by_key[crosswalk.key(holding.project)].append(holding)
    findings: list[Finding] = []
    members = crosswalk.groups()  # once: members(key) walks every reference
    for key in sorted(by_key):
        group = by_key[key]
        projects = tuple(members.get(key, ()))
        moved_pairs = _registry_moves(key, group, projects, findings)
        for move in moves:
            findings.extend(_balances(key, projects, group, move, complete))
        findings.extend(_double_registrations(key, projects, group, complete, moved_pairs))
    return findings


def _vintages(group: Iterable[Holding]) -> list[int | None]:
    return sorted({h.vintage for h in group}, key=lambda v: (v is None, v or 0))


def _balances(
    key: str,
    projects: tuple[ProjectRef, ...],
    group: list[Holding],
    move: Move,
    complete: Mapping[str, bool],
) -> list[Finding]:
    out: list[Finding] = []
    # only the records this move can concern, by vintage (a project's group can be large)
    by_vintage: dict[int | None, tuple[list[Holding], list[Holding]]] = {}
    for h in group:
        if h.registry == move.target:
            by_vintage.setdefault(h.vintage, ([], []))[1].append(h)
        elif move.gives(h):
            by_vintage.setdefault(h.vintage, ([], []))[0].append(h)
    for vintage in sorted(by_vintage, key=lambda v: (v is None, v or 0)):
        given, issued = by_vintage[vintage]
        if not given and not issued:
            continue
        source_regs = sorted({h.registry for h in given}) or sorted(
            {ref[0] for ref in projects if ref[0] in move.sources}
        )
        source = "+".join(source_regs) or "?"

        def make(
            outcome: str,
            gave: int,
            got: int,
            records: tuple[tuple[str, str, str], ...],
            reason: str,
            pairs: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = (),
            *,
            vintage: int | None = vintage,
            source: str = source,
        ) -> Finding:
            return Finding(
                outcome=outcome,
                kind=move.kind,
                project_key=key,
                projects=projects,
                vintage=vintage,
                source=source,
                target=move.target,
                gave=gave,
                got=got,
                records=records,
                reason=reason,
                pairs=pairs,
            )

        # 1. exact pairs, largest first; ties by record id so the pairing is stable
        free_given = sorted(given, key=lambda h: (-h.quantity, h.registry, h.record_id))
        rest_issued: list[Holding] = []
        for target in sorted(issued, key=lambda h: (-h.quantity, h.record_id)):
            match = next((g for g in free_given if g.quantity == target.quantity), None)
            if match is None:
                rest_issued.append(target)
                continue
            free_given.remove(match)
            out.append(
                make(
                    Outcome.MATCHED,
                    match.quantity,
                    target.quantity,
                    _records([match], [target]),
                    f"{match.registry} {match.record_id} gave up {match.quantity:,} units "
                    f"({match.reason}); {move.target} issued {target.record_id} for the "
                    f"same project and vintage, {target.quantity:,} units",
                    (((match.registry, match.record_id), (target.registry, target.record_id)),),
                )
            )
        # 2. the rest by sums
        gave = sum(h.quantity for h in free_given)
        got = sum(h.quantity for h in rest_issued)
        if gave == 0 and got == 0:
            continue
        records = _records(free_given, rest_issued)
        if gave == got:
            outcome, reason = (
                Outcome.MATCHED,
                (
                    f"{source} gave up {gave:,} units in {len(free_given)} records; {move.target} "
                    f"issued {got:,} in {len(rest_issued)}"
                ),
            )
        elif got < gave:
            outcome, reason = (
                Outcome.PENDING,
                (
                    f"{source} gave up {gave:,} units for {move.target}; {move.target} has issued "
                    f"{got:,} of them so far"
                ),
            )
        else:
            sides_complete = all(complete.get(r, False) for r in [*source_regs, move.target])
            if source == "?":
                outcome, reason = (
                    Outcome.UNVERIFIABLE,
                    (
                        f"{move.target} issued {got:,} units for a project no source registry "
                        "record names"
                    ),
                )
            elif sides_complete:
                outcome, reason = (
                    Outcome.MISMATCH,
                    (
                        f"{move.target} issued {got:,} units for vintage {vintage} of {key}; "
                        f"{source} gave up only {gave:,} for it"
                    ),
                )
            else:
                missing = [r for r in [*source_regs, move.target] if not complete.get(r, False)]
                outcome, reason = (
                    Outcome.UNVERIFIABLE,
                    (
                        f"{move.target} issued {got:,} units, {source} shows {gave:,} given up; "
                        f"not all records of {', '.join(missing)} are in the index"
                    ),
                )
        out.append(make(outcome, gave, got, records, reason))
    return out


def _records(
    sources: Iterable[Holding], targets: Iterable[Holding]
) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        sorted({(h.registry, h.record_id, "source") for h in sources})
        + sorted({(h.registry, h.record_id, "target") for h in targets})
    )


def _registry_moves(
    key: str,
    group: list[Holding],
    projects: tuple[ProjectRef, ...],
    out: list[Finding],
) -> set[frozenset[str]]:
    """A record naming two projects of two issuing registries (CARB's OPR Project ID and a
    second OPR id in its Comment): the project moved from the first to the second."""
    pairs: set[frozenset[str]] = set()
    seen: set[tuple[ProjectRef, ProjectRef]] = set()
    for holding in sorted(group, key=lambda h: (h.registry, h.record_id)):
        named = [ref for ref, _field in holding.names if ref[0] in ISSUERS]
        for first, second in itertools.pairwise(named):
            if first[0] == second[0] or (first, second) in seen:
                continue
            seen.add((first, second))
            pairs.add(frozenset({first[0], second[0]}))
            out.append(
                Finding(
                    outcome=Outcome.REGISTRY_MOVE,
                    kind="registry_move",
                    project_key=key,
                    projects=projects,
                    vintage=holding.vintage,
                    source=first[0],
                    target=second[0],
                    gave=0,
                    got=0,
                    records=((holding.registry, holding.record_id, "evidence"),),
                    reason=(
                        f"{holding.registry} {holding.record_id} names {key_text(first)} and "
                        f"{key_text(second)}: the project moved registry"
                    ),
                )
            )
    return pairs


def _double_registrations(
    key: str,
    projects: tuple[ProjectRef, ...],
    group: list[Holding],
    complete: Mapping[str, bool],
    moved: set[frozenset[str]],
) -> list[Finding]:
    out: list[Finding] = []
    issuers = sorted({h.registry for h in group if h.registry in ISSUERS})
    if len(issuers) < 2:
        return out
    sides: dict[tuple[str, int | None], list[Holding]] = {}
    for h in group:
        if h.registry in ISSUERS:
            sides.setdefault((h.registry, h.vintage), []).append(h)
    for i, a in enumerate(issuers):
        for b in issuers[i + 1 :]:
            if frozenset({a, b}) in moved:
                continue
            for vintage in sorted({v for (r, v) in sides if r == a and v is not None}):
                side_a = sides.get((a, vintage), [])
                side_b = sides.get((b, vintage), [])
                if not side_a or not side_b:
                    continue
                if any(h.status in _GONE for h in side_a + side_b):
                    # units moved out on one side: a move the data does not name
                    continue
                qty_a = sum(h.quantity for h in side_a if h.status in _LIVE_OR_USED)
                qty_b = sum(h.quantity for h in side_b if h.status in _LIVE_OR_USED)
                names_a = sorted({key_text(h.project) for h in side_a if h.project})
                names_b = sorted({key_text(h.project) for h in side_b if h.project})
                text = (
                    f"{', '.join(names_a)} ({a}, {qty_a:,} units) and {', '.join(names_b)} "
                    f"({b}, {qty_b:,} units) are one project issuing vintage {vintage} twice"
                )
                both = complete.get(a, False) and complete.get(b, False)
                out.append(
                    Finding(
                        outcome=Outcome.DOUBLE_REGISTRATION if both else Outcome.UNVERIFIABLE,
                        kind="double_issuance",
                        project_key=key,
                        projects=projects,
                        vintage=vintage,
                        source=a,
                        target=b,
                        gave=qty_a,
                        got=qty_b,
                        records=tuple(
                            sorted({(h.registry, h.record_id, "a") for h in side_a})
                            + sorted({(h.registry, h.record_id, "b") for h in side_b})
                        ),
                        reason=text
                        if both
                        else text + "; not all records of both are in the index",
                    )
                )
    return out
