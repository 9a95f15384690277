"""Storing prepared pages: blocks, raw payloads, quarantine and log leaves in one transaction.

Both paths into the index use it: ``metaregistry sync`` (pages from HTTP streams) and
``metaregistry import`` (chunks of export files). The caller owns the transaction, so a page's
records, its log leaves and (for sync) its cursor commit together or not at all.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

import sqlalchemy as sa

from metaregistry.connector import Connector, RawRecord
from metaregistry.index import store
from metaregistry.index.store import QuarantineEntry, StoredVersion, UpsertResult
from metaregistry.pipeline import PreparedPage, prepare_page

__all__ = [
    "IngestReport",
    "PageResult",
    "chunked",
    "ingest_records",
    "max_version_id",
    "now_utc",
    "store_page",
    "utc_stamp",
]

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
        # A page built by hand (blocks only) has no version texts: the store makes them.
        version_texts=(
            prepared.version_texts if len(prepared.version_texts) == len(prepared.blocks) else None
        ),
    )
    result.written = upserted.written
    result.unchanged = upserted.unchanged
    result.versions = upserted.versions
    append_version_leaves(conn, upserted.versions)
    store.quarantine(conn, prepared.quarantined)
    result.quarantined = prepared.quarantined
    return result


@dataclass(slots=True)
class IngestReport:
    """What :func:`ingest_records` did, with where its time went: ``read`` (pulling records
    from the source, which parses them), ``prepare`` (validate, normalize, hash) and ``store``
    (upsert, log append, commit), each the busy time of the thread that does it, and
    ``waited``: the storing thread idle for want of a prepared page."""

    pages: int = 0
    seen: int = 0
    written: int = 0
    unchanged: int = 0
    quarantined: int = 0
    read: float = 0.0
    prepare: float = 0.0
    store: float = 0.0
    waited: float = 0.0


def ingest_records(
    engine: sa.Engine,
    connector: Connector,
    records: Iterable[RawRecord],
    *,
    page_size: int = 2000,
    on_page: Callable[[PageResult], None] | None = None,
) -> IngestReport:
    """Prepare and store ``records`` in pages of ``page_size``, one transaction per page.

    The next page is read and prepared in a second thread while the current one is stored:
    the database does its part without holding the GIL (SQLite's statements and commit,
    PostgreSQL's round trips), so the two overlap on a second core. At most two prepared
    pages wait, so memory stays flat. An error on either side stops both and is raised here.
    ``on_page`` sees each stored page's result (its quarantined records, for example)."""
    report = IngestReport()
    # A prepared page with its observed_at, the error that stopped the reader, or None: done.
    pages: queue.Queue[tuple[PreparedPage, str] | BaseException | None] = queue.Queue(maxsize=2)
    stop = threading.Event()

    def hand_over(item: tuple[PreparedPage, str] | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    reader = _reader(engine)

    def known(keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        assert reader is not None
        # A short read transaction per page: it sees what the writer committed so far (a
        # stale answer only costs a skipped shortcut) and never holds back SQLite's checkpoint.
        with reader.connect() as conn:
            return store.current_hashes(conn, keys)

    def produce() -> None:
        try:
            chunks = chunked(records, page_size)
            while True:
                started = time.perf_counter()
                chunk = next(chunks, None)
                read = time.perf_counter()
                report.read += read - started
                if chunk is None:
                    break
                stamp = utc_stamp()
                prepared = prepare_page(
                    connector, chunk, stamp, known if reader is not None else None
                )
                report.prepare += time.perf_counter() - read
                if not hand_over((prepared, stamp)):
                    return
            hand_over(None)
        except BaseException as exc:  # handed to the storing side, which raises it
            hand_over(exc)

    producer = threading.Thread(target=produce, name=f"prepare-{connector.name}", daemon=True)
    producer.start()
    try:
        while True:
            started = time.perf_counter()
            item = pages.get()
            got = time.perf_counter()
            report.waited += got - started
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            prepared, stamp = item
            with engine.begin() as conn:
                result = store_page(conn, connector, prepared, observed_at=stamp)
            report.store += time.perf_counter() - got
            report.pages += 1
            report.seen += result.seen
            report.written += result.written
            report.unchanged += result.unchanged
            report.quarantined += len(result.quarantined)
            if on_page is not None:
                on_page(result)
    finally:
        stop.set()
        producer.join()
        if reader is not None:
            reader.dispose()
    return report


def _reader(engine: sa.Engine) -> sa.Engine | None:
    """A read-only engine on the same database for the preparing thread's lookups (the writer
    engine begins every transaction IMMEDIATE on SQLite, taking the write lock). None for a
    private in-memory SQLite database, which a second connection would not see."""
    from metaregistry.index.db import create_engine

    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    ):
        return None
    return create_engine(engine.url.render_as_string(hide_password=False), readonly=True)


def max_version_id(conn: sa.Connection) -> int:
    """The newest ``unit_block_version`` id: detection after a sync checks what lies past it."""
    table = store.unit_block_version
    value = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    return int(value or 0)
