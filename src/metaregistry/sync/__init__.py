"""The sync engine: pages each source into the index, fault-isolated and resumable.

For every connector, in its own task with its own timeout (one slow source never delays
another), for every stream:

1. resume from the last committed cursor (``sync_state``);
2. fetch a page (retries: :mod:`metaregistry.retry`), parse it, run it through the pipeline;
3. in ONE transaction: upsert the blocks, quarantine the failures, append the log leaves,
   record what a snapshot saw, and commit the page's cursor. A crash (kill -9 anywhere) loses at
   most the page in flight, which the next run fetches again; the upsert is idempotent, so no
   duplicate versions either.

When every stream of a connector was a snapshot that completed, records of that connector
absent from it get a new version with status ``withdrawn``; nothing is ever deleted. Then the
sync runs incremental detection over what changed and publishes a signed log checkpoint.

A connector's sync runs on at most one process at a time: PostgreSQL holds a session advisory
lock for the whole run (a dead daemon's lock goes with its connection, so another daemon takes
over from the last committed cursor); SQLite, a single-host database, uses a lease on the
``sync_run`` row, renewed with every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metaregistry.canonical import hash_json
from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    FatalSourceError,
    HttpStream,
    Page,
    RequestSpec,
)
from metaregistry.index import store
from metaregistry.index.db import is_postgres, refresh_statistics
from metaregistry.index.tables import SeenRow, SyncRunRow, SyncStateRow
from metaregistry.ingest import (
    append_version_leaves,
    max_version_id,
    now_utc,
    store_page,
    utc_stamp,
)
from metaregistry.model import Status, UnitBlock
from metaregistry.pipeline import KnownHashes, prepare_page
from metaregistry.preparers import hashes_reader
from metaregistry.retry import RetryPolicy, fetch
from metaregistry.settings import Settings

__all__ = ["SourceReport", "SyncLockedError", "SyncReport", "sync_connector", "sync_connectors"]

sync_run: sa.Table = SyncRunRow.__table__  # type: ignore[attr-defined]
sync_state: sa.Table = SyncStateRow.__table__  # type: ignore[attr-defined]
sync_seen: sa.Table = SeenRow.__table__  # type: ignore[attr-defined]

LEASE = timedelta(minutes=2)
DEFAULT_TIMEOUT = 1800.0
ProgressFn = Callable[[str, int, int], None]


class SyncLockedError(RuntimeError):
    """Another process is syncing this connector right now."""


@dataclass(slots=True)
class SourceReport:
    connector: str
    outcome: str = "ok"  # ok, failed, timeout, locked
    pages: int = 0
    seen: int = 0  # records received, a repeated page's twice
    distinct: int = 0  # distinct records received (what drift compares with the source)
    written: int = 0
    quarantined: int = 0
    withdrawn: int = 0
    not_modified: int = 0
    error: str | None = None
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    drift: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # streams the interrupted run this one continues had completed: not fetched again
    carried: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SyncReport:
    sources: list[SourceReport]
    since_version_id: int = 0
    detection: dict[str, Any] | None = None
    checkpoint: str | None = None

    @property
    def ok(self) -> bool:
        return all(s.outcome == "ok" for s in self.sources)

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": [asdict(s) for s in self.sources],
            "since_version_id": self.since_version_id,
            "detection": self.detection,
            "checkpoint": self.checkpoint,
        }


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, field 22 of
    ``/proc/PID/stat``): with the PID, it names one process even after the PID is reused.
    None where /proc does not say (another OS, the process gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


def default_owner() -> str:
    """``HOST:PID:START``: this host, this process and when it started (see
    :func:`owner_is_gone`)."""
    pid = os.getpid()
    start = _process_start(pid)
    return f"{socket.gethostname()}:{pid}" + (f":{start}" if start else "")


def owner_is_gone(owner: str) -> bool:
    """True when ``owner`` names a process of this host that no longer exists: its PID is
    not running, or runs a process that started at another time (the PID was reused). An
    owner of another host, or one this cannot read, is never gone: its lease runs out."""
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    if start:
        now = _process_start(pid)
        return now is not None and now != start
    return False


def _lock_key(connector: str) -> int:
    return 0x6D72_0000_0000 + zlib.crc32(connector.encode())


@contextlib.contextmanager
def connector_lock(engine: Engine, connector: str, owner: str) -> Iterator[int]:
    """Claim the connector for this process; yields the new ``sync_run`` id."""
    holder: sa.Connection | None = None
    if is_postgres(engine):
        holder = engine.connect()
        got = holder.exec_driver_sql(f"SELECT pg_try_advisory_lock({_lock_key(connector)})")
        if not got.scalar():
            holder.rollback()
            holder.close()
            raise SyncLockedError(f"{connector}: another process is syncing it")
        holder.commit()
    try:
        run_id = _start_run(engine, connector, owner, check_lease=holder is None)
        yield run_id
    finally:
        if holder is not None:
            holder.exec_driver_sql(f"SELECT pg_advisory_unlock({_lock_key(connector)})")
            holder.commit()
            holder.close()


def _start_run(engine: Engine, connector: str, owner: str, *, check_lease: bool) -> int:
    now = now_utc()
    with engine.begin() as conn:
        running = conn.execute(
            sa.select(sync_run.c.id, sync_run.c.owner, sync_run.c.heartbeat_at).where(
                sync_run.c.connector == connector, sync_run.c.outcome == "running"
            )
        ).fetchall()
        for run in running:
            beat = (
                run.heartbeat_at
                if run.heartbeat_at.tzinfo
                else run.heartbeat_at.replace(tzinfo=now.tzinfo)
            )
            if check_lease and now - beat < LEASE and not owner_is_gone(run.owner):
                left = (LEASE - (now - beat)).total_seconds()
                raise SyncLockedError(
                    f"{connector}: run {run.id} of {run.owner} holds the lease (renewed "
                    f"{(now - beat).total_seconds():.0f} s ago); it is taken over if not "
                    f"renewed within {left:.0f} s (the lease is {LEASE.total_seconds():.0f} s), "
                    "or at once when that process is gone from this host"
                )
            conn.execute(
                sync_run.update()
                .where(sync_run.c.id == run.id)
                .values(outcome="abandoned", finished_at=now, error=f"taken over by {owner}")
            )
        return int(
            conn.execute(
                sync_run.insert().values(
                    connector=connector,
                    owner=owner,
                    started_at=now,
                    heartbeat_at=now,
                    outcome="running",
                    pages=0,
                    records_seen=0,
                    records_written=0,
                    quarantined=0,
                    withdrawn=0,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )


#: Outcomes of a run that ended before its streams did; the next run continues it.
_INTERRUPTED = ("abandoned", "stopped", "timeout")


def _interrupted_before(engine: Engine, connector: str, run_id: int) -> int | None:
    """The run of ``connector`` just before ``run_id`` when it was interrupted (died and
    was taken over, stopped, timed out): the streams it completed are not fetched again."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(sync_run.c.id, sync_run.c.outcome)
            .where(sync_run.c.connector == connector, sync_run.c.id < run_id)
            .order_by(sync_run.c.id.desc())
            .limit(1)
        ).first()
    return int(row.id) if row is not None and row.outcome in _INTERRUPTED else None


