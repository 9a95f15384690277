"""From the pairs of a cluster to alerts and links (pure; no database).

Every cross pair is classified by :mod:`metaregistry.detect.rules`: a link becomes one
:class:`LinkDraft` per (source, target) pair. Alert pairs are grouped before they become
alerts, so that one incident is one alert:

**Granularity.** Alert pairs of the same kind between the same two registries that share a
record form one alert: a connected component of the graph whose nodes are
records and whose edges are alert pairs. A Verra issuance double-issued in Gold Standard stays
one alert when Gold Standard later lists fifty retirements inside it (each retirement pairs
with the same Verra block), instead of fifty-one. Unrelated overlaps between the same two
registries stay separate alerts.

**Identity.** An alert's id is ``al_`` + the first 24 hex digits of the SHA-256 of the
canonical JSON ``{"kind", "a": [registry, record_id], "b": [...], "overlap": [start, end]}`` of
its *anchor*: the pair of the component with the most units in common (ties: the smallest keys),
with the intersection of the two blocks' ranges. Rerunning detection on the same data gives
the same ids; a new record joining an alert keeps its id unless it becomes the larger pair.
A link's id is ``ln_`` + 24 hex of ``{"kind", "source", "target"}``.

**Quantity mismatch.** A target whose origin links it to records of a source registry (a
conversion, mirror, compliance move or transition link) but that holds units the source
registry never closed (cancelled, transferred or retired), past the source's end or still
live there, gives a ``quantity_mismatch`` alert between the source and the target:
``detail.ranges`` are the units they share, ``detail.excess`` the units the target claims
beyond, and the overlap spans both.
Live source records overlapping the excess are part of that alert, not separate double
issuances (the generator's partial case: an SPE-GRK conversion claiming the first units of the
issuance's still-live rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from metaregistry.detect.cluster import ClusterPairs, Key, Ranges, subtract_ranges
from metaregistry.detect.drafts import (
    AlertDraft,
    AlertPair,
    LinkDraft,
    explain,
    hash_id,
    merge_ranges,
    range_size,
)
from metaregistry.detect.rules import (
    LIVE,
    SEVERITIES,
    Rule,
    Verdict,
    classify,
    group_of,
    points_at,
)
from metaregistry.model import UnitBlock

__all__ = [
    "INTERNAL_RULES",
    "AlertDraft",
    "LinkDraft",
    "alerts_of",
    "beyond_issuance",
    "drafts_of",
]

_INTERNAL_OVERLAP = Rule(
    name="internal-overlap",
    first=frozenset(),
    second=frozenset(),
    alert_kind="internal_overlap",
    severity="medium",
    template="{registry} lists the same {units} in two live records: {first} and {second}. "
    "A unit can be live only once in a registry: a data error at the source.",
)
_INTERNAL_REUSE = Rule(
    name="retired-after-move",
    first=frozenset(),
    second=frozenset(),
    alert_kind="use_after_transfer",
    severity="high",
    template="{registry} retired the {units} in {second} after {first} had moved them out.",
)
_MISMATCH = Rule(
    name="quantity-mismatch",
    first=frozenset(),
    second=frozenset(),
    alert_kind="quantity_mismatch",
    severity="high",
    template="{second} holds {excess} beyond what its origin {first} names: the {units} they "
    "share do not add up to what the target claims.",
)
_BEYOND_ISSUANCE = Rule(
    name="beyond-issuance",
    first=frozenset(),
    second=frozenset(),
    alert_kind="quantity_mismatch",
    severity="high",
    template="{first} holds {excess} past the end of its issuance (the registry states the "
    "issuance's total): the shares of the issuance add up to more than was issued.",
)
#: Rules that are not status patterns, for the test that every rule has a test.
INTERNAL_RULES = (_INTERNAL_OVERLAP, _INTERNAL_REUSE, _MISMATCH, _BEYOND_ISSUANCE)
# Moves whose target must add up to what the source gave up (DOMAIN.md: "a mirror or
# conversion whose quantities do not add up"). Not tokenization: custody bridges (Stellarcarbon,
# Moss) mint on units they hold and retire them in the source registry only as tokens are
# redeemed, so a token covering more than its retirements is their normal state.
_COUNTED_MOVES = frozenset({"conversion", "mirror", "compliance_move", "transition"})
_SYMMETRIC = frozenset({"double-use", "double-issuance-live", "internal-overlap"})


def _link(rule: Rule, source: UnitBlock, target: UnitBlock, ranges: Ranges) -> LinkDraft:
    assert rule.link_kind is not None
    kind = rule.link_kind
    ident = hash_id("ln_", {"kind": kind, "source": list(source.key), "target": list(target.key)})
    text = explain(rule, [source], [target], ranges, (), source.scheme, source.scope)
    return LinkDraft(ident, kind, rule.name, source, target, tuple(ranges), text)


_Classified = tuple[UnitBlock, UnitBlock, Verdict | None, Ranges]


def drafts_of(pairs: ClusterPairs) -> tuple[list[AlertDraft], list[LinkDraft]]:
    """The alerts and links of one cluster's pairs."""
    classified: list[_Classified] = []
    for (ka, kb), ranges in pairs.cross.items():
        a, b = pairs.blocks[ka], pairs.blocks[kb]
        classified.append((a, b, classify(a, b), ranges))
    mismatches, absorbed = _mismatches(classified)
    alert_pairs: list[AlertPair] = list(mismatches)
    links: list[LinkDraft] = []
    for a, b, verdict, ranges in classified:
        if verdict is None:
            continue
        if verdict.rule.link_kind is not None:
            links.append(_link(verdict.rule, verdict.first, verdict.second, ranges))
        elif verdict.rule.alert_kind is not None and (a.key, b.key) not in absorbed:
            alert_pairs.append(
                AlertPair(verdict.rule, verdict.first, verdict.second, tuple(ranges))
            )
    for (ka, kb), ranges in pairs.internal_live.items():
        alert_pairs.append(
            AlertPair(_INTERNAL_OVERLAP, pairs.blocks[ka], pairs.blocks[kb], tuple(ranges))
        )
    for (ka, kb), ranges in pairs.internal_reuse.items():
        alert_pairs.append(
            AlertPair(_INTERNAL_REUSE, pairs.blocks[ka], pairs.blocks[kb], tuple(ranges))
        )
    return alerts_of(alert_pairs), links


