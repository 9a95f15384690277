"""Reading the index for detection: the full sweep and the incremental range probes.

**Full sweep** (:func:`sweep`): one SELECT of only the columns that place a block (scheme,
scope, range, id) over the raw driver cursor, as tuples, ordered by (scheme, scope,
block_start) (SQLite: sorted in Python, several times faster than SQLite's sorter on a million
rows; PostgreSQL: ``ORDER BY`` on a server-side cursor). A sweep keeping the furthest end seen
cuts it into clusters (runs connected by intersection); most blocks overlap nothing and cost
one comparison. Only clusters of two or more blocks are read in full, by id, and only those
that can hold a finding (two registries, two live blocks of one registry, or a retirement next
to a cancellation or transfer of one registry) are analysed.

**Incremental probes** (:func:`closure`): the blocks overlapping a set of ranges, batched.
A (scheme, scope) with few blocks (a Gold Standard, ACR or CAR batch, a JCM issuance: numbering
restarts per batch) is read whole, hundreds of them per statement. A large one (VCS's
registry-wide numbering) is probed with the span-class index of
:mod:`metaregistry.index.tables` like :func:`metaregistry.index.store.overlapping`, but one
statement per thousand ranges, one index range probe per range and span class *present* (found
with a loose index scan), instead of one 64-branch statement per range (about 0.75 ms each).
Probing repeats with the ranges of newly found blocks until nothing new turns up, so the
clusters it returns are complete: every block overlapping one of them is in it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Any, Final

import sqlalchemy as sa

from metaregistry.detect.cluster import Key, Ranges, add_range, subtract_ranges
from metaregistry.index.store import unit_block, unit_block_version
from metaregistry.model import CONTENT_FIELDS, MAX_BLOCK_NUMBER, UnitBlock

__all__ = ["Progress", "changed_blocks", "closure", "previous_ranges", "sweep"]

#: ``progress(done, total)``: blocks swept so far and in all.
Progress = Callable[[int, int], None]
Group = tuple[str, str]

_COLUMNS: Final = CONTENT_FIELDS
_CHUNK: Final = 900
_WINDOWS_PER_STATEMENT: Final = 1000
_GROUPS_PER_STATEMENT: Final = 500
#: A (scheme, scope) with at most this many blocks (a Gold Standard, ACR or CAR batch, a JCM
#: issuance) is read whole in one batched statement instead of probed range by range.
_SMALL_GROUP: Final = 256
_SWEEP_COLUMNS: Final = "scheme, scope, block_start, block_end, id"
_LIVE: Final = frozenset({"issued", "pending", "buffer"})
_OUT: Final = frozenset({"cancelled", "transferred"})


def _block(row: Sequence[Any]) -> UnitBlock:
    return UnitBlock(**dict(zip(_COLUMNS, row, strict=True)))


def _is_candidate(cluster: list[UnitBlock]) -> bool:
    if len({b.registry for b in cluster}) > 1:
        return True
    statuses = [b.status for b in cluster]
    if sum(1 for s in statuses if s in _LIVE) > 1:
        return True
    return "retired" in statuses and any(s in _OUT for s in statuses)


_SCHEMES: Final = """
WITH RECURSIVE present(s) AS (
  SELECT MIN(scheme) FROM unit_block
  UNION ALL
  SELECT (SELECT MIN(scheme) FROM unit_block WHERE scheme > present.s)
  FROM present WHERE present.s IS NOT NULL
)
SELECT s FROM present WHERE s IS NOT NULL
"""


def _rows(conn: sa.Connection) -> Iterable[tuple[Any, ...]]:
    """(scheme, scope, block_start, block_end, id) of every block not withdrawn, sorted;
    on SQLite the scheme comes as a small integer (one per scheme, same order)."""
    raw: Any = conn.connection.dbapi_connection
    where = "FROM unit_block WHERE status <> 'withdrawn'"
    if conn.dialect.name == "postgresql":
        return _server_side(
            raw, f"SELECT {_SWEEP_COLUMNS} {where} ORDER BY scheme, scope, block_start"
        )
    cursor = raw.cursor()
    try:
        # A small int per row instead of a new string object: a sixth of the fetch time.
        schemes = [row[0] for row in cursor.execute(_SCHEMES).fetchall()]
        if not schemes:
            return []
        case = "CASE scheme " + " ".join("WHEN ? THEN ?" for _ in schemes) + " END"
        params = [x for i, scheme in enumerate(schemes) for x in (scheme, i)]
        cursor.execute(f"SELECT {case}, scope, block_start, block_end, id {where}", params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    rows.sort()
    return rows


def _server_side(raw: Any, sql: str) -> Iterator[tuple[Any, ...]]:
    cursor = raw.cursor(name="metaregistry_detect_sweep")
    cursor.itersize = 20_000
    try:
        cursor.execute(sql)
        yield from cursor
    finally:
        cursor.close()


def _total(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(unit_block)).scalar() or 0)


def sweep(conn: sa.Connection, progress: Progress | None = None) -> Iterator[list[UnitBlock]]:
    """The candidate clusters of the whole index (see the module docstring), each as full
    blocks in (block_start, block_end) order."""
    total = _total(conn) if progress else 0
    pending: list[list[int]] = []
    pending_rows = 0
    ids: list[int] = []
    reach = -1
    scheme = scope = None
    done = 0
    # The hot loop of the full run: one iteration per block, so only comparisons here.
    for row in _rows(conn):
        if row[2] > reach or row[1] != scope or row[0] != scheme:
            if len(ids) > 1:
                pending.append(ids)
                pending_rows += len(ids)
                if pending_rows >= 5000:
                    yield from _read(conn, pending)
                    pending, pending_rows = [], 0
            ids = [row[4]]
            reach = row[3]
            scheme, scope = row[0], row[1]
        else:
            ids.append(row[4])
            reach = max(reach, row[3])
        done += 1
        if progress is not None and done % 100_000 == 0:
            progress(done, total)
    if len(ids) > 1:
        pending.append(ids)
    yield from _read(conn, pending)
    if progress is not None:
        progress(done, total)


def _read(conn: sa.Connection, clusters: list[list[int]]) -> Iterator[list[UnitBlock]]:
    """Full blocks of the clusters that can hold a finding."""
    ids = [i for cluster in clusters for i in cluster]
    found: dict[int, UnitBlock] = {}
    columns = [unit_block.c.id, *(unit_block.c[name] for name in _COLUMNS)]
    for i in range(0, len(ids), _CHUNK):
        stmt = sa.select(*columns).where(unit_block.c.id.in_(ids[i : i + _CHUNK]))
        for row in conn.execute(stmt):
            found[row[0]] = _block(row[1:])
    for cluster in clusters:
        blocks = [found[i] for i in cluster if i in found]
        if len(blocks) > 1 and _is_candidate(blocks):
            yield blocks


def changed_blocks(conn: sa.Connection, since_version_id: int) -> tuple[dict[Key, UnitBlock], int]:
    """The records with a version written after ``since_version_id``, each as its newest
    version (the current block: ``unit_block_version`` holds the current version too), and
    the newest version id (``since_version_id`` when there is none)."""
    table = unit_block_version
    stmt = sa.select(table.c.registry, table.c.record_id, table.c.id, table.c.content).where(
        table.c.id > since_version_id
    )
    newest: dict[Key, tuple[int, str]] = {}
    upto = since_version_id
    for registry, record_id, version_id, content in conn.execute(stmt).all():
        key = (registry, record_id)
        if key not in newest or newest[key][0] < version_id:
            newest[key] = (version_id, content)
        upto = max(upto, int(version_id))
    blocks = {key: UnitBlock.from_json(json.loads(c)) for key, (_, c) in newest.items()}
    return blocks, upto


def previous_ranges(
    conn: sa.Connection, keys: Collection[Key], since_version_id: int
) -> list[tuple[str, str, int, int]]:
    """Where the ``keys`` were as of ``since_version_id`` (their newest version up to it, when
    not withdrawn): a block that moved or left can have hidden a finding there (the most
    final record of its registry on those units), so that place is checked again."""
    table = unit_block_version
    by_registry: dict[str, list[str]] = defaultdict(list)
    for registry, record_id in keys:
        by_registry[registry].append(record_id)
    newest: dict[Key, tuple[int, str]] = {}
    for registry, ids in by_registry.items():
        ids.sort()
        for i in range(0, len(ids), _CHUNK):
            stmt = sa.select(table.c.record_id, table.c.version, table.c.content).where(
                table.c.registry == registry,
                table.c.record_id.in_(ids[i : i + _CHUNK]),
                table.c.id <= since_version_id,
            )
            for record_id, version, content in conn.execute(stmt).all():
                key = (registry, record_id)
                if key not in newest or newest[key][0] < version:
                    newest[key] = (version, content)
    out: list[tuple[str, str, int, int]] = []
    for _, content in newest.values():
        old = json.loads(content)
        if old["status"] != "withdrawn":
            out.append((old["scheme"], old["scope"], old["block_start"], old["block_end"]))
    return out


_CLASSES: Final = sa.text(
    """