def _finish_run(engine: Engine, run_id: int, report: SourceReport) -> None:
    with engine.begin() as conn:
        conn.execute(
            sync_run.update()
            .where(sync_run.c.id == run_id)
            .values(
                finished_at=now_utc(),
                outcome=report.outcome,
                pages=report.pages,
                records_seen=report.seen,
                records_written=report.written,
                quarantined=report.quarantined,
                withdrawn=report.withdrawn,
                error=report.error,
                source_totals=json.dumps({"totals": report.totals, "drift": report.drift}),
            )
        )


def _load_cursor(conn: sa.Connection, connector: str, stream: str) -> tuple[Any, int | None]:
    row = conn.execute(
        sa.select(sync_state.c.cursor, sync_state.c.snapshot_run).where(
            sync_state.c.connector == connector, sync_state.c.stream == stream
        )
    ).first()
    if row is None:
        return None, None
    return json.loads(row.cursor), row.snapshot_run


def _save_cursor(
    conn: sa.Connection,
    connector: str,
    stream: str,
    cursor: Mapping[str, Any],
    snapshot: int | None,
) -> None:
    values = {"cursor": json.dumps(cursor, sort_keys=True), "snapshot_run": snapshot}
    updated = conn.execute(
        sync_state.update()
        .where(sync_state.c.connector == connector, sync_state.c.stream == stream)
        .values(updated_at=now_utc(), **values)
    )
    if updated.rowcount == 0:
        conn.execute(
            sync_state.insert().values(
                connector=connector, stream=stream, updated_at=now_utc(), **values
            )
        )


