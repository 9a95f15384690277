"""Storing prepared pages: blocks, raw payloads, quarantine and log leaves in one transaction.

Both paths into the index use it: ``metaregistry sync`` (pages from HTTP streams) and
``metaregistry import`` (chunks of export files). The caller owns the transaction, so a page's
records, its log leaves and (for sync) its cursor commit together or not at all.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

import sqlalchemy as sa

from metaregistry.connector import Connector, RawRecord
from metaregistry.index import store
from metaregistry.index.store import QuarantineEntry, StoredVersion, UpsertResult
from metaregistry.model import UnitBlock
from metaregistry.pipeline import KnownHashes, PreparedPage, prepare_page
from metaregistry.preparer_process import Unchanged
from metaregistry.preparers import Preparers, PreparingError, Ticket, hashes_reader, reader_url

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
    from the source, which parses them), ``prepare`` (validate, normalize, hash: the busy time
    of the preparing thread, or the CPU time of the preparing processes, summed), ``store``
    (upsert, log append, commit) and ``waited``: the storing thread idle for want of a
    prepared page.
    ``jobs`` is the number of preparing processes (1: a thread of this process) and
    ``preparer_peak_rss_mib`` their peak resident set sizes (not in this process's own)."""

    pages: int = 0
    seen: int = 0
    written: int = 0
    unchanged: int = 0
    quarantined: int = 0
    read: float = 0.0
    prepare: float = 0.0
    store: float = 0.0
    waited: float = 0.0
    jobs: int = 1
    preparer_peak_rss_mib: list[float] = field(default_factory=list)


def ingest_records(
    engine: sa.Engine,
    connector: Connector,
    records: Iterable[RawRecord],
    *,
    page_size: int = 2000,
    on_page: Callable[[PageResult], None] | None = None,
    jobs: int = 1,
    preparers: Preparers | None = None,
) -> IngestReport:
    """Prepare and store ``records`` in pages of ``page_size``; a write transaction holds
    whole pages up to :data:`TRANSACTION_RECORDS` records (see :class:`_Writer`).

    With ``jobs=1`` the next page is read and prepared in a second thread while the current
    one is stored: the database does its part without holding the GIL (SQLite's statements
    and commit, PostgreSQL's round trips), so the two overlap on a second core, but the
    pipeline's Python code runs on one. ``jobs`` > 1 prepares pages in that many worker
    processes started for this call (:mod:`metaregistry.preparers`); ``preparers`` hands in
    running ones instead, to share between calls. The connector must then be the one
    installed under its name, which is what the workers load. Either way pages are stored in
    the order they were read, so blocks, versions and log leaves are the same, and memory
    stays flat (a few pages wait at most). An error on either side stops both and is raised
    here, after the pages before it were stored; a preparing process that dies raises
    :class:`~metaregistry.preparers.PreparingError`. ``on_page`` sees each stored page's
    result (its quarantined records, for example)."""
    if jobs < 1:
        raise ValueError(f"jobs: {jobs} must be at least 1")
    with _collector_paused():
        if preparers is not None:
            return _ingest_in_processes(engine, connector, records, page_size, on_page, preparers)
        if jobs > 1:
            with Preparers(jobs, reader_url(engine), preload=[connector.name]) as own:
                return _ingest_in_processes(engine, connector, records, page_size, on_page, own)
        return _ingest_in_thread(engine, connector, records, page_size, on_page)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while pages are read and stored; reference
    counting frees each page's rows, records and blocks, and each commit collects the young
    generations (:meth:`_Writer.commit`), so cycles made by a page live one transaction at
    most. The collections that the allocation of every page set off found nothing (1,371
    cyclic objects after a 20,000-row and after a 100,000-row Verra import, all of the
    start) and took 7-9% of the storing process's CPU."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextlib.contextmanager
