"""Helpers for the detection tests: hand-built blocks and a brute-force oracle.

The oracle restates DOMAIN.md's numbering rules unit by unit, with no segments, sweeps or
index: for every unit number, the records covering it, grouped by registry; the most final
record of each registry; every two registries' most final records form a cross pair; two
live records of a registry whose unit state is live form an internal pair; a retirement after
a cancellation or transfer in a registry alone on the unit forms a reuse pair. Only fit for
small ranges (it walks every unit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from metaregistry.canonical import hash_json
from metaregistry.detect.cluster import ClusterPairs, Key, Ranges
from metaregistry.model import STATUS_FINALITY, UnitBlock

_FINALITY = {status.value: rank for status, rank in STATUS_FINALITY.items()}
_LIVE = {"issued", "pending", "buffer"}
_OUT = {"cancelled", "transferred"}


def block(
    registry: str,
    record_id: str,
    start: int,
    end: int,
    status: str = "issued",
    *,
    scheme: str = "vcs",
    scope: str = "",
    serial: str | None = None,
    **fields: Any,
) -> UnitBlock:
    """A normalized block with its hashes set, ready for ``store.upsert_blocks``."""
    made = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=serial or f"{registry.upper()}-{scope or 'X'}-{start}-{end}-{record_id}",
        scheme=scheme,
        scope=scope,
        block_start=start,
        block_end=end,
        quantity=end - start + 1,
        status=status,
        **fields,
    )
    made.observed_at = "2026-01-01T00:00:00Z"
    made.raw_hash = hash_json({"raw": made.content()})
    made.record_hash = hash_json(made.content())
    return made


def verra_serial(start: int, end: int, batch: int = 5531, project: int = 934) -> str:
    """A current-format VCU serial naming ``start..end``."""
    return f"{batch}-{start}-{end}-VCS-VCU-262-VER-CD-14-{project}-01012015-31122015-0"


def _ranges(units: Iterable[int]) -> Ranges:
    out: Ranges = []
    for u in sorted(units):
        if out and out[-1][1] + 1 == u:
            out[-1] = (out[-1][0], u)
        else:
            out.append((u, u))
    return out


def _dominant(records: Sequence[UnitBlock]) -> UnitBlock:
    return min(
        records,
        key=lambda b: (-_FINALITY[b.status], b.block_end - b.block_start, b.record_id),
    )


def _before(first: str | None, second: str | None) -> bool:
    return first is not None and second is not None and first <= second


def oracle_pairs(blocks: Sequence[UnitBlock]) -> ClusterPairs:
    """The pairs of :func:`metaregistry.detect.cluster.pairs_of`, unit by unit."""
    out = ClusterPairs()
    current = [b for b in blocks if b.status != "withdrawn"]
    for b in current:
        out.blocks[b.key] = b
    cross: dict[tuple[Key, Key], set[int]] = defaultdict(set)
    live: dict[tuple[Key, Key], set[int]] = defaultdict(set)
    reuse: dict[tuple[Key, Key], set[int]] = defaultdict(set)
    groups: dict[tuple[str, str], list[UnitBlock]] = defaultdict(list)
    for b in current:
        groups[(b.scheme, b.scope)].append(b)
    for members in groups.values():
        units = {u for b in members for u in range(b.block_start, b.block_end + 1)}
        for u in units:
            by_registry: dict[str, list[UnitBlock]] = defaultdict(list)
            for b in members:
                if b.block_start <= u <= b.block_end:
                    by_registry[b.registry].append(b)
            tops = {r: _dominant(recs) for r, recs in by_registry.items()}
            for registry, records in by_registry.items():
                top = tops[registry]
                lives = sorted((r for r in records if r.status in _LIVE), key=lambda r: r.key)
                if top.status in _LIVE:
                    for i, a in enumerate(lives):
                        for b in lives[i + 1 :]:
                            live[(a.key, b.key)].add(u)
                if top.status == "retired" and len(by_registry) == 1:
                    for moved in records:
                        if moved.status in _OUT and _before(moved.status_date, top.status_date):
                            reuse[(moved.key, top.key)].add(u)
            names = sorted(tops)
            for i, ra in enumerate(names):
                for rb in names[i + 1 :]:
                    ka, kb = sorted((tops[ra].key, tops[rb].key))
                    cross[(ka, kb)].add(u)
    out.cross = {k: _ranges(v) for k, v in cross.items()}
    out.internal_live = {k: _ranges(v) for k, v in live.items()}
    out.internal_reuse = {k: _ranges(v) for k, v in reuse.items()}
    return out