class StreamPages:
    """The engine's paging of one stream: from ``first_request(cursor)`` along each page's
    ``next_request``, every request through :func:`~metaregistry.retry.fetch` (retries,
    Retry-After) and the stream's ``parse_page``, refusing a page token that comes back (a
    paginator going in circles). ``completed`` once the stream's last page was yielded."""

    def __init__(self, stream: HttpStream, cursor: Mapping[str, Any] | None, *, label: str):
        self.stream = stream
        self.cursor = cursor
        self.label = label
        self.completed = False

    async def run(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        stop: asyncio.Event | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_retry: Callable[[int, str, float], None] | None = None,
    ) -> AsyncIterator[Page]:
        """The pages, one by one; ends early (not completed) once ``stop`` is set."""
        request = self.stream.first_request(self.cursor)
        tokens: set[str] = set()
        while request is not None:
            if stop is not None and stop.is_set():
                return
            if request.token:
                if request.token in tokens:
                    raise FatalSourceError(
                        f"{self.label}: page token {request.token!r} came back; stopping "
                        "instead of looping"
                    )
                tokens.add(request.token)
            page = await self._fetch(client, request, policy, sleep, on_retry)
            request = page.next_request
            yield page
        self.completed = True

    async def _fetch(
        self,
        client: httpx.AsyncClient,
        request: RequestSpec,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        on_retry: Callable[[int, str, float], None] | None,
    ) -> Page:
        parsed: list[Page] = []

        async def parse(response: httpx.Response) -> None:
            parsed.append(self.stream.parse_page(response, request))

        await fetch(client, request, policy=policy, parse=parse, sleep=sleep, on_retry=on_retry)
        return parsed[-1]


