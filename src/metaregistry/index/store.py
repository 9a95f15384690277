"""Writing and reading unit blocks: idempotent bulk upsert with history, range queries.

The upsert is keyed by (registry, record_id). An unchanged ``record_hash`` writes nothing;
a changed one updates the current row and appends a version; the old version stays in
``unit_block_version``. Everything runs on the caller's connection, inside the caller's
transaction, with executemany (one statement per page, not an ORM object per row).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects import sqlite as sqlite_dialect

from metaregistry.index.bulk import (
    ROW_COLUMNS,
    VERSION_COLUMNS,
    existing_versions,
    insert_raw,
    insert_rows,
    row,
    update_row,
    update_rows,
    version_row,
)
from metaregistry.index.tables import (
    QuarantineRow,
    RawRecordRow,
    UnitBlockRow,
    UnitBlockVersionRow,
)
from metaregistry.model import ALL_FIELDS, UnitBlock

__all__ = [
    "QuarantineEntry",
    "StoredVersion",
    "UpsertResult",
    "block_from_row",
    "blocks",
    "blocks_by_key",
    "current_hashes",
    "get_block",
    "history",
    "insert_ignore",
    "overlapping",
    "quarantine",
    "upsert_blocks",
]

unit_block: sa.Table = UnitBlockRow.__table__  # type: ignore[attr-defined]
unit_block_version: sa.Table = UnitBlockVersionRow.__table__  # type: ignore[attr-defined]
raw_record: sa.Table = RawRecordRow.__table__  # type: ignore[attr-defined]
quarantine_table: sa.Table = QuarantineRow.__table__  # type: ignore[attr-defined]

_KEY_CHUNK = 900  # keeps IN lists well under every driver's parameter limit


@dataclass(slots=True)
class StoredVersion:
    """A version the upsert wrote: a new record or a changed one."""

    block: UnitBlock
    version: int
    previous: UnitBlock | None = None


@dataclass(slots=True)
class UpsertResult:
    inserted: int = 0
    changed: int = 0
    unchanged: int = 0
    versions: list[StoredVersion] = field(default_factory=list)

    @property
    def written(self) -> int:
        return self.inserted + self.changed


@dataclass(slots=True)
class QuarantineEntry:
    """A record that failed: the raw payload, where it came from, and why."""

    connector: str
    stream: str
    ref: str
    raw_hash: str
    payload: Any
    stage: str  # "raw", "normalize", "normalized"
    error: str


def insert_ignore(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT that skips rows whose primary or unique key exists (both dialects)."""
    if conn.dialect.name == "postgresql":
        return pg.insert(table).on_conflict_do_nothing()
    return sqlite_dialect.insert(table).on_conflict_do_nothing()


def current_hashes(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """``(record_hash, raw_hash)`` of the current version of each of ``keys`` that is stored
    (the pipeline skips re-validating records that hash the same as these)."""
    return {key: (found[1], found[2]) for key, found in existing_versions(conn, keys).items()}


#: PostgreSQL advisory lock: every transaction writing versions holds it shared;
#: detection takes it exclusively for an instant to learn up to which version id every
#: version is committed (ids come from a sequence, and commit out of order).
VERSION_WRITES_LOCK_KEY = 0x6D72_7665_7200_0001


def hold_version_writes(conn: sa.Connection) -> None:
    """Mark this transaction as one writing versions until it ends (PostgreSQL; SQLite
    writes one transaction at a time, so its ids commit in order)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock_shared(:key)"),
            {"key": VERSION_WRITES_LOCK_KEY},
        )


def committed_version_id(conn: sa.Connection) -> int | None:
    """The version id up to which every version is committed: on PostgreSQL the newest id
    once the transactions writing versions at this moment have ended (new ones get higher
    ids from the sequence); None when they did not end within two minutes. Ends the
    connection's transaction on PostgreSQL."""
    table = unit_block_version
    if conn.dialect.name == "postgresql":
        # a transaction left open for minutes (never a page's) must not stall detection:
        # then None, and the caller records nothing past where it started
        conn.execute(sa.text("SET LOCAL lock_timeout = '120s'"))
        try:
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": VERSION_WRITES_LOCK_KEY}
            )
        except sa.exc.OperationalError:
            conn.rollback()
            return None
        value = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
        conn.commit()  # releases the lock at once
        return int(value or 0)
    return int(conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0)


