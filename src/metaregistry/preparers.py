"""Preparing pages in worker processes, so that bulk ingest uses more than one core.

CPython runs one thread of Python code at a time per process: pages prepared in a second
thread (:func:`metaregistry.ingest.ingest_records` with ``jobs=1``) overlap only the
database's own work with the pipeline's. :class:`Preparers` are ``jobs`` worker processes
that run :func:`metaregistry.pipeline.prepare_page` (raw validation, normalize, validation,
hashing) while the storing process reads records, hands them out and stores what comes back:

* The storing process reads the source (a connector's reader is an iterator, it cannot move
  to another process) and sends page *k* to worker ``k % jobs``; it takes page *k* back from
  that worker before page *k + 1*, so blocks, versions and log leaves are stored in the order
  of the in-process path.
* Workers are started with the ``spawn`` method (nothing of the parent's state, no open
  database connection, is inherited) and load connectors by name
  (:func:`metaregistry.plugins.load`): no connector object crosses a process boundary.
  Records travel as ``(payload, ref, stream)`` tuples, prepared pages as pickles, both made
  here, so an unpicklable record fails loudly instead of being dropped by a queue's thread.
* Each worker reads the index's current hashes through a read-only engine of its own (the
  ``known`` shortcut of :func:`~metaregistry.pipeline.prepare_page`): an unchanged resync
  still writes nothing, and skips the schema checks. Blocks found unchanged come back as
  their hashes only; the storing process checks them again in its write transaction (see
  :func:`metaregistry.ingest.ingest_records`).
* At most ``depth`` pages per worker are out (sent and not taken back yet), so memory stays
  flat whatever the size of the source.

Errors: a record that fails preparation is quarantined exactly as in-process (it is data).
An exception raised while preparing a page is raised again by :meth:`Preparers.receive`
with the worker's traceback as a note. A worker that dies (killed, out of memory, crashed
interpreter) makes :meth:`~Preparers.receive` raise :class:`PreparingError`. Workers ignore
SIGINT: Ctrl-C interrupts the storing process, which stops them. A worker whose storing
process is gone sees its task pipe closed and exits.

As with any ``spawn`` worker, a script that starts preparers must do so under
``if __name__ == "__main__":`` (each worker imports the script's main module again);
``metaregistry`` commands and ``python -m`` modules are fine. The worker's side is
:mod:`metaregistry.preparer_process`.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import pickle
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, Literal

import sqlalchemy as sa

from metaregistry.connector import Connector, RawRecord
from metaregistry.pipeline import KnownHashes, PreparedPage, known_hashes
from metaregistry.preparer_process import Unchanged

__all__ = [
    "DEPTH",
    "Preparers",
    "PreparingError",
    "Ticket",
    "default_jobs",
    "hashes_reader",
    "known_hashes",
    "reader_url",
]

#: Pages a worker may hold at once (sent to it and not taken back): one it prepares and one
#: waiting, to be taken or to be prepared. Three was no faster at 100,000 records and cost
#: each worker 4 MiB more.
DEPTH = 2
_POLL = 0.25  # seconds between checks of a stop or a deadline while waiting for a worker
_START_TIMEOUT = 300.0  # seconds a worker may take to import everything and report ready
_STOP_TIMEOUT = 10.0


class PreparingError(RuntimeError):
    """A preparing process failed to start or stopped unexpectedly, or preparers were used
    after they were stopped."""


def default_jobs() -> int:
    """Preparing processes for this machine: 1 (prepare in the storing process) on one core;
    otherwise one per core but the storing process's, at least two (on two cores one
    preparing process bounds an unchanged resync, where preparing is almost all the work)
    and at most four (storing a page costs about as much as preparing one: more would wait)."""
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    return max(2, min(cores - 1, 4))


def reader_url(engine: sa.Engine) -> str | None:
    """The URL another connection (thread or process) reads ``engine``'s database through;
    None for a private in-memory SQLite database, which no other connection sees."""
    database = engine.url.database or ""
    if engine.dialect.name == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    ):
        return None
    return engine.url.render_as_string(hide_password=False)


def hashes_reader(engine: sa.Engine) -> tuple[sa.Engine | None, KnownHashes | None]:
    """A read-only engine on ``engine``'s database and the ``known`` lookup over it, or
    (None, None) where no other connection sees the database (private in-memory SQLite).
    The caller disposes of the engine."""
    from metaregistry.index.db import create_engine

    url = reader_url(engine)
    if url is None:
        return None, None
    reader = create_engine(url, readonly=True)
    return reader, known_hashes(reader)


@dataclass(slots=True)
class _Worker:
    index: int
    process: BaseProcess
    tasks: Connection  # the sending end of the worker's task pipe
    answers: Connection  # the receiving end of its answer pipe
    sent: int = 0
    received: int = 0


@dataclass(frozen=True, slots=True)
class Ticket:
    """Where page ``seq`` went: take it back with :meth:`Preparers.receive`. It keeps the
    task as sent (pickled: a fifth of the memory of the records themselves)."""

    worker: int
    seq: int
    connector: str
    refs: str  # the page's first and last record, for error messages
    task: bytes = field(repr=False)

    def record(self, index: int) -> RawRecord:
        """The page's record at ``index``."""
        payload, ref, stream = pickle.loads(self.task)[3][index]
        return RawRecord(payload, ref, stream)