class _StreamRun:
    """One stream of one connector in one run."""

    def __init__(
        self,
        engine: Engine,
        connector: Connector,
        stream: HttpStream,
        run_id: int,
        report: SourceReport,
        progress: ProgressFn | None,
        known: KnownHashes | None = None,
    ) -> None:
        self.engine = engine
        self.known = known
        self.connector = connector
        self.stream = stream
        self.run_id = run_id
        self.report = report
        self.progress = progress
        self.completed = False
        self.snapshot_id: int | None = None
        # Distinct records this run received (hashes of record keys and of quarantined raw
        # payloads): a source that repeats a page sends some twice, and the count compared
        # with the source's own total must count each once.
        self.distinct: set[int] = set()
        self.carried = False

    async def run(
        self,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        stop: asyncio.Event | None = None,
        continues: int | None = None,
    ) -> None:
        """Page through the stream; when ``continues`` (an interrupted run this one takes
        over) completed it, it is carried over instead: not fetched again."""
        cursor, snapshot = await asyncio.to_thread(self._load)
        done = bool(cursor) and cursor.get("_complete")
        if continues is not None and done and cursor.get("_run") == continues:
            await asyncio.to_thread(self._carry, cursor, snapshot)
            return
        resuming = cursor is not None and not cursor.get("_complete")
        if self.stream.mode == "snapshot":
            # A snapshot resumed after a crash keeps the id it started with, so the records
            # seen before the crash still count as seen.
            self.snapshot_id = snapshot if (resuming and snapshot) else self.run_id
        pages = StreamPages(self.stream, cursor, label=f"{self.connector.name}/{self.stream.name}")
        async for page in pages.run(client, policy, stop=stop):
            await asyncio.to_thread(self._store, page)
        # stopped (graceful shutdown) before the end: the last page is committed, resume there
        self.completed = pages.completed

    def _load(self) -> tuple[Any, int | None]:
        with self.engine.connect() as conn:
            return _load_cursor(conn, self.connector.name, self.stream.name)

    def _carry(self, cursor: Mapping[str, Any], snapshot: int | None) -> None:
        """The stream as the interrupted run completed it, now this run's (a run taking
        over from this one in turn carries it too)."""
        with self.engine.begin() as conn:
            _save_cursor(
                conn,
                self.connector.name,
                self.stream.name,
                {**cursor, "_run": self.run_id},
                snapshot,
            )
        self.completed = self.carried = True
        self.snapshot_id = snapshot
        self.report.carried.append(self.stream.name)

    def _store(self, page: Page) -> None:
        if self.stream.record_type == "authorization":
            self._store_authorizations(page)
            return
        report = self.report
        observed_at = utc_stamp()
        prepared = prepare_page(self.connector, page.records, observed_at, self.known)
        cursor = dict(page.cursor)
        last = page.next_request is None
        if last:  # which run completed it: one taking over from that run need not fetch it
            cursor.update(_complete=True, _run=self.run_id)
        # An incremental stream whose pages are not in cursor order (the newest change can
        # sit on any page) cannot resume after a page: its cursor moves only when the stream
        # completed, and a run stopped midway starts again from the previous one.
        keep_cursor = last or self.stream.mode == "snapshot" or self.stream.sorted_by_cursor
        with self.engine.begin() as conn:
            stored = store_page(conn, self.connector, prepared, observed_at=observed_at)
            if self.snapshot_id is not None and prepared.blocks:
                self._mark_seen(conn, prepared.blocks)
            if keep_cursor:
                _save_cursor(conn, self.connector.name, self.stream.name, cursor, self.snapshot_id)
            report.pages += 1
            report.seen += len(page.records)
            self.distinct.update(hash(b.key) for b in prepared.blocks)
            self.distinct.update(hash(("quarantined", q.raw_hash)) for q in prepared.quarantined)
            report.written += stored.written
            report.quarantined += len(prepared.quarantined)
            report.not_modified += int(page.not_modified)
            if page.totals:
                report.totals[self.stream.name] = dict(page.totals)
            conn.execute(
                sync_run.update()
                .where(sync_run.c.id == self.run_id)
                .values(
                    heartbeat_at=now_utc(),
                    pages=report.pages,
                    records_seen=report.seen,
                    records_written=report.written,
                    quarantined=report.quarantined,
                )
            )
        if self.progress is not None:
            self.progress(self.connector.name, report.pages, report.seen)

    def _store_authorizations(self, page: Page) -> None:
        """A page of Article 6 authorizations (issue 19): stored by metaregistry.article6,
        counted in the run's report like blocks, the cursor committed with them."""
        from metaregistry.article6.prepare import store_page as store_authorizations

        report = self.report
        cursor = dict(page.cursor)
        if page.next_request is None:
            cursor.update(_complete=True, _run=self.run_id)
        with self.engine.begin() as conn:
            stored = store_authorizations(conn, self.connector, page.records, utc_stamp())
            _save_cursor(conn, self.connector.name, self.stream.name, cursor, self.snapshot_id)
        report.pages += 1
        report.seen += len(page.records)
        report.written += stored.written
        report.quarantined += len(stored.quarantined)
        self.distinct.update(hash(key) for key in stored.keys)
        self.distinct.update(hash(("quarantined", q.raw_hash)) for q in stored.quarantined)
        if page.totals:
            report.totals[self.stream.name] = dict(page.totals)
        if self.progress is not None:
            self.progress(self.connector.name, report.pages, report.seen)

    def _mark_seen(self, conn: sa.Connection, blocks: Sequence[UnitBlock]) -> None:
        rows = [
            {"run_id": self.snapshot_id, "registry": b.registry, "record_id": b.record_id}
            for b in blocks
        ]
        conn.execute(store.insert_ignore(conn, sync_seen), rows)


def _mark_complete(engine: Engine, connector: Connector, run_id: int) -> None:
    from metaregistry.reconcile.reader import mark_complete

    with engine.begin() as conn:
        mark_complete(
            conn, connector.registries, "sync", f"{connector.name}: sync run {run_id}, snapshot"
        )