def _interrupt_after_commit() -> Iterator[None]:
    """Ctrl-C while a page is being stored takes effect once the page is committed.

    A KeyboardInterrupt in the middle of a statement leaves a PostgreSQL connection busy (a
    COPY in progress): the transaction's rollback then fails, and SQLAlchemy printed the
    traceback of a failed connection reset after "Aborted!". Only where Python's own Ctrl-C
    handler is in place: in the main thread, and not where SIGINT is ignored or handled by
    the caller (the daemon's)."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    pending = False

    def defer(_signum: int, _frame: object) -> None:
        nonlocal pending
        pending = True

    signal.signal(signal.SIGINT, defer)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if pending:
        raise KeyboardInterrupt


#: Records stored per write transaction by :func:`ingest_records` (whole pages, so a few
#: pages of 2,000): a commit writes every page the transaction touched, and the indexes keyed
#: by record id or hash take their inserts at random places, so small transactions write the
#: same index pages again and again (2,000 records a transaction wrote 1.8 times the bytes
#: of 10,000 on a 100,000-row Verra import, and spent 2.5 times as long committing).
TRANSACTION_RECORDS = 10_000


class _Writer:
    """The storing side's write transaction, kept open across pages until it holds
    :data:`TRANSACTION_RECORDS` records. Each page is stored under a savepoint: a page that
    fails is rolled back alone, and whatever ends the ingest (an error on either side, an
    interrupt, the end of the records) first commits the pages stored before it, so a page
    handed to ``on_page`` is a committed page once :func:`ingest_records` returns or
    raises, as with a transaction per page."""

    def __init__(self, engine: sa.Engine, report: IngestReport, limit: int) -> None:
        self.engine = engine
        self.report = report
        self.limit = limit
        self.conn: sa.Connection | None = None
        self.records = 0

    @contextlib.contextmanager
    def page(self) -> Iterator[sa.Connection]:
        if self.conn is None:
            self.conn = self.engine.connect()
            self.conn.begin()
        with self.conn.begin_nested():
            yield self.conn

    def stored(self, records: int) -> None:
        self.records += records
        if self.records >= self.limit:
            self.commit()

    def commit(self) -> None:
        conn, self.conn, self.records = self.conn, None, 0
        if conn is None:
            return
        started = time.perf_counter()
        try:
            with _interrupt_after_commit():
                conn.commit()
        finally:
            conn.close()  # rolls back what a failed commit left
            if not gc.isenabled():
                gc.collect(1)  # what this transaction's pages left in cycles
            self.report.store += time.perf_counter() - started


def _store_prepared(
    writer: _Writer,
    connector: Connector,
    prepared: PreparedPage,
    stamp: str,
    on_page: Callable[[PageResult], None] | None,
    unchanged: Sequence[Unchanged] = (),
    ticket: Ticket | None = None,
) -> None:
    report = writer.report
    started = time.perf_counter()
    with _interrupt_after_commit(), writer.page() as conn:
        still = 0
        if ticket is not None:
            still = _put_back_changed(conn, connector, prepared, unchanged, ticket, stamp)
        result = store_page(conn, connector, prepared, observed_at=stamp)
        result.seen += still
        result.unchanged += still
    report.store += time.perf_counter() - started
    report.pages += 1
    report.seen += result.seen
    report.written += result.written
    report.unchanged += result.unchanged
    report.quarantined += len(result.quarantined)
    if on_page is not None:
        on_page(result)
    writer.stored(result.seen)


def _ingest_in_thread(
    engine: sa.Engine,
    connector: Connector,
    records: Iterable[RawRecord],
    page_size: int,
    on_page: Callable[[PageResult], None] | None,
) -> IngestReport:
    report = IngestReport()
    writer = _Writer(engine, report, TRANSACTION_RECORDS)
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

    reader, known = hashes_reader(engine)

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
                prepared = prepare_page(connector, chunk, stamp, known)
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
            report.waited += time.perf_counter() - started
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            prepared, stamp = item
            _store_prepared(writer, connector, prepared, stamp, on_page)
    finally:
        stop.set()
        writer.commit()
        producer.join()
        if reader is not None:
            reader.dispose()
    return report


def _ingest_in_processes(
    engine: sa.Engine,
    connector: Connector,
    records: Iterable[RawRecord],
    page_size: int,
    on_page: Callable[[PageResult], None] | None,
    preparers: Preparers,
) -> IngestReport:
    """Read pages and hand them to the preparing processes in turn while they have room, take
    the oldest one back, store it; repeat. One thread does it all: a second one reading
    would only take the interpreter lock from the storing (both are Python work here)."""
    _check_installed(connector)
    report = IngestReport(jobs=preparers.jobs)
    writer = _Writer(engine, report, TRANSACTION_RECORDS)
    cpu_before = preparers.cpu_seconds
    chunks = chunked(records, page_size)
    out: deque[tuple[Ticket, str]] = deque()  # pages sent, in reading order, with observed_at
    exhausted = False
    failure: Exception | None = None  # the reader's: raised after the pages before it
    try:
        while True:
            while not exhausted and preparers.has_room:
                started = time.perf_counter()
                try:
                    chunk = next(chunks, None)
                except Exception as exc:
                    failure, chunk = exc, None
                report.read += time.perf_counter() - started
                if chunk is None:
                    exhausted = True
                    break
                stamp = utc_stamp()
                out.append((preparers.submit(connector, chunk, stamp), stamp))
            if not out:
                break
            ticket, stamp = out.popleft()
            started = time.perf_counter()
            prepared, unchanged = preparers.receive(ticket)
            report.waited += time.perf_counter() - started
            _store_prepared(writer, connector, prepared, stamp, on_page, unchanged, ticket)
    finally:
        writer.commit()
        if preparers.outstanding:  # stopped early: what the workers hold is out of order now
            preparers.terminate()
        report.prepare += preparers.cpu_seconds - cpu_before
        report.preparer_peak_rss_mib = preparers.peak_rss_mib
    if failure is not None:
        raise failure
    return report


def _put_back_changed(
    conn: sa.Connection,
    connector: Connector,
    prepared: PreparedPage,
    unchanged: Sequence[Unchanged],
    ticket: Ticket,
    stamp: str,
) -> int:
    """How many of the blocks a preparing process took out of ``prepared`` as unchanged
    (:mod:`metaregistry.preparer_process`) still hash the same as their current version, as
    this write transaction sees it: those the store would skip. Any other one changed since
    the worker looked (an earlier page of this import, or another writer): it is prepared
    again here from its record, exactly as the worker prepared it, and put back in its place
    among the page's blocks, so the store writes what the in-process path would."""
    if not unchanged:
        return 0
    current = store.current_hashes(conn, [(u[2], u[3]) for u in unchanged])
    changed = [u for u in unchanged if current.get((u[2], u[3]), ("",))[0] != u[4]]
    if not changed:
        return len(unchanged)
    taken = {u[0] for u in unchanged}
    again: dict[int, tuple[UnitBlock, str | None]] = {}
    for position, index, registry, record_id, record_hash, raw_hash in changed:
        # The worker's answer for this key, so that the record takes the worker's path.
        known = _answering({(registry, record_id): (record_hash, raw_hash)})
        record = ticket.record(index)
        page = prepare_page(connector, [record], stamp, known)
        if len(page.blocks) != 1 or page.blocks[0].record_hash != record_hash:
            raise PreparingError(f"{record.ref}: prepared differently the second time")
        again[position] = (page.blocks[0], page.version_texts[0])
        prepared.raw_payloads.update(page.raw_payloads)
    blocks = iter(zip(prepared.blocks, prepared.version_texts, strict=True))
    merged = [
        again[p] if p in again else next(blocks)
        for p in range(len(prepared.blocks) + len(unchanged))
        if p in again or p not in taken
    ]
    prepared.blocks = [block for block, _ in merged]
    prepared.version_texts = [text for _, text in merged]
    return len(unchanged) - len(changed)


def _answering(hashes: dict[tuple[str, str], tuple[str, str]]) -> KnownHashes:
    def known(_: Collection[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
        return hashes

    return known


def _check_installed(connector: Connector) -> None:
    from metaregistry import plugins

    try:
        installed: Connector | None = plugins.load(connector.name)
    except plugins.PluginError:
        installed = None
    if installed is not connector:
        raise ValueError(
            f"connector {connector.name!r} is not the one installed under that name: "
            "preparing processes load connectors by name (prepare in-process with jobs=1)"
        )


def max_version_id(conn: sa.Connection) -> int:
    """The newest ``unit_block_version`` id: detection after a sync checks what lies past it."""
    table = store.unit_block_version
    value = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    return int(value or 0)