def beyond_issuance(blocks: Iterable[UnitBlock]) -> list[AlertDraft]:
    """Quantity mismatches of shares past their issuance's stated total (JCM: an issuance of
    ``issuance_total`` units split between two ledgers, each share a sub-range of
    1..issuance_total): the units past the total were never issued. One alert per share."""
    pairs: list[AlertPair] = []
    for block in blocks:
        total = block.issuance_total
        if total is None or block.block_end <= total or block.numbering is not None:
            continue
        if block.status == "withdrawn":
            continue
        inside = ((block.block_start, total),) if block.block_start <= total else ()
        beyond = ((max(block.block_start, total + 1), block.block_end),)
        pairs.append(AlertPair(_BEYOND_ISSUANCE, block, block, inside, beyond))
    return alerts_of(pairs)


def _mismatches(classified: list[_Classified]) -> tuple[list[AlertPair], set[tuple[Key, Key]]]:
    """Quantity mismatches: a target linked (by its origin) to records of a source registry
    that holds units the source registry never closed (cancelled, transferred, retired):
    units past the source's end, or still live there. Alert pairs of the target with live
    records of that registry are part of the mismatch (returned as absorbed), not a separate
    double issuance."""
    by_target: dict[Key, list[tuple[UnitBlock, UnitBlock, Verdict | None, Ranges]]] = defaultdict(
        list
    )
    for a, b, verdict, ranges in classified:
        for target, other in ((a, b), (b, a)):
            if target.origin is not None:
                by_target[target.key].append((target, other, verdict, ranges))
    found: list[AlertPair] = []
    absorbed: set[tuple[Key, Key]] = set()
    for entries in by_target.values():
        target = entries[0][0]
        sources = [
            (other, ranges)
            for _, other, verdict, ranges in entries
            if verdict is not None
            and verdict.rule.link_kind in _COUNTED_MOVES
            and points_at(target, other)
        ]
        for registry in sorted({other.registry for other, _ in sources}):
            closed = merge_ranges(
                r
                for _, other, _, ranges in entries
                if other.registry == registry and group_of(other.status) != LIVE
                for r in ranges
            )
            excess = subtract_ranges(target.block_start, target.block_end, closed)
            if not excess:
                continue
            mine = [(o, r) for o, r in sources if o.registry == registry]
            anchor = max(mine, key=lambda item: (range_size(item[1]), item[0].key))[0]
            shared = merge_ranges(r for _, ranges in mine for r in ranges)
            found.append(AlertPair(_MISMATCH, anchor, target, tuple(shared), tuple(excess)))
            for _, other, verdict, _ in entries:
                alert = verdict is not None and verdict.is_alert
                if alert and other.registry == registry and group_of(other.status) == LIVE:
                    absorbed.add(_ordered(target.key, other.key))
    return found, absorbed


