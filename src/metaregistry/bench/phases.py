"""The benchmark phases. Each runs in a child process (see :mod:`.runner`) and returns a
dict of figures; timings use ``time.perf_counter`` around the measured work only."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from metaregistry.bench.peer import ours_import, peer_transform
from metaregistry.bench.records import world_files, world_records
from metaregistry.canonical import hash_json
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.ingest import (
    IngestReport,
    chunked,
    ingest_records,
    max_version_id,
    store_page,
    utc_stamp,
)
from metaregistry.memory import peak_rss_kib
from metaregistry.pipeline import PreparedPage
from metaregistry.preparers import Preparers, default_jobs, reader_url

PAGE = 2000
Phase = Callable[[dict[str, Any]], dict[str, Any]]


def _engine(url: str) -> sa.Engine:
    engine = create_engine(url)
    migrate(engine)
    return engine


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def _ingest(engine: sa.Engine, world: Path, jobs: int) -> dict[str, Any]:
    """Every record of ``world`` through :func:`~metaregistry.ingest.ingest_records` (pages of
    PAGE, one transaction each), connector by connector, with ``jobs`` preparing processes
    shared by all connectors (1: a preparing thread). Besides the wall time: this process's
    CPU time, and the busy time of each stage (reading parses, preparing validates,
    normalizes and hashes, storing upserts, appends to the log and commits; they overlap).

    The connectors load (import) before the clock starts, and so do the preparing processes
    (``preparers_start_seconds``, reported). Their peak RSS is their own: the ``peak_rss_mib``
    the runner adds is the largest of one process, so ``peak_rss_sum_mib`` adds this
    process's peak and every worker's (an upper bound of what they held at once)."""
    files = world_files(world)
    total = IngestReport()
    preparers: Preparers | None = None
    start_seconds = 0.0
    if jobs > 1:
        started = time.perf_counter()
        preparers = Preparers(jobs, reader_url(engine), preload=sorted({c.name for c, _ in files}))
        preparers.start()
        start_seconds = time.perf_counter() - started
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for connector, group in groupby(world_records(world, files), key=lambda pair: pair[0]):
            report = ingest_records(
                engine, connector, (r for _, r in group), page_size=PAGE, preparers=preparers
            )
            for name in ("seen", "written", "unchanged", "quarantined"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            for name in ("read", "prepare", "store", "waited"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    finally:
        if preparers is not None:
            preparers.close()
    own_peak = peak_rss_kib() / 1024
    workers_peak = preparers.peak_rss_mib if preparers is not None else []
    return {
        "records": total.seen,
        "written": total.written,
        "quarantined_records": total.quarantined,
        "jobs": jobs,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "preparers_cpu_seconds": preparers.cpu_seconds if preparers is not None else None,
        "preparers_start_seconds": start_seconds,
        "records_per_s": total.seen / seconds,
        "stages_seconds": {
            "read": total.read,
            "prepare": total.prepare,
            "store": total.store,
            "store_waiting_for_pages": total.waited,
        },
        "peak_rss_self_mib": round(own_peak, 1),
        "preparers_peak_rss_mib": workers_peak,
        "peak_rss_sum_mib": round(own_peak + sum(workers_peak), 1),
    }


def _jobs(params: dict[str, Any]) -> int:
    """Preparing processes of an ingest phase: ``jobs`` in its parameters, else the default
    of ``metaregistry import`` on this machine."""
    return int(params.get("jobs") or default_jobs())


def ingest(params: dict[str, Any]) -> dict[str, Any]:
    """The whole pipeline: parse, validate, normalize, hash, upsert, log append."""
    engine = _engine(params["db_url"])
    result = _ingest(engine, Path(params["world"]), _jobs(params))
    result["blocks"] = _count(engine, store.unit_block)
    result["quarantined"] = _count(engine, store.quarantine_table)
    return result


def floor(params: dict[str, Any]) -> dict[str, Any]:
    """The floor: the same records only parsed, SHA-256-hashed and bulk-inserted raw."""
    path = Path(params["sqlite_path"])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE raw (hash TEXT PRIMARY KEY, payload TEXT NOT NULL)")
    world = Path(params["world"])
    files = world_files(world)
    records = 0
    started, cpu = time.perf_counter(), time.process_time()
    for chunk in chunked(world_records(world, files), PAGE):
        rows = []
        for _, record in chunk:
            text = json.dumps(record.payload, sort_keys=True)
            rows.append((hashlib.sha256(text.encode()).hexdigest(), text))
        db.executemany("INSERT OR IGNORE INTO raw VALUES (?, ?)", rows)
        db.commit()
        records += len(chunk)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    db.close()
    return {
        "records": records,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "records_per_s": records / seconds,
    }


def resync_unchanged(params: dict[str, Any]) -> dict[str, Any]:
    """The same source again, unchanged: must write no row."""
    engine = _engine(params["db_url"])
    before = _count(engine, store.unit_block_version)
    result = _ingest(engine, Path(params["world"]), _jobs(params))
    result["rows_written"] = _count(engine, store.unit_block_version) - before
    return result


def _changed_pages(engine: sa.Engine, every: int, limit: int | None) -> list[PreparedPage]:
    """Every ``every``-th current block, amended (as a source would report a change)."""
    stamp = utc_stamp()
    pages: dict[str, PreparedPage] = {}
    taken = 0
    with engine.connect() as conn:
        for i, block in enumerate(store.blocks(conn)):
            if i % every:
                continue
            block.status_reason = ((block.status_reason or "") + " (amended)").strip()
            block.record_hash = hash_json(block.content())
            block.observed_at = stamp
            pages.setdefault(block.registry, PreparedPage()).blocks.append(block)
            taken += 1
            if limit is not None and taken >= limit:
                break
    return list(pages.values())


def resync_changed(params: dict[str, Any]) -> dict[str, Any]:
    """A cursor-incremental sync that brings 0.1% of the records, changed. The change set is
    built before the clock starts (a cursor source would send only these)."""
    from metaregistry import plugins

    engine = _engine(params["db_url"])
    total = _count(engine, store.unit_block)
    pages = _changed_pages(engine, 1000, None)
    generic = plugins.load("generic")
    before = _count(engine, store.unit_block_version)
    started, cpu = time.perf_counter(), time.process_time()
    changed = 0
    for page in pages:
        for chunk in chunked(page.blocks, PAGE):
            with engine.begin() as conn:
                result = store_page(
                    conn, generic, PreparedPage(blocks=chunk), observed_at=utc_stamp()
                )
            changed += result.written
    seconds = time.perf_counter() - started
    return {
        "blocks": total,
        "changed": changed,
        "seconds": seconds,
        "cpu_seconds": time.process_time() - cpu,
        "rows_written": _count(engine, store.unit_block_version) - before,
    }


def detect_full(params: dict[str, Any]) -> dict[str, Any]:
    from metaregistry.detect import engine as detect_engine

    engine = _engine(params["db_url"])
    started = time.perf_counter()
    summary = detect_engine.detect_full(engine)
    seconds = time.perf_counter() - started
    return {
        "blocks": _count(engine, store.unit_block),
        "seconds": seconds,
        "summary": _plain(summary),
    }


def detect_incremental(params: dict[str, Any]) -> dict[str, Any]:
    """10,000 blocks changed by a sync, then the incremental check of just those."""
    from metaregistry import plugins
    from metaregistry.detect import engine as detect_engine

    engine = _engine(params["db_url"])
    total = _count(engine, store.unit_block)
    every = max(1, total // params.get("changed", 10_000))
    pages = _changed_pages(engine, every, params.get("changed", 10_000))
    with engine.connect() as conn:
        since = max_version_id(conn)
    generic = plugins.load("generic")
    for page in pages:
        for chunk in chunked(page.blocks, PAGE):
            with engine.begin() as conn:
                store_page(conn, generic, PreparedPage(blocks=chunk), observed_at=utc_stamp())
    started = time.perf_counter()
    with engine.begin() as conn:
        summary = detect_engine.detect_incremental(conn, since)
    seconds = time.perf_counter() - started
    changed = sum(len(p.blocks) for p in pages)
    return {"blocks": total, "changed": changed, "seconds": seconds, "summary": _plain(summary)}


def log_append(params: dict[str, Any]) -> dict[str, Any]:
    """N leaves appended in batches of 2,000, then 10,000 inclusion proofs."""
    from metaregistry.log import store as log_store
    from metaregistry.log.leaf import BlockLeaf

    engine = _engine(params["db_url"])
    n = int(params["records"])
    started = time.perf_counter()
    for start in range(0, n, PAGE):
        leaves = [
            BlockLeaf(registry="bench", record_id=str(i), version=1, record_hash=f"{i:064x}")
            for i in range(start, min(n, start + PAGE))
        ]
        with engine.begin() as conn:
            log_store.append_leaves(conn, leaves)
    append_seconds = time.perf_counter() - started
    rng = random.Random(1)
    proofs = int(params.get("proofs", 10_000))
    with engine.connect() as conn:
        size = log_store.tree_size(conn)
        started = time.perf_counter()
        for _ in range(proofs):
            log_store.inclusion_proof(conn, rng.randrange(size), size)
        proof_seconds = time.perf_counter() - started
    return {
        "leaves": n,
        "append_seconds": append_seconds,
        "appends_per_s": n / append_seconds,
        "proofs": proofs,
        "proof_ms": proof_seconds / proofs * 1000,
    }


def _plain(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return _plain(value.to_json())
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value if isinstance(value, int | float | str | bool | type(None)) else str(value)


PHASES: dict[str, Phase] = {
    "ingest": ingest,
    "floor": floor,
    "resync_unchanged": resync_unchanged,
    "resync_changed": resync_changed,
    "detect_full": detect_full,
    "detect_incremental": detect_incremental,
    "log": log_append,
    "peer_transform": peer_transform,
    "peer_import": ours_import,
}