def _withdraw_missing(engine: Engine, connector: str, snapshot_ids: set[int]) -> int:
    """New ``withdrawn`` versions for live records of ``connector`` that no completed
    snapshot of this run saw. Runs only after every stream completed."""
    ub = store.unit_block
    seen_exists = (
        sa.select(sa.literal(1))
        .where(
            sync_seen.c.run_id.in_(snapshot_ids),
            sync_seen.c.registry == ub.c.registry,
            sync_seen.c.record_id == ub.c.record_id,
        )
        .exists()
    )
    stamp = utc_stamp()
    withdrawn = 0
    with engine.begin() as conn:
        rows = conn.execute(
            sa.select(ub).where(
                ub.c.connector == connector,
                ub.c.status != Status.WITHDRAWN.value,
                ~seen_exists,
            )
        ).fetchall()
        blocks: list[UnitBlock] = []
        for row in rows:
            block = store.block_from_row(row)
            block.status = Status.WITHDRAWN.value
            block.status_reason = (
                f"absent from the completed snapshot of sync run {max(snapshot_ids)}"
            )
            block.status_date = stamp[:10]
            block.observed_at = stamp
            block.record_hash = hash_json(block.content())
            blocks.append(block)
        for chunk_start in range(0, len(blocks), 2000):
            chunk = blocks[chunk_start : chunk_start + 2000]
            upserted = store.upsert_blocks(conn, chunk, connector=connector)
            append_version_leaves(conn, upserted.versions)
            withdrawn += upserted.written
        conn.execute(sync_seen.delete().where(sync_seen.c.run_id.in_(snapshot_ids)))
    return withdrawn


def _reconcile(report: SourceReport, seen_by_stream: Mapping[str, int]) -> None:
    for stream, totals in report.totals.items():
        expected = totals.get("records")
        if expected is not None and expected != seen_by_stream.get(stream, 0):
            report.drift.append(
                f"{stream}: source reports {expected} records, sync saw "
                f"{seen_by_stream.get(stream, 0)} distinct"
            )


async def sync_connector(
    engine: Engine,
    connector: Connector,
    config: ConnectorConfig,
    *,
    owner: str | None = None,
    policy: RetryPolicy | None = None,
    progress: ProgressFn | None = None,
    client: httpx.AsyncClient | None = None,
    stop: asyncio.Event | None = None,
) -> SourceReport:
    """Sync every stream of one connector. With ``stop`` set, it ends after the page in
    flight is committed (graceful shutdown). Errors end up in the report, never raised
    (except cancellation), so one source cannot break another."""
    report = SourceReport(connector=connector.name)
    started = time.monotonic()
    owner = owner or default_owner()
    policy = policy or RetryPolicy()
    try:
        streams = list(connector.streams(config))
    except FatalSourceError as exc:
        report.outcome, report.error = "failed", str(exc)
        return report
    except Exception as exc:  # a bad option or a bug in the connector: its report, not ours
        report.outcome, report.error = "failed", f"{type(exc).__name__}: {exc}"
        return report
    if not streams:
        report.outcome, report.error = "failed", f"{connector.name} has no HTTP streams"
        return report
    try:
        lock = connector_lock(engine, connector.name, owner)
        run_id = await asyncio.to_thread(lock.__enter__)
    except SyncLockedError as exc:
        report.outcome, report.error = "locked", str(exc)
        return report
    own_client = client is None
    http = client or httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=10.0))
    # The index's current hashes, read through a read-only engine, let a page skip the
    # schema checks of records stored unchanged (as `import` does): a re-pulled snapshot
    # is mostly those.
    reader, known = hashes_reader(engine)
    runs = [_StreamRun(engine, connector, s, run_id, report, progress, known) for s in streams]
    try:
        continues = await asyncio.to_thread(_interrupted_before, engine, connector.name, run_id)
        seen_by_stream: dict[str, int] = {}
        for run in runs:
            await run.run(http, policy, stop, continues)
            if not run.completed:
                report.outcome, report.error = "stopped", "shutdown before the stream finished"
                break
            seen_by_stream[run.stream.name] = len(run.distinct)
        report.distinct = sum(seen_by_stream.values())
        _reconcile(report, seen_by_stream)
        if report.outcome == "ok" and all(
            r.stream.mode == "snapshot" and r.completed and not r.carried for r in runs
        ):
            # (a stream carried over from an interrupted run: what that run quarantined is
            # not known here, so withdrawals wait for a run that fetched every stream)
            # Withdraw only on a snapshot known to be whole: a 304 listed nothing, a
            # quarantined record may be one we hold under a key we could not read, and a
            # count that disagrees with the source's own total means pages were skipped.
            ids = {r.snapshot_id for r in runs if r.snapshot_id is not None}
            if report.not_modified == 0 and report.quarantined == 0 and not report.drift:
                report.withdrawn = await asyncio.to_thread(
                    _withdraw_missing, engine, connector.name, ids
                )
            if report.quarantined == 0 and not report.drift:
                # every record the source holds is in the index: project-basis checks
                # (metaregistry.reconcile) may raise alerts on this registry
                await asyncio.to_thread(_mark_complete, engine, connector, run_id)
    except FatalSourceError as exc:
        report.outcome, report.error = "failed", str(exc)
    except asyncio.CancelledError:
        report.outcome, report.error = "timeout", "cancelled before the sync finished"
        raise
    except Exception as exc:  # an unforeseen bug in one connector must not stop the others
        report.outcome, report.error = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        report.seconds = time.monotonic() - started
        if own_client:
            await http.aclose()
        await asyncio.shield(asyncio.to_thread(_finish_run, engine, run_id, report))
        await asyncio.to_thread(lock.__exit__, None, None, None)
        if reader is not None:
            reader.dispose()
    return report