@dataclass(slots=True)
class _Stats:
    cpu: float = 0.0
    peaks: dict[int, int] = field(default_factory=dict)


class Preparers:
    """``jobs`` processes preparing pages for one storing process (module docstring).

    ``database_url`` (see :func:`reader_url`) is read for the ``known`` shortcut; None
    prepares every record the whole way. ``preload`` names connectors the workers import
    while starting. Not thread-safe: one thread submits and receives. Use as a context manager
    (an exception stops the workers at once), or :meth:`start` and :meth:`close`."""

    def __init__(
        self,
        jobs: int,
        database_url: str | None,
        *,
        preload: Iterable[str] = (),
        depth: int = DEPTH,
        method: Literal["spawn", "forkserver"] = "spawn",
    ) -> None:
        if jobs < 1:
            raise ValueError(f"jobs: {jobs} must be at least 1")
        if depth < 1:
            raise ValueError(f"depth: {depth} must be at least 1")
        self.jobs = jobs
        self.database_url = database_url
        self.preload = tuple(preload)
        self.depth = depth
        self.method = method
        self._workers: list[_Worker] = []
        self._seq = 0
        self._stopped = False
        self._stats = _Stats()

    def __enter__(self) -> Preparers:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()

    @property
    def running(self) -> bool:
        return bool(self._workers) and not self._stopped

    @property
    def outstanding(self) -> int:
        """Pages sent and not taken back: a session that stopped early leaves some, and
        the workers' order is then lost (:meth:`terminate` them)."""
        return sum(w.sent - w.received for w in self._workers)

    @property
    def cpu_seconds(self) -> float:
        """CPU time the workers spent on the pages taken back, summed."""
        return self._stats.cpu

    @property
    def peak_rss_mib(self) -> list[float]:
        """Each worker's peak resident set size as it last reported it, MiB."""
        return [round(self._stats.peaks.get(w.index, 0) / 1024, 1) for w in self._workers]

    def start(self) -> None:
        """Start the workers and wait until each has imported what it needs."""
        from metaregistry.preparer_process import serve, widen

        if self._workers:
            raise PreparingError("preparers were started already")
        # Never "fork": a forked worker would share the parent's database connections.
        context = (
            mp.get_context("forkserver") if self.method == "forkserver" else mp.get_context("spawn")
        )
        try:
            for index in range(self.jobs):
                task_out, task_in = context.Pipe(duplex=False)
                answer_out, answer_in = context.Pipe(duplex=False)
                widen(task_in)
                widen(answer_in)
                process = context.Process(
                    target=serve,
                    args=(index, self.database_url, self.preload, task_out, answer_in),
                    name=f"metaregistry-prepare-{index}",
                    daemon=True,  # never outlives a storing process that exits normally
                )
                self._workers.append(_Worker(index, process, task_in, answer_out))
                process.start()
                # The worker holds its own copies now: with ours closed, its death reads as
                # the end of its answer pipe here, and ours as the end of its task pipe there.
                task_out.close()
                answer_in.close()
            deadline = time.monotonic() + _START_TIMEOUT
            for worker in self._workers:
                message = self._answer(worker, "starting", deadline)
                if message[0] != "ready":
                    self._raise(worker, message, "starting")
        except BaseException:
            self.terminate()
            raise

    @property
    def has_room(self) -> bool:
        """Whether the worker next in turn holds fewer than ``depth`` pages: :meth:`submit`
        then sends at once (the worker takes tasks off its pipe as they come)."""
        worker = self._workers[self._seq % len(self._workers)]
        return self.running and worker.sent - worker.received < self.depth

    def submit(self, connector: Connector, records: Sequence[RawRecord], stamp: str) -> Ticket:
        """Send one page to the worker next in turn (check :attr:`has_room` first)."""
        if not self.running:
            raise PreparingError("preparing processes are not running")
        seq = self._seq
        worker = self._workers[seq % len(self._workers)]
        rows = [(r.payload, r.ref, r.stream) for r in records]
        data = pickle.dumps((seq, connector.name, stamp, rows), protocol=pickle.HIGHEST_PROTOCOL)
        refs = f"{records[0].ref} to {records[-1].ref}" if records else "(none)"
        worker.sent += 1
        self._seq += 1
        # A dead worker is reported when its pages are taken back, in order (receive).
        with contextlib.suppress(OSError):
            worker.tasks.send_bytes(data)
        return Ticket(worker.index, seq, connector.name, refs, data)

    def receive(self, ticket: Ticket) -> tuple[PreparedPage, list[Unchanged]]:
        """The prepared page of ``ticket`` and the blocks taken out of it as unchanged (see
        :mod:`metaregistry.preparer_process`), waiting for them. Raises what preparing it
        raised, or :class:`PreparingError` when its worker died."""
        worker = self._workers[ticket.worker]
        what = f"the {ticket.connector} page of records {ticket.refs}"
        # A worker that dies takes with it the pages it prepared and had not handed over:
        # the one waited for is not always the one it was preparing.
        after = "; the pages before it stay stored, it and later ones were not stored"
        message = self._answer(worker, f"waiting for {what}", None, after)
        worker.received += 1
        if message[0] != "page":
            self._raise(worker, message, f"preparing {what}")
        _, seq, page, unchanged, cpu, peak = message
        if seq != ticket.seq:  # a bug here, never the data's fault
            raise PreparingError(f"process {worker.index} answered page {seq} for {ticket.seq}")
        self._stats.cpu += cpu
        self._stats.peaks[worker.index] = peak
        return page, unchanged

    def close(self) -> None:
        """Let every worker finish and exit (or :meth:`terminate` them when pages are still
        out, or they do not exit in time)."""
        if self._stopped:
            return
        if self.outstanding:
            self.terminate()
            return
        self._stopped = True
        for worker in self._workers:
            with contextlib.suppress(OSError):  # gone already
                worker.tasks.send_bytes(b"")
        deadline = time.monotonic() + _STOP_TIMEOUT
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        self._kill_stragglers()

    def terminate(self) -> None:
        """Stop every worker now (what they held is dropped)."""
        self._stopped = True
        for worker in self._workers:
            if worker.process.pid is not None and worker.process.is_alive():
                worker.process.terminate()
        for worker in self._workers:
            if worker.process.pid is not None:
                worker.process.join(_STOP_TIMEOUT)
        self._kill_stragglers()

    def _kill_stragglers(self) -> None:
        for worker in self._workers:
            if worker.process.pid is not None and worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.tasks.close()
            worker.answers.close()

    def _answer(
        self, worker: _Worker, what: str, deadline: float | None, after: str = ""
    ) -> tuple[Any, ...]:
        """The worker's next answer. Polls so that a stop and a deadline are noticed; a dead
        worker's pipe reads as ended (EOFError)."""
        while not worker.answers.poll(_POLL):
            if self._stopped:
                raise PreparingError(f"{what}: preparing processes were stopped")
            if deadline is not None and time.monotonic() > deadline:
                raise PreparingError(
                    f"{what}: preparing process {worker.index} did not answer in time"
                )
        try:
            data = worker.answers.recv_bytes()
        except (EOFError, OSError):
            self._died(worker, what, after)
        return _loads(data)

    @staticmethod
    def _died(worker: _Worker, what: str, after: str) -> None:
        worker.process.join(_STOP_TIMEOUT)  # its pipe ended as it exited: get its exit code
        code = worker.process.exitcode
        if code is not None and code < 0:
            how = f"was killed by {signal.Signals(-code).name}"
        else:
            how = f"exited with code {code}"
        raise PreparingError(
            f"{what}: preparing process {worker.index} (pid {worker.process.pid}) {how}{after}"
        )

    @staticmethod
    def _raise(worker: _Worker, message: tuple[Any, ...], what: str) -> None:
        _, _, error, kind, text, trace = message
        note = f"raised in preparing process {worker.index} while {what}:\n{trace}"
        if isinstance(error, BaseException):
            error.add_note(note)
            raise error
        raise PreparingError(f"{what}: {kind}: {text}\n{note}")


def _loads(data: bytes) -> tuple[Any, ...]:
    """Unpickle an answer with the garbage collector paused: a page is thousands of new
    objects, none of them garbage, and the collections they would trigger walk this
    process's whole heap (about 40% of the unpickling time)."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        message: tuple[Any, ...] = pickle.loads(data)
    finally:
        if paused:
            gc.enable()
    return message