def upsert_blocks(
    conn: sa.Connection,
    new_blocks: Sequence[UnitBlock],
    *,
    connector: str,
    raw_payloads: Mapping[str, str] | None = None,
    fetch_previous: bool = False,
    version_texts: Sequence[str | None] | None = None,
) -> UpsertResult:
    """Store a page of normalized blocks (with ``observed_at``, ``raw_hash``, ``record_hash``
    set). ``raw_payloads`` maps raw_hash to the payload's JSON text; payloads of written
    versions are kept. With ``fetch_previous`` each changed version carries the block it
    replaced (detection uses it to re-check what a block stopped overlapping).
    ``version_texts``, beside ``new_blocks``, may carry each block's version text
    (``canonicalize(block.to_json())``, made by the pipeline); None entries are made here."""
    result = UpsertResult()
    if not new_blocks:
        return result
    existing = existing_versions(conn, {b.key for b in new_blocks})
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    versions: list[tuple[Any, ...]] = []
    changed_keys: list[tuple[str, str]] = []
    written_raw: dict[str, None] = {}
    stored = result.versions
    texts = version_texts if version_texts is not None else [None] * len(new_blocks)
    for block, text in zip(new_blocks, texts, strict=True):
        key = block.key
        current = existing.get(key)
        if current is not None and current[1] == block.record_hash:
            result.unchanged += 1
            continue
        if current is None:
            version = 1
            inserts.append(row(block, version, connector))
            result.inserted += 1
        else:
            version = current[0] + 1
            updates.append(update_row(block, version, connector))
            changed_keys.append(key)
            result.changed += 1
        existing[key] = (version, block.record_hash or "", block.raw_hash or "")
        versions.append(version_row(block, version, connector, text))
        stored.append(StoredVersion(block=block, version=version))
        written_raw[block.raw_hash or ""] = None
    previous: dict[tuple[str, str], UnitBlock] = {}
    if fetch_previous and changed_keys:
        previous = {b.key: b for b in blocks_by_key(conn, changed_keys)}
    # A key repeated within the page gives one insert then updates: run inserts first, and
    # the updates in page order so the last version wins.
    if inserts:
        insert_rows(conn, "unit_block", ROW_COLUMNS, inserts)
    if updates:
        update_rows(conn, updates)
    if versions:
        hold_version_writes(conn)
        insert_rows(conn, "unit_block_version", VERSION_COLUMNS, versions)
    if raw_payloads:
        raws = [(h, connector, raw_payloads[h]) for h in written_raw if h in raw_payloads]
        if raws:
            insert_raw(conn, raws)
    if previous:
        for version_stored in stored:
            version_stored.previous = previous.get(version_stored.block.key)
    return result


def block_from_row(row: Any) -> UnitBlock:
    """A UnitBlock from a ``unit_block`` row (mapping access)."""
    mapping = row._mapping if hasattr(row, "_mapping") else row
    return UnitBlock(**{name: mapping[name] for name in ALL_FIELDS})


def blocks_by_key(conn: sa.Connection, keys: Sequence[tuple[str, str]]) -> list[UnitBlock]:
    """The current blocks of the given (registry, record_id) keys (absent ones left out)."""
    by_registry: dict[str, list[str]] = defaultdict(list)
    for registry, record_id in keys:
        by_registry[registry].append(record_id)
    out: list[UnitBlock] = []
    for registry, ids in by_registry.items():
        for i in range(0, len(ids), _KEY_CHUNK):
            stmt = sa.select(unit_block).where(
                unit_block.c.registry == registry,
                unit_block.c.record_id.in_(ids[i : i + _KEY_CHUNK]),
            )
            out.extend(block_from_row(r) for r in conn.execute(stmt))
    return out


