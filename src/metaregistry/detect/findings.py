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
from dataclasses import dataclass, field
from typing import Any

from metaregistry.canonical import hash_json
from metaregistry.detect.cluster import ClusterPairs, Key, Ranges, add_range, subtract_ranges
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
    "AlertDraft",
    "AlertPair",
    "LinkDraft",
    "describe_units",
    "drafts_of",
    "merge_ranges",
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
#: Rules that are not status patterns, for the test that every rule has a test.
INTERNAL_RULES = (_INTERNAL_OVERLAP, _INTERNAL_REUSE, _MISMATCH)
# Moves whose target must add up to what the source gave up (DOMAIN.md: "a mirror or
# conversion whose quantities do not add up"). Not tokenization: custody bridges (Stellarcarbon,
# Moss) mint on units they hold and retire them in the source registry only as tokens are
# redeemed, so a token covering more than its retirements is their normal state.
_COUNTED_MOVES = frozenset({"conversion", "mirror", "compliance_move", "transition"})
_SYMMETRIC = frozenset({"double-use", "double-issuance-live", "internal-overlap"})


def merge_ranges(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for start, end in sorted(ranges):
        add_range(out, start, end)
    return out


def _size(ranges: Sequence[tuple[int, int]]) -> int:
    return sum(end - start + 1 for start, end in ranges)


@dataclass(frozen=True, slots=True)
class AlertPair:
    """Two records showing one alert pattern over ``ranges``; ``first`` in the rule's first
    role (the source of a directed pattern)."""

    rule: Rule
    first: UnitBlock
    second: UnitBlock
    ranges: tuple[tuple[int, int], ...]
    excess: tuple[tuple[int, int], ...] = ()

    @property
    def kind(self) -> str:
        assert self.rule.alert_kind is not None
        return self.rule.alert_kind

    @property
    def size(self) -> int:
        return _size(self.ranges)


@dataclass(frozen=True, slots=True)
class LinkDraft:
    id: str
    kind: str
    rule: str
    source: UnitBlock
    target: UnitBlock
    ranges: tuple[tuple[int, int], ...]
    explanation: str

    @property
    def overlap_start(self) -> int:
        return self.ranges[0][0]

    @property
    def overlap_end(self) -> int:
        return self.ranges[-1][1]

    @property
    def overlap_size(self) -> int:
        return _size(self.ranges)


@dataclass(slots=True)
class AlertDraft:
    """An alert as detection sees it now; :meth:`content` is what its rows and events hold."""

    id: str
    kind: str
    severity: str
    scheme: str
    scope: str
    registry_a: str
    registry_b: str
    sides: list[tuple[str, UnitBlock]]
    ranges: Ranges
    excess: Ranges
    rules: list[str]
    explanation: str
    overlap_start: int = 0
    overlap_end: int = 0
    overlap_size: int = 0
    keys: set[Key] = field(default_factory=set)

    def sides_json(self) -> list[dict[str, Any]]:
        return [
            {
                "registry": b.registry,
                "record_id": b.record_id,
                "serial": b.serial,
                "block_start": b.block_start,
                "block_end": b.block_end,
                "status": b.status,
                "role": role,
            }
            for role, b in self.sides
        ]

    def detail_json(self) -> dict[str, Any]:
        return {
            "ranges": [list(r) for r in self.ranges],
            "excess": [list(r) for r in self.excess],
            "rules": self.rules,
        }

    def content(self) -> dict[str, Any]:
        """Every fact of the alert that detection derives (no status, no times)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity,
            "scheme": self.scheme,
            "scope": self.scope,
            "registry_a": self.registry_a,
            "registry_b": self.registry_b,
            "overlap_start": self.overlap_start,
            "overlap_end": self.overlap_end,
            "overlap_size": self.overlap_size,
            "explanation": self.explanation,
            "sides": self.sides_json(),
            "detail": self.detail_json(),
        }


def describe_units(ranges: Sequence[tuple[int, int]], scheme: str, scope: str) -> str:
    """``"120 units (100-199, 300-319) of vcs"``; long range lists are cut."""
    shown = ", ".join(f"{s}-{e}" if s != e else str(s) for s, e in ranges[:3])
    if len(ranges) > 3:
        shown += f" and {len(ranges) - 3} more ranges"
    where = f"{scheme} scope {scope}" if scope else scheme
    size = _size(ranges)
    return f"{size:,} unit{'s' if size != 1 else ''} ({shown}) of {where}"


def _describe(blocks: Sequence[UnitBlock]) -> str:
    head = blocks[0].registry
    parts = [f"{b.serial} ({b.status})" for b in blocks[:3]]
    more = f" and {len(blocks) - 3} more" if len(blocks) > 3 else ""
    noun = "serial" if len(blocks) == 1 else "serials"
    return f"{head} {noun} {', '.join(parts)}{more}"


def _explain(
    rule: Rule,
    first: list[UnitBlock],
    second: list[UnitBlock],
    draft: AlertDraft | None,
    ranges: Sequence[tuple[int, int]],
    excess: Sequence[tuple[int, int]],
    scheme: str,
    scope: str,
) -> str:
    return rule.template.format(
        first=_describe(first),
        second=_describe(second),
        units=describe_units(ranges, scheme, scope),
        excess=describe_units(excess, scheme, scope) if excess else "nothing",
        registry=first[0].registry,
        second_registry=second[0].registry,
    )


def _hash_id(prefix: str, value: Any) -> str:
    return prefix + hash_json(value)[:24]


def _link(rule: Rule, source: UnitBlock, target: UnitBlock, ranges: Ranges) -> LinkDraft:
    assert rule.link_kind is not None
    kind = rule.link_kind
    ident = _hash_id("ln_", {"kind": kind, "source": list(source.key), "target": list(target.key)})
    text = _explain(rule, [source], [target], None, ranges, (), source.scheme, source.scope)
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
            anchor = max(mine, key=lambda item: (_size(item[1]), item[0].key))[0]
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
    ident = _hash_id(
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
        overlap_size=_size(ranges),
        keys=set(firsts) | set(seconds),
    )
    draft.explanation = _explain(
        anchor.rule,
        sorted(firsts.values(), key=lambda b: (b.block_start, b.key)),
        sorted(seconds.values(), key=lambda b: (b.block_start, b.key)) or [second],
        draft,
        ranges,
        excess,
        first.scheme,
        first.scope,
    )
    return draft
