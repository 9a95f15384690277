"""Detection runs: full and incremental.

* :func:`detect_full` rechecks the whole index with one sweep (``metaregistry detect --full``).
* :func:`detect_incremental` rechecks only the clusters of the records that got a new version
  after ``since_version_id`` (the sync engine reads :func:`metaregistry.ingest.max_version_id`
  before a sync and calls it after), plus the places where those records were as of
  ``since_version_id`` and where their stored alerts and links lie: a record that moved or was
  withdrawn leaves the blocks it overlapped to be rechecked (it may have been the most final
  record of its registry there, hiding an internal overlap). The cost follows the change, not
  the index size.

Both find the same alerts and links for the same index (a property test checks it against a
brute-force oracle) and store them with :func:`metaregistry.detect.lifecycle.reconcile`; each
run is a ``detect_run`` row. Both run inside the caller's transaction (``detect_full`` opens
one when given an engine) and take the detection lock first.
"""

from __future__ import annotations

import gc
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from metaregistry.detect import driver, lifecycle, scan
from metaregistry.detect.changes import Seed, changes_after
from metaregistry.detect.closure import closure, read_clusters
from metaregistry.detect.cluster import Key, pairs_of
from metaregistry.detect.findings import AlertDraft, LinkDraft, beyond_issuance, drafts_of
from metaregistry.detect.tables import alert_table, block_link_table, detect_run_table
from metaregistry.index.store import block_from_row, unit_block, unit_block_version
from metaregistry.model import UnitBlock

__all__ = ["DetectSummary", "detect_full", "detect_incremental", "findings_of", "last_run"]


@dataclass
class DetectSummary:
    """What one run checked and changed. (No slots: the sync engine reports ``vars()`` of it.)"""

    mode: str
    since_version_id: int
    upto_version_id: int
    blocks_checked: int = 0
    clusters: int = 0
    alerts_found: int = 0
    links_found: int = 0
    alerts_opened: int = 0
    alerts_updated: int = 0
    alerts_resolved: int = 0
    alerts_reopened: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def findings_of(
    clusters: Iterable[list[UnitBlock]],
) -> tuple[list[AlertDraft], list[LinkDraft], int, int]:
    """Alerts and links of clusters, with the count of clusters and blocks checked."""
    alerts: list[AlertDraft] = []
    links: list[LinkDraft] = []
    n_clusters = n_blocks = 0
    for cluster in clusters:
        n_clusters += 1
        n_blocks += len(cluster)
        found_alerts, found_links = drafts_of(pairs_of(cluster))
        alerts.extend(found_alerts)
        links.extend(found_links)
    return alerts, links, n_clusters, n_blocks


def _past_issuance(conn: sa.Connection) -> list[UnitBlock]:
    """Current blocks reaching past their issuance's stated total (few: a data error)."""
    ub = unit_block
    stmt = sa.select(ub).where(
        ub.c.issuance_total.is_not(None), ub.c.block_end > ub.c.issuance_total
    )
    return [block_from_row(row) for row in conn.execute(stmt)]


def _max_version_id(conn: sa.Connection) -> int:
    value = conn.execute(sa.select(sa.func.max(unit_block_version.c.id))).scalar()
    return int(value or 0)


def detect_full(
    target: sa.Engine | sa.Connection,
    progress: scan.Progress | None = None,
    *,
    now: datetime | None = None,
) -> DetectSummary:
    """Recheck every block of the index; resolves stored alerts no longer found."""
    if isinstance(target, sa.Engine):
        with target.begin() as conn:
            return detect_full(conn, progress, now=now)
    conn = target
    started = datetime.now(UTC)
    lifecycle.lock(conn)
    upto = _max_version_id(conn)
    with _collector_paused():
        alerts, links, n_clusters, _ = findings_of(scan.sweep(conn, progress))
    alerts.extend(beyond_issuance(_past_issuance(conn)))
    summary = DetectSummary(mode="full", since_version_id=0, upto_version_id=upto)
    summary.blocks_checked = _count_blocks(conn)
    summary.clusters = n_clusters
    _store(conn, summary, alerts, links, None, started, now)
    return summary


#: Above this many new versions (and a fifth of the index) an incremental run sweeps instead.
_FULL_AFTER = 100_000


def _versions_after(conn: sa.Connection, since_version_id: int) -> int:
    table = unit_block_version
    stmt = sa.select(sa.func.count()).where(table.c.id > since_version_id)
    return int(conn.execute(stmt).scalar() or 0)


def _count_blocks(conn: sa.Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(unit_block)).scalar() or 0)


