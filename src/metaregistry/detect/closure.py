"""The blocks an incremental run checks: every block connected by overlap to a set of ranges.

:func:`closure` finds them by *place* only (range, id and key: what connects blocks and what
the run's scope needs), batched. A (scheme, scope) with few blocks (a Gold Standard, ACR or
CAR batch, a JCM issuance: numbering restarts per batch) is read whole, hundreds of them per
statement. A large one (VCS's registry-wide numbering) is probed with the span-class index of
:mod:`metaregistry.index.tables` like :func:`metaregistry.index.store.overlapping`, but one
statement per thousand ranges, one index range probe per range and span class *present*
(found with a loose index scan), instead of one 64-branch statement per range (about 0.75 ms
each). Probing repeats with the ranges of newly found blocks until nothing new turns up, so
the clusters it returns are complete: every block overlapping one of them is in it.

Most checked blocks overlap nothing (10,000 changed blocks against a million reach 22,000
blocks in 144 clusters of two or more), so only the blocks of clusters of two or more are
read in full (:func:`read_clusters`): building 22,000 full blocks cost more than all the
probes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa

from metaregistry.detect import driver
from metaregistry.detect.changes import Seed
from metaregistry.detect.cluster import Key, Ranges, add_range, subtract_ranges
from metaregistry.model import CONTENT_FIELDS, UnitBlock

__all__ = ["Found", "Group", "Place", "closure", "read_clusters"]

Group = tuple[str, str]
#: (block_start, block_end, id, registry, record_id) of a current block, not withdrawn
Place = tuple[int, int, int, str, str]

_PLACE: Final = "u.block_start, u.block_end, u.id, u.registry, u.record_id"
_WINDOWS_PER_STATEMENT: Final = 1000
_GROUPS_PER_STATEMENT: Final = 500
_IDS_PER_STATEMENT: Final = 900
#: A (scheme, scope) with at most this many blocks (a Gold Standard, ACR or CAR batch, a JCM
#: issuance) is read whole in one batched statement instead of probed range by range.
_SMALL_GROUP: Final = 256


@dataclass(slots=True)
class Found:
    """The places of the blocks connected to the seeds, by group and id."""

    groups: dict[Group, dict[int, Place]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(places) for places in self.groups.values())

    def keys(self) -> set[Key]:
        return {(p[3], p[4]) for places in self.groups.values() for p in places.values()}

    def clusters(self) -> list[list[int]]:
        """The ids of each cluster of two or more blocks (runs of a group connected by
        intersection: adjacent ranges do not connect), each in (start, end) order."""
        out: list[list[int]] = []
        for places in self.groups.values():
            current: list[int] = []
            reach = -1
            for start, end, block_id, _, _ in sorted(places.values()):
                if current and start > reach:
                    if len(current) > 1:
                        out.append(current)
                    current = []
                reach = max(reach, end) if current else end
                current.append(block_id)
            if len(current) > 1:
                out.append(current)
        return out


_CLASSES: Final = """
WITH RECURSIVE present(k) AS (
  SELECT MIN(span_class) FROM unit_block WHERE scheme = {m} AND scope = {m}
  UNION ALL
  SELECT (SELECT MIN(span_class) FROM unit_block
          WHERE scheme = {m} AND scope = {m} AND span_class > present.k)
  FROM present WHERE present.k IS NOT NULL
)
SELECT k FROM present WHERE k IS NOT NULL
"""


def _probe_sql(classes: Sequence[int], windows: int, m: str, dialect: str) -> str:
    values = ", ".join([f"(CAST({m} AS BIGINT), CAST({m} AS BIGINT))"] * windows)
    conditions = [
        f"u.scheme = {m} AND u.scope = {m} AND u.span_class = {k}"
        f" AND u.block_start >= w.lo - {(1 << k) - 1} AND u.block_start <= w.hi"
        " AND u.block_end >= w.lo AND u.status <> 'withdrawn'"
        for k in classes
    ]
    if dialect == "postgresql":
        # LATERAL: one index range probe per window and class. A plain join let the planner
        # read every block of a class once and test it against every window (at 100k blocks,
        # 0.4 s for 323 windows; quadratic as both grow).
        branches = " UNION ALL ".join(
            f"SELECT {_PLACE} FROM unit_block u WHERE {c}" for c in conditions
        )
        return f"WITH w(lo, hi) AS (VALUES {values}) SELECT x.* FROM w, LATERAL ({branches}) x"
    branches = " UNION ALL ".join(
        f"SELECT {_PLACE} FROM w JOIN unit_block u ON {c}" for c in conditions
    )
    return f"WITH w(lo, hi) AS (VALUES {values}) {branches}"


def _probe(conn: sa.Connection, group: Group, windows: Ranges) -> list[Place]:
    scheme, scope = group
    m = driver.mark(conn)
    classes = [int(r[0]) for r in driver.fetch(conn, _CLASSES.format(m=m), [*group, *group])]
    if not classes:
        return []
    out: list[Place] = []
    for i in range(0, len(windows), _WINDOWS_PER_STATEMENT):
        chunk = windows[i : i + _WINDOWS_PER_STATEMENT]
        params: list[Any] = [x for window in chunk for x in window]
        params.extend([scheme, scope] * len(classes))
        sql = _probe_sql(classes, len(chunk), m, conn.dialect.name)
        out.extend(driver.fetch(conn, sql, params))
    return out


def _small_groups(conn: sa.Connection, groups: Sequence[Group]) -> list[Group]:
    """The groups with at most :data:`_SMALL_GROUP` blocks (each counted no further)."""
    m = driver.mark(conn)
    small: list[Group] = []
    for i in range(0, len(groups), _GROUPS_PER_STATEMENT):
        chunk = groups[i : i + _GROUPS_PER_STATEMENT]
        values = ", ".join([f"({m}, {m})"] * len(chunk))
        sql = (
            f"WITH s(scheme, scope) AS (VALUES {values}) SELECT s.scheme, s.scope, "
            "(SELECT count(*) FROM (SELECT 1 FROM unit_block u WHERE u.scheme = s.scheme"
            f" AND u.scope = s.scope LIMIT {_SMALL_GROUP + 1}) AS n) FROM s"
        )
        params = [x for group in chunk for x in group]
        for scheme, scope, count in driver.fetch(conn, sql, params):
            if int(count) <= _SMALL_GROUP:
                small.append((scheme, scope))
    return small


def _whole_groups(conn: sa.Connection, groups: Sequence[Group]) -> list[tuple[Group, Place]]:
    """The place of every block, not withdrawn, of ``groups``: one statement for many."""
    m = driver.mark(conn)
    out: list[tuple[Group, Place]] = []
    for i in range(0, len(groups), _GROUPS_PER_STATEMENT):
        chunk = groups[i : i + _GROUPS_PER_STATEMENT]
        values = ", ".join([f"({m}, {m})"] * len(chunk))
        sql = (
            f"WITH s(scheme, scope) AS (VALUES {values}) SELECT u.scheme, u.scope, {_PLACE}"
            " FROM s JOIN unit_block u ON u.scheme = s.scheme AND u.scope = s.scope"
            " WHERE u.status <> 'withdrawn'"
        )
        params = [x for group in chunk for x in group]
        out.extend(((r[0], r[1]), r[2:]) for r in driver.fetch(conn, sql, params))
    return out


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for start, end in sorted(ranges):
        add_range(out, start, end)
    return out


def closure(conn: sa.Connection, seeds: Iterable[Seed]) -> Found:
    """Every current, not withdrawn block connected by overlap to one of the ``seeds``
    ranges (scheme, scope, start, end): whole clusters (see the module docstring)."""
    pending: dict[Group, list[tuple[int, int]]] = defaultdict(list)
    for scheme, scope, start, end in seeds:
        pending[(scheme, scope)].append((start, end))
    out = Found()
    small = _small_groups(conn, sorted(pending))
    for group in small:
        out.groups[group] = {}
        del pending[group]
    for group, place in _whole_groups(conn, small):
        out.groups[group][place[2]] = place
    covered: dict[Group, Ranges] = {}
    while pending:
        gaps: dict[Group, list[tuple[int, int]]] = defaultdict(list)
        for group, ranges in pending.items():
            windows = _merge(ranges)
            done = covered[group] = _merge([*covered.get(group, []), *windows])
            places = out.groups.setdefault(group, {})
            for place in _probe(conn, group, windows):
                if place[2] not in places:
                    places[place[2]] = place
                    gaps[group].extend(subtract_ranges(place[0], place[1], done))
        pending = {group: ranges for group, ranges in gaps.items() if ranges}
    return out


def read_clusters(conn: sa.Connection, clusters: Sequence[Sequence[int]]) -> list[list[UnitBlock]]:
    """The full blocks of ``clusters`` (block ids), in the same order."""
    ids = [i for cluster in clusters for i in cluster]
    m = driver.mark(conn)
    cols = ", ".join(CONTENT_FIELDS)
    blocks: dict[int, UnitBlock] = {}
    for i in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[i : i + _IDS_PER_STATEMENT]
        sql = f"SELECT id, {cols} FROM unit_block WHERE id IN ({', '.join([m] * len(chunk))})"
        for row in driver.fetch(conn, sql, chunk):
            blocks[row[0]] = UnitBlock(**dict(zip(CONTENT_FIELDS, row[1:], strict=True)))
    return [[blocks[i] for i in cluster] for cluster in clusters]