def get_block(conn: sa.Connection, registry: str, record_id: str) -> UnitBlock | None:
    found = blocks_by_key(conn, [(registry, record_id)])
    return found[0] if found else None


def history(conn: sa.Connection, registry: str, record_id: str) -> list[tuple[int, UnitBlock]]:
    """Every version of a block, oldest first."""
    stmt = (
        sa.select(unit_block_version.c.version, unit_block_version.c.content)
        .where(
            unit_block_version.c.registry == registry,
            unit_block_version.c.record_id == record_id,
        )
        .order_by(unit_block_version.c.version)
    )
    return [(r[0], UnitBlock.from_json(json.loads(r[1]))) for r in conn.execute(stmt)]


_MAX_CLASS = 64


def _overlap_statement() -> sa.CompoundSelect[Any]:
    branches = [
        sa.select(unit_block).where(
            unit_block.c.scheme == sa.bindparam("scheme"),
            unit_block.c.scope == sa.bindparam("scope"),
            unit_block.c.span_class == k,
            unit_block.c.block_start >= sa.bindparam(f"lo{k}"),
            unit_block.c.block_start <= sa.bindparam("end"),
            unit_block.c.block_end >= sa.bindparam("start"),
        )
        for k in range(_MAX_CLASS)
    ]
    return sa.union_all(*branches)


_OVERLAP = _overlap_statement()
_MIN_BIGINT = -(2**63)


def overlap_params(scheme: str, scope: str, start: int, end: int) -> dict[str, Any]:
    params: dict[str, Any] = {"scheme": scheme, "scope": scope, "start": start, "end": end}
    for k in range(_MAX_CLASS):
        params[f"lo{k}"] = max(start - (1 << k) + 1, _MIN_BIGINT)
    return params


def overlapping(
    conn: sa.Connection, scheme: str, scope: str, start: int, end: int
) -> list[UnitBlock]:
    """Current blocks of ``scheme``/``scope`` whose range intersects [start, end] (inclusive).
    One index range probe per span class: cost follows the answer, not the index size."""
    rows = conn.execute(_OVERLAP, overlap_params(scheme, scope, start, end))
    return [block_from_row(r) for r in rows]


def blocks(conn: sa.Connection, *, batch: int = 5000) -> Iterator[UnitBlock]:
    """Every current block in (registry, record_id) order, streamed by keyset paging."""
    last: tuple[str, str] = ("", "")
    while True:
        stmt = (
            sa.select(unit_block)
            .where(sa.tuple_(unit_block.c.registry, unit_block.c.record_id) > sa.tuple_(*last))
            .order_by(unit_block.c.registry, unit_block.c.record_id)
            .limit(batch)
        )
        rows = conn.execute(stmt).fetchall()
        if not rows:
            return
        for r in rows:
            yield block_from_row(r)
        last = (rows[-1]._mapping["registry"], rows[-1]._mapping["record_id"])


def quarantine(conn: sa.Connection, entries: Sequence[QuarantineEntry]) -> int:
    """Keep failed records with their reason. The same raw payload of the same connector is
    kept once (a re-sync meeting it again bumps ``attempts`` and the error)."""
    if not entries:
        return 0
    now = datetime.now(UTC)
    table = quarantine_table
    rows = [
        {
            "connector": e.connector,
            "stream": e.stream,
            "ref": e.ref[:512],
            "raw_hash": e.raw_hash,
            "payload": e.payload
            if isinstance(e.payload, str)
            else json.dumps(e.payload, ensure_ascii=False, sort_keys=True, default=str),
            "stage": e.stage,
            "error": e.error,
            "created_at": now,
            "attempts": 1,
        }
        for e in entries
    ]
    if conn.dialect.name == "postgresql":
        stmt: Any = pg.insert(table)
    else:
        stmt = sqlite_dialect.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["connector", "raw_hash"],
        set_={
            "attempts": table.c.attempts + 1,
            "error": stmt.excluded.error,
            "ref": stmt.excluded.ref,
        },
    )
    conn.execute(stmt, rows)
    return len(rows)