def _stored_regions(conn: sa.Connection, keys: Collection[Key]) -> list[Seed]:
    """Where the stored alerts and links of ``keys`` lie."""
    alert_ids = lifecycle.alert_ids_of(conn, keys)
    out: list[Seed] = []
    table = alert_table
    ids = sorted(alert_ids)
    for i in range(0, len(ids), 500):
        stmt = sa.select(
            table.c.scheme, table.c.scope, table.c.overlap_start, table.c.overlap_end
        ).where(table.c.id.in_(ids[i : i + 500]))
        out.extend((r[0], r[1], int(r[2]), int(r[3])) for r in conn.execute(stmt))
    columns = ("scheme", "scope", "overlap_start", "overlap_end")
    rows = driver.rows_of_keys(conn, block_link_table.name, columns, lifecycle.LINK_SIDES, keys)
    out.extend((r[0], r[1], int(r[2]), int(r[3])) for r in rows)
    return out


def detect_incremental(
    conn: sa.Connection, since_version_id: int, *, now: datetime | None = None
) -> DetectSummary:
    """Recheck what changed after ``since_version_id`` (see the module docstring)."""
    started = datetime.now(UTC)
    versions = _versions_after(conn, since_version_id)
    if versions > _FULL_AFTER and versions > _count_blocks(conn) // 5:
        # A first import or a resync of most of the index: one sweep is cheaper than probing
        # every block, and finds the same.
        summary = detect_full(conn, now=now)
        summary.since_version_id = since_version_id
        return summary
    with _collector_paused(), driver.jit_off(conn):
        return _incremental(conn, since_version_id, started, now)


def _incremental(
    conn: sa.Connection, since_version_id: int, started: datetime, now: datetime | None
) -> DetectSummary:
    lifecycle.lock(conn)
    changes = changes_after(conn, since_version_id)
    summary = DetectSummary(
        mode="incremental", since_version_id=since_version_id, upto_version_id=changes.upto
    )
    if not changes.keys:
        _record(conn, summary, started)
        return summary
    seeds = [*changes.seeds, *_stored_regions(conn, changes.keys)]
    found = closure(conn, seeds)
    alerts, links, n_clusters, _ = findings_of(read_clusters(conn, found.clusters()))
    scope = found.keys() | changes.keys
    alerts.extend(beyond_issuance(b for b in _past_issuance(conn) if b.key in scope))
    summary.blocks_checked = len(found)
    summary.clusters = n_clusters
    _store(conn, summary, alerts, links, scope, started, now)
    return summary


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused; reference counting still frees everything. An
    incremental run keeps tens of thousands of small tuples until it ends: at 10,000 changed
    blocks against a million they set off a full collection of the process's heap (80 ms of
    a 0.41 s run in the benchmark's process), which finds nothing to free. A full run's
    sweep holds a tuple per block: every growth of the heap by a quarter set off another
    full collection, each longer than the last."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _store(
    conn: sa.Connection,
    summary: DetectSummary,
    alerts: list[AlertDraft],
    links: list[LinkDraft],
    scope: set[Key] | None,
    started: datetime,
    now: datetime | None,
) -> None:
    changes = lifecycle.reconcile(conn, alerts, links, scope=scope, now=now)
    summary.alerts_found = len(alerts)
    summary.links_found = len(links)
    summary.alerts_opened = changes.opened
    summary.alerts_updated = changes.updated
    summary.alerts_resolved = changes.resolved
    summary.alerts_reopened = changes.reopened
    _record(conn, summary, started)


def _record(conn: sa.Connection, summary: DetectSummary, started: datetime) -> None:
    conn.execute(
        detect_run_table.insert().values(
            mode=summary.mode,
            started_at=started,
            finished_at=datetime.now(UTC),
            since_version_id=summary.since_version_id,
            upto_version_id=summary.upto_version_id,
            blocks_checked=summary.blocks_checked,
            alerts_opened=summary.alerts_opened,
            alerts_updated=summary.alerts_updated,
            alerts_resolved=summary.alerts_resolved,
            alerts_reopened=summary.alerts_reopened,
            links=summary.links_found,
        )
    )


def last_run(conn: sa.Connection) -> int | None:
    """The version id the newest run checked up to, or None before the first run."""
    value = conn.execute(sa.select(sa.func.max(detect_run_table.c.upto_version_id))).scalar()
    return None if value is None else int(value)


def keep_watermark_at(conn: sa.Connection, committed: int) -> None:
    """No run's watermark past ``committed``, the id up to which every version was
    committed before the run began (``metaregistry.index.store.committed_version_id``):
    on PostgreSQL a writer in flight may still commit lower ids than the newest a run saw,
    and the next run must check them."""
    conn.execute(
        detect_run_table.update()
        .where(detect_run_table.c.upto_version_id > committed)
        .values(upto_version_id=committed)
    )