def _ordered(a: Key, b: Key) -> tuple[Key, Key]:
    return (a, b) if a < b else (b, a)


def alerts_of(alert_pairs: Sequence[AlertPair]) -> list[AlertDraft]:
    """Group alert pairs into alerts (see the module docstring)."""
    groups: dict[tuple[str, str, str], list[AlertPair]] = defaultdict(list)
    for given in alert_pairs:
        pair = _oriented(given) if given.rule.name in _SYMMETRIC else given
        low, high = sorted((pair.first.registry, pair.second.registry))
        groups[(pair.kind, low, high)].append(pair)
    out: list[AlertDraft] = []
    for members in groups.values():
        for component in _components(members):
            out.append(_draft(component))
    return out


def _oriented(pair: AlertPair) -> AlertPair:
    """A symmetric pattern in one order: by registry, then by key."""
    if (pair.first.registry, pair.first.key) > (pair.second.registry, pair.second.key):
        return AlertPair(pair.rule, pair.second, pair.first, pair.ranges, pair.excess)
    return pair


def _components(members: list[AlertPair]) -> list[list[AlertPair]]:
    parent: dict[Key, Key] = {}

    def find(key: Key) -> Key:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    for pair in members:
        ra, rb = find(pair.first.key), find(pair.second.key)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    by_root: dict[Key, list[AlertPair]] = defaultdict(list)
    for pair in members:
        by_root[find(pair.first.key)].append(pair)
    return list(by_root.values())


def _severity(pairs: Sequence[AlertPair]) -> str:
    return max((p.rule.severity or "low" for p in pairs), key=SEVERITIES.index)


def _draft(component: list[AlertPair]) -> AlertDraft:
    anchor = min(component, key=lambda p: (-p.size, p.first.key, p.second.key))
    first, second = anchor.first, anchor.second
    overlap = [max(first.block_start, second.block_start), min(first.block_end, second.block_end)]
    ident = hash_id(
        "al_",
        {"kind": anchor.kind, "a": list(first.key), "b": list(second.key), "overlap": overlap},
    )
    ranges = merge_ranges(r for p in component for r in p.ranges)
    excess = merge_ranges(r for p in component for r in p.excess)
    if first.registry == second.registry:
        firsts = {p.first.key: p.first for p in component}
        seconds = {p.second.key: p.second for p in component if p.second.key not in firsts}
    else:  # roles by registry: a pair of the component may list the two the other way round
        records = {b.key: b for p in component for b in (p.first, p.second)}
        firsts = {k: b for k, b in records.items() if b.registry == first.registry}
        seconds = {k: b for k, b in records.items() if b.registry != first.registry}
    side_order = sorted(
        [("a", b) for b in firsts.values()] + [("b", b) for b in seconds.values()],
        key=lambda rb: (rb[0], rb[1].block_start, rb[1].key),
    )
    hull = merge_ranges([*ranges, *excess])
    draft = AlertDraft(
        id=ident,
        kind=anchor.kind,
        severity=_severity(component),
        scheme=first.scheme,
        scope=first.scope,
        registry_a=first.registry,
        registry_b=second.registry,
        sides=side_order,
        ranges=ranges,
        excess=excess,
        rules=sorted({p.rule.name for p in component}),
        explanation="",
        overlap_start=hull[0][0],
        overlap_end=hull[-1][1],
        # overlap_start..overlap_end is every unit the alert is about (shared and, for a
        # quantity mismatch, the excess) and overlap_size counts exactly those units; which
        # are shared and which are the excess is in detail.ranges / detail.excess.
        overlap_size=range_size(hull),
        keys=set(firsts) | set(seconds),
    )
    draft.explanation = explain(
        anchor.rule,
        sorted(firsts.values(), key=lambda b: (b.block_start, b.key)),
        sorted(seconds.values(), key=lambda b: (b.block_start, b.key)) or [second],
        ranges,
        excess,
        first.scheme,
        first.scope,
    )
    return draft