def connector_timeout(config: ConnectorConfig, default: float = DEFAULT_TIMEOUT) -> float:
    return default if config.timeout is None else config.timeout


async def sync_connectors(
    engine: Engine,
    settings: Settings,
    names: Sequence[str] | None = None,
    *,
    owner: str | None = None,
    policy: RetryPolicy | None = None,
    progress: ProgressFn | None = None,
    detect: bool = True,
    checkpoint: bool = True,
    connectors: Mapping[str, Connector] | None = None,
    stop: asyncio.Event | None = None,
) -> SyncReport:
    """Sync the named connectors (default: every configured one with a base URL)
    concurrently, each within its own timeout; then detect and publish a checkpoint.
    ``connectors`` overrides entry-point discovery (tests, embedding)."""
    from metaregistry import plugins

    if names is None:
        names = [n for n, c in settings.connectors.items() if c.base_url]
    if checkpoint:
        log_signer(engine, settings)  # a wrong key stops the sync before anything is written
    with engine.connect() as conn:
        since = max_version_id(conn)
    found = dict(connectors or {})

    async def one(name: str) -> SourceReport:
        config = settings.connector(name)
        try:
            connector = found.get(name) or plugins.load(name)
            return await asyncio.wait_for(
                sync_connector(
                    engine,
                    connector,
                    config,
                    owner=owner,
                    policy=policy,
                    progress=progress,
                    stop=stop,
                ),
                timeout=connector_timeout(config),
            )
        except TimeoutError:
            return SourceReport(
                connector=name,
                outcome="timeout",
                error=f"did not finish within {connector_timeout(config):.0f}s; resumes next run",
            )
        except Exception as exc:  # one source's failure is its report; the others finish
            return SourceReport(
                connector=name, outcome="failed", error=f"{type(exc).__name__}: {exc}"
            )

    reports = list(await asyncio.gather(*(one(n) for n in names)))
    result = SyncReport(sources=reports, since_version_id=since)
    if detect:
        result.detection = await asyncio.to_thread(run_detection, engine, since)
        result.detection["reconcile"] = await asyncio.to_thread(
            run_reconcile, engine, settings, since
        )
        result.detection["article6"] = await asyncio.to_thread(run_article6, engine, settings)
    if checkpoint:
        result.checkpoint = await asyncio.to_thread(publish_checkpoint, engine, settings)
    return result


def detect_and_checkpoint(
    engine: Engine, settings: Settings, since_version_id: int
) -> tuple[dict[str, Any], str]:
    """What follows every write path (sync, import, quarantine retry): incremental detection
    over the versions written after ``since_version_id``, then a signed checkpoint."""
    summary = run_detection(engine, since_version_id)
    summary["reconcile"] = run_reconcile(engine, settings, since_version_id)
    summary["article6"] = run_article6(engine, settings)
    return summary, publish_checkpoint(engine, settings)


def run_article6(engine: Engine, settings: Settings) -> dict[str, Any]:
    """The Article 6 checks (:mod:`metaregistry.article6.checks`, issue 19) after a write,
    over the whole index (they read only the blocks carrying Article 6 facts): findings by
    kind and the alert changes."""
    from metaregistry.article6.checks import run_checks

    with engine.begin() as conn:
        report = run_checks(conn, settings.article6.export_caps)
    changes = report.changes
    return {
        "findings": report.counts(),
        "opened": changes.opened if changes else 0,
        "resolved": changes.resolved if changes else 0,
    }


