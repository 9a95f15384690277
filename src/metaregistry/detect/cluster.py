"""What one cluster of overlapping blocks shows, unit by unit (pure; no database).

A *cluster* is a maximal set of blocks of one (scheme, scope) whose ranges are connected by
intersection: every overlap lies inside one cluster, so clusters can be checked one at a time
and a change re-checks only the clusters it touches.

Per-registry state (DOMAIN.md, "Numbering rules"): a registry may list the same units in
several records (Gold Standard's issuance export lists batch 30256 as issued 1-5485, its
retirement export 110-5463 as retired). A unit's state in a registry is the most final state
among that registry's records covering it; the record that gives it is the registry's
*dominant* record on that unit (ties: the narrowest record, then the smallest record id, so the
retirement inside an issuance wins over a retired issuance row). So an issuance and its own
later retirement are never compared with each other, only the dominant records are.

The cluster is cut into elementary segments (between consecutive block starts and ends); on
each segment:

* every two registries present give a **cross** pair: their two dominant records;
* a registry whose state is live and that has two or more live records covering the segment
  gives **internal live** pairs (internal overlap: two live records claiming the same unit);
* a registry alone on the segment whose dominant record is a retirement while another of its
  records cancelled or transferred the units out before (by ``status_date``; unknown dates do
  not count) gives an **internal reuse** pair (use after transfer inside one registry).

Each pair comes with the merged ranges of the segments where it holds.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from metaregistry.detect.rules import LIVE, USED, group_of
from metaregistry.model import STATUS_FINALITY, Status, UnitBlock

__all__ = [
    "ClusterPairs",
    "Key",
    "Ranges",
    "add_range",
    "clusters_of",
    "pairs_of",
    "subtract_ranges",
]

Key = tuple[str, str]
Ranges = list[tuple[int, int]]
_FINALITY = {status.value: rank for status, rank in STATUS_FINALITY.items()}
_OUT = frozenset({Status.CANCELLED.value, Status.TRANSFERRED.value})


def add_range(ranges: Ranges, start: int, end: int) -> None:
    """Append [start, end] to ranges kept sorted by the caller, merging adjacent ranges."""
    if ranges and ranges[-1][1] + 1 >= start:
        last_start, last_end = ranges[-1]
        ranges[-1] = (last_start, max(last_end, end))
    else:
        ranges.append((start, end))


def subtract_ranges(start: int, end: int, covered: Ranges) -> Ranges:
    """The parts of [start, end] outside ``covered`` (sorted, disjoint ranges)."""
    out: Ranges = []
    i = max(bisect.bisect_right(covered, (start, start)) - 1, 0)
    cursor = start
    while i < len(covered) and cursor <= end:
        lo, hi = covered[i]
        i += 1
        if hi < cursor:
            continue
        if lo > end:
            break
        if lo > cursor:
            out.append((cursor, lo - 1))
        cursor = hi + 1
    if cursor <= end:
        out.append((cursor, end))
    return out


@dataclass(slots=True)
class ClusterPairs:
    """The pairs of one cluster, keyed by (registry, record_id) of both records. Cross and
    internal-live keys are in sorted order; internal-reuse keys are (the record that moved
    the units out, the retirement)."""

    blocks: dict[Key, UnitBlock] = field(default_factory=dict)
    cross: dict[tuple[Key, Key], Ranges] = field(default_factory=dict)
    internal_live: dict[tuple[Key, Key], Ranges] = field(default_factory=dict)
    internal_reuse: dict[tuple[Key, Key], Ranges] = field(default_factory=dict)


def _dominance(block: UnitBlock) -> tuple[int, int, str]:
    return (-_FINALITY[block.status], block.block_end - block.block_start, block.record_id)


def _retired_after_move(moved: UnitBlock, used: UnitBlock) -> bool:
    if moved.status_date is None or used.status_date is None:
        return False
    return moved.status_date <= used.status_date


def pairs_of(blocks: Sequence[UnitBlock]) -> ClusterPairs:
    """Every pair of the cluster (see the module docstring). ``blocks`` are current blocks of
    one (scheme, scope); withdrawn ones are skipped, and so are blocks whose range is a
    numbering of their own (``numbering`` ``own``: quantities per project and vintage, never
    unit numbers, see :mod:`metaregistry.reconcile` for what checks them). They need not form
    a single cluster."""
    out = ClusterPairs()
    live = [b for b in blocks if b.status != Status.WITHDRAWN and b.numbering is None]
    for b in live:
        out.blocks[b.key] = b
    if len(live) < 2:
        return out
    order = sorted(live, key=lambda b: b.block_start)
    bounds = sorted({b.block_start for b in live} | {b.block_end + 1 for b in live})
    active: list[UnitBlock] = []
    nxt = 0
    for j in range(len(bounds) - 1):
        seg_start, seg_end = bounds[j], bounds[j + 1] - 1
        while nxt < len(order) and order[nxt].block_start <= seg_start:
            active.append(order[nxt])
            nxt += 1
        active = [b for b in active if b.block_end >= seg_start]
        if len(active) >= 2:
            _segment(out, active, seg_start, seg_end)
    return out


def _segment(out: ClusterPairs, active: list[UnitBlock], start: int, end: int) -> None:
    by_registry: dict[str, list[UnitBlock]] = defaultdict(list)
    for b in active:
        by_registry[b.registry].append(b)
    dominant: dict[str, UnitBlock] = {}
    for registry, records in by_registry.items():
        top = min(records, key=_dominance) if len(records) > 1 else records[0]
        dominant[registry] = top
        if len(records) < 2:
            continue
        top_group = group_of(top.status)
        if top_group == LIVE:
            lives = sorted((r for r in records if group_of(r.status) == LIVE), key=_key)
            for i, first in enumerate(lives):
                for second in lives[i + 1 :]:
                    _add(out.internal_live, (first.key, second.key), start, end)
        elif top_group == USED and len(by_registry) == 1:
            for moved in records:
                if moved.status in _OUT and _retired_after_move(moved, top):
                    _add(out.internal_reuse, (moved.key, top.key), start, end)
    registries = sorted(dominant)
    for i, ra in enumerate(registries):
        for rb in registries[i + 1 :]:
            ka, kb = dominant[ra].key, dominant[rb].key
            _add(out.cross, (ka, kb) if ka < kb else (kb, ka), start, end)


def _key(block: UnitBlock) -> Key:
    return block.key


def _add(pairs: dict[tuple[Key, Key], Ranges], key: tuple[Key, Key], start: int, end: int) -> None:
    ranges = pairs.get(key)
    if ranges is None:
        pairs[key] = [(start, end)]
    else:
        add_range(ranges, start, end)


def clusters_of(blocks: Iterable[UnitBlock]) -> list[list[UnitBlock]]:
    """Split blocks into clusters: per (scheme, scope), runs of blocks whose ranges connect
    by intersection (adjacent ranges do not: ranges are inclusive). Withdrawn blocks and
    duplicates of one key are dropped."""
    seen: set[Key] = set()
    groups: dict[tuple[str, str], list[UnitBlock]] = defaultdict(list)
    for b in blocks:
        if b.status == Status.WITHDRAWN or b.key in seen:
            continue
        seen.add(b.key)
        groups[(b.scheme, b.scope)].append(b)
    out: list[list[UnitBlock]] = []
    for members in groups.values():
        members.sort(key=lambda b: (b.block_start, b.block_end))
        current: list[UnitBlock] = []
        reach = -1
        for b in members:
            if current and b.block_start > reach:
                out.append(current)
                current = []
            reach = max(reach, b.block_end) if current else b.block_end
            current.append(b)
        if current:
            out.append(current)
    return out
