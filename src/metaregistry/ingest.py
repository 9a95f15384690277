"""Storing prepared pages: blocks, raw payloads, quarantine and log leaves in one transaction.

Both paths into the index use it: ``metaregistry sync`` (pages from HTTP streams) and
``metaregistry import`` (chunks of export files). The caller owns the transaction, so a page's
records, its log leaves and (for sync) its cursor commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

import sqlalchemy as sa

from metaregistry.connector import Connector, RawRecord
from metaregistry.index import store
from metaregistry.index.store import QuarantineEntry, StoredVersion, UpsertResult
from metaregistry.pipeline import PreparedPage, prepare_page

__all__ = ["PageResult", "chunked", "max_version_id", "now_utc", "store_page", "utc_stamp"]

T = TypeVar("T")


def now_utc() -> datetime:
    return datetime.now(UTC)


def utc_stamp(moment: datetime | None = None) -> str:
    """RFC 3339 UTC timestamp with microseconds, the form of ``observed_at``."""
    moment = moment or now_utc()
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(slots=True)
class PageResult:
    seen: int = 0
    written: int = 0
    unchanged: int = 0
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    versions: list[StoredVersion] = field(default_factory=list)


def append_version_leaves(conn: sa.Connection, versions: Sequence[StoredVersion]) -> None:
    """One log leaf per new block version (issue: tamper-evident log)."""
    if not versions:
        return
    from metaregistry.log import store as log_store
    from metaregistry.log.leaf import BlockLeaf

    log_store.append_leaves(
        conn,
        [
            BlockLeaf(
                registry=v.block.registry,
                record_id=v.block.record_id,
                version=v.version,
                record_hash=v.block.record_hash or "",
            )
            for v in versions
        ],
    )


def store_page(
    conn: sa.Connection,
    connector: Connector,
    records: Sequence[RawRecord] | PreparedPage,
    *,
    observed_at: str,
    fetch_previous: bool = False,
) -> PageResult:
    """Prepare (unless already prepared) and store one page on ``conn``."""
    prepared = (
        records
        if isinstance(records, PreparedPage)
        else prepare_page(connector, records, observed_at)
    )
    result = PageResult(seen=len(prepared.blocks) + len(prepared.quarantined))
    upserted: UpsertResult = store.upsert_blocks(
        conn,
        prepared.blocks,
        connector=connector.name,
        raw_payloads=prepared.raw_payloads,
        fetch_previous=fetch_previous,
    )
    result.written = upserted.written
    result.unchanged = upserted.unchanged
    result.versions = upserted.versions
    append_version_leaves(conn, upserted.versions)
    store.quarantine(conn, prepared.quarantined)
    result.quarantined = prepared.quarantined
    return result


def max_version_id(conn: sa.Connection) -> int:
    """The newest ``unit_block_version`` id: detection after a sync checks what lies past it."""
    table = store.unit_block_version
    value = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    return int(value or 0)


def payload_text(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