WITH RECURSIVE present(k) AS (
  SELECT MIN(span_class) FROM unit_block WHERE scheme = :scheme AND scope = :scope
  UNION ALL
  SELECT (SELECT MIN(span_class) FROM unit_block
          WHERE scheme = :scheme AND scope = :scope AND span_class > present.k)
  FROM present WHERE present.k IS NOT NULL
)
SELECT k FROM present WHERE k IS NOT NULL
"""
)


def _probe_sql(classes: Sequence[int], windows: int, mark: str) -> str:
    values = ", ".join([f"(CAST({mark} AS BIGINT), CAST({mark} AS BIGINT))"] * windows)
    cols = ", ".join(f"u.{name}" for name in _COLUMNS)
    branches = [
        f"SELECT {cols} FROM w JOIN unit_block u ON u.scheme = {mark} AND u.scope = {mark}"
        f" AND u.span_class = {k} AND u.block_start >= w.lo - {(1 << k) - 1}"
        " AND u.block_start <= w.hi AND u.block_end >= w.lo AND u.status <> 'withdrawn'"
        for k in classes
    ]
    return f"WITH w(lo, hi) AS (VALUES {values}) " + " UNION ALL ".join(branches)


def _probe(conn: sa.Connection, group: Group, windows: Ranges) -> list[UnitBlock]:
    scheme, scope = group
    classes = [int(r[0]) for r in conn.execute(_CLASSES, {"scheme": scheme, "scope": scope})]
    if not classes:
        return []
    mark = _mark(conn)
    out: list[UnitBlock] = []
    for i in range(0, len(windows), _WINDOWS_PER_STATEMENT):
        chunk = windows[i : i + _WINDOWS_PER_STATEMENT]
        params: list[Any] = [x for window in chunk for x in window]
        params.extend([scheme, scope] * len(classes))
        sql = _probe_sql(classes, len(chunk), mark)
        out.extend(_block(row) for row in conn.exec_driver_sql(sql, tuple(params)).all())
    return out


def _mark(conn: sa.Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _small_groups(conn: sa.Connection, groups: Sequence[Group]) -> set[Group]:
    """The groups with at most :data:`_SMALL_GROUP` blocks (each counted no further)."""
    mark = _mark(conn)
    small: set[Group] = set()
    for i in range(0, len(groups), _GROUPS_PER_STATEMENT):
        chunk = groups[i : i + _GROUPS_PER_STATEMENT]
        values = ", ".join([f"({mark}, {mark})"] * len(chunk))
        sql = (
            f"WITH s(scheme, scope) AS (VALUES {values}) SELECT s.scheme, s.scope, "
            "(SELECT count(*) FROM (SELECT 1 FROM unit_block u WHERE u.scheme = s.scheme"
            f" AND u.scope = s.scope LIMIT {_SMALL_GROUP + 1}) AS n) FROM s"
        )
        params = tuple(x for group in chunk for x in group)
        for scheme, scope, count in conn.exec_driver_sql(sql, params).all():
            if int(count) <= _SMALL_GROUP:
                small.add((scheme, scope))
    return small


def _whole_groups(conn: sa.Connection, groups: Sequence[Group]) -> list[UnitBlock]:
    """Every block, not withdrawn, of small groups: one statement for many of them."""
    mark = _mark(conn)
    cols = ", ".join(f"u.{name}" for name in _COLUMNS)
    out: list[UnitBlock] = []
    for i in range(0, len(groups), _GROUPS_PER_STATEMENT):
        chunk = groups[i : i + _GROUPS_PER_STATEMENT]
        values = ", ".join([f"({mark}, {mark})"] * len(chunk))
        sql = (
            f"WITH s(scheme, scope) AS (VALUES {values}) SELECT {cols} FROM s JOIN unit_block u"
            " ON u.scheme = s.scheme AND u.scope = s.scope WHERE u.status <> 'withdrawn'"
        )
        params = tuple(x for group in chunk for x in group)
        out.extend(_block(row) for row in conn.exec_driver_sql(sql, params).all())
    return out


def _merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    out: Ranges = []
    for start, end in sorted(ranges):
        add_range(out, start, end)
    return out


def closure(
    conn: sa.Connection, seeds: Iterable[tuple[str, str, int, int]]
) -> dict[Key, UnitBlock]:
    """Every current, not withdrawn block connected by overlap to one of the ``seeds``
    ranges (scheme, scope, start, end): whole clusters (see the module docstring)."""
    pending: dict[Group, list[tuple[int, int]]] = defaultdict(list)
    for scheme, scope, start, end in seeds:
        pending[(scheme, scope)].append((start, end))
    covered: dict[Group, Ranges] = {}
    known: dict[Key, UnitBlock] = {}
    small = sorted(_small_groups(conn, sorted(pending)))
    found = _whole_groups(conn, small)
    for group in small:
        covered[group] = [(0, MAX_BLOCK_NUMBER)]
        del pending[group]
    while True:
        for group, ranges in pending.items():
            windows = _merge(ranges)
            found.extend(_probe(conn, group, windows))
            covered[group] = _merge([*covered.get(group, []), *windows])
        pending = defaultdict(list)
        for block in found:
            if block.key in known:
                continue
            known[block.key] = block
            group = (block.scheme, block.scope)
            gaps = subtract_ranges(block.block_start, block.block_end, covered.get(group, []))
            pending[group].extend(gaps)
        pending = defaultdict(list, {g: r for g, r in pending.items() if r})
        if not pending:
            return known
        found = []