def run_reconcile(
    engine: Engine, settings: Settings, since_version_id: int | None = None
) -> dict[str, Any]:
    """Project-level reconciliation (:mod:`metaregistry.reconcile`) after a write: its
    counts per outcome and the alert changes. A mapping file that cannot be read is
    reported here, not raised: the write itself succeeded."""
    from metaregistry.reconcile.crosswalk import MapError
    from metaregistry.reconcile.run import reconcile_index

    try:
        with engine.begin() as conn:
            report = reconcile_index(
                conn, project_map=settings.project_map(), since_version_id=since_version_id
            )
    except (MapError, OSError) as exc:
        return {"error": str(exc)}
    data = report.to_json()
    del data["findings"], data["pairs"]
    return data


def run_detection(engine: Engine, since_version_id: int) -> dict[str, Any]:
    """Incremental detection over every version detection has not checked yet, after
    refreshing PostgreSQL's statistics when those versions are a large share of the index
    (:func:`metaregistry.index.db.refresh_statistics`: detection's and the API's plans
    depend on them).

    Detection keeps its own committed watermark (the newest version id a run checked, in
    ``detect_run``) and starts there, or at ``since_version_id`` (the caller's view of the
    index before its write) when that is older: versions stored by a sync, import or daemon
    that died before its detection ran lie below the next writer's starting point, and are
    checked by the next run whoever makes it. A crash delays an alert, never loses it. Before
    the first run there is no watermark: the first run is full."""
    from metaregistry.detect import engine as detect_engine

    with engine.connect() as conn:
        watermark = detect_engine.last_run(conn)
        newest = max_version_id(conn)
    since = min(since_version_id, watermark) if watermark is not None else 0
    if is_postgres(engine):
        refresh_statistics(engine, newest - since)
    # PostgreSQL commits version ids out of order: a writer still in flight may commit ids
    # below the newest this run sees. The watermark goes no further than the id up to which
    # every version was committed before this run began; the next run checks the rest.
    with engine.connect() as conn:
        committed = store.committed_version_id(conn)
    with engine.begin() as conn:
        if watermark is None and newest > 0:
            summary = detect_engine.detect_full(conn)
        else:
            summary = detect_engine.detect_incremental(conn, since)
        detect_engine.keep_watermark_at(conn, since if committed is None else committed)
    return summary.to_json()


class LogKeyError(Exception):
    """The configured log key cannot sign this log's checkpoints (unreadable, or another
    key than the one that signed them): the message is one line saying what is wrong."""


def log_signer(engine: Engine, settings: Settings) -> Any:
    """The log's signer, checked against the log's latest checkpoint: every write path calls
    this before it writes, so a wrong key stops it before any record is stored (it would
    otherwise store them and then fail to sign the checkpoint that covers them). Raises
    :class:`LogKeyError`."""
    from metaregistry.log import store as log_store
    from metaregistry.log.keyfile import FileSigner, KeyFileError
    from metaregistry.log.note import NoteError

    path, origin = settings.log_key_path(), settings.log.origin
    try:
        signer = FileSigner.open(path, origin)
    except (KeyFileError, NoteError, OSError) as exc:
        raise LogKeyError(f"log key {path}: {exc}") from exc
    try:
        with engine.connect() as conn:
            log_store.check_signer(conn, signer, origin)
    except NoteError as exc:
        raise LogKeyError(f"log key {path}: {exc} (nothing was written)") from exc
    return signer


def publish_checkpoint(engine: Engine, settings: Settings) -> str:
    """Sign and store a checkpoint of the log (the end of every write path); returns its
    text. Raises :class:`LogKeyError`."""
    from metaregistry.log import store as log_store
    from metaregistry.log.note import NoteError

    signer = log_signer(engine, settings)
    try:
        with engine.begin() as conn:
            signed = log_store.publish_checkpoint(conn, signer, settings.log.origin)
    except NoteError as exc:
        raise LogKeyError(f"log key {settings.log_key_path()}: {exc}") from exc
    return str(signed.note)
