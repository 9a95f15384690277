"""The life of one preparing process (see :mod:`metaregistry.preparers`).

It reads tasks from one pipe and writes answers to another, both pickled byte strings:

* task: ``(seq, connector name, observed_at, [(payload, ref, stream), ...])``; an empty
  message asks it to finish and exit;
* answers: ``("ready", pid)`` once started, then per task in order either
  ``("page", seq, PreparedPage, unchanged, cpu seconds, peak RSS KiB)`` or
  ``("error", seq, exception or None, type name, text, traceback)``.

``unchanged`` lists the blocks found to hash the same as their stored current version (and
whose key is once in the page), taken out of the page and sent as :data:`Unchanged` tuples:
an unchanged resync is almost all such blocks, and pickling them whole on both sides cost
more than preparing them. The storing side checks them again in its write transaction and
prepares again, as here, any that changed meanwhile (see :mod:`metaregistry.ingest`).

Three threads: one takes tasks off the pipe as they come, one puts answers on it, and the main
one prepares. A page is bigger than a pipe holds, so a thread writing it blocks until the
other side has read the rest; with those two threads the preparing never waits for the pipes.
The switch interval is short so that the pipe threads, which need the interpreter lock for a
moment after each read or write, get it at once instead of after up to 5 ms of preparing.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import pickle
import queue
import signal
import sys
import threading
import time
import traceback
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from metaregistry.connector import RawRecord
from metaregistry.memory import peak_rss_kib
from metaregistry.pipeline import KnownHashes, PreparedPage, prepare_page

__all__ = ["Unchanged", "failure", "serve", "widen"]

#: A block left out of an answer: (position among the page's blocks, position of its record
#: in the task, registry, record_id, record_hash, raw_hash).
Unchanged = tuple[int, int, str, str, str, str]

PIPE_BYTES = 1 << 20  # Linux's default limit for an unprivileged pipe (fs.pipe-max-size)
_SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005


def widen(connection: Connection) -> None:
    """Grow the pipe under ``connection`` to :data:`PIPE_BYTES` where the system allows it
    (fewer hand-overs per page); elsewhere it keeps its size."""
    size_option = getattr(fcntl, "F_SETPIPE_SZ", None)
    if size_option is None:
        return
    # Above the system's limit the call fails: the default size works, a little slower.
    with contextlib.suppress(OSError):
        fcntl.fcntl(connection.fileno(), size_option, PIPE_BYTES)


def serve(
    index: int,
    database_url: str | None,
    preload: tuple[str, ...],
    tasks: Connection,
    answers: Connection,
) -> None:
    """Start (import connectors, open a read-only engine), report ready, prepare pages until
    told to stop or the storing process is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the storing process's to handle
    sys.setswitchinterval(_SWITCH_INTERVAL)
    try:
        from metaregistry import plugins
        from metaregistry.index.db import create_engine
        from metaregistry.pipeline import known_hashes

        for name in preload:
            plugins.load(name)
        reader = None if database_url is None else create_engine(database_url, readonly=True)
    except BaseException as exc:
        answers.send_bytes(failure(-1, exc))
        return
    known = None if reader is None else known_hashes(reader)
    # Everything imported so far lives as long as the process: keep the collector from
    # walking it again and again (a tenth of the preparing time of an unchanged resync).
    gc.freeze()
    answers.send_bytes(pickle.dumps(("ready", os.getpid())))
    inbox: queue.Queue[bytes | None] = queue.Queue()  # bounded by the storing side's depth
    outbox: queue.Queue[bytes | None] = queue.Queue()

    def take() -> None:
        try:
            while data := tasks.recv_bytes():
                inbox.put(data)
        except (EOFError, OSError):
            pass  # the storing process is gone: nobody will take pages back
        inbox.put(None)

    def give() -> None:
        while (data := outbox.get()) is not None:
            try:
                answers.send_bytes(data)
            except OSError:
                return  # the storing process is gone

    taker = threading.Thread(target=take, name=f"tasks-{index}", daemon=True)
    giver = threading.Thread(target=give, name=f"answers-{index}", daemon=True)
    taker.start()
    giver.start()
    try:
        while (task := inbox.get()) is not None:
            outbox.put(_prepare(task, known))
    finally:
        outbox.put(None)
        giver.join()
        if reader is not None:
            reader.dispose()


def _prepare(data: bytes, known: KnownHashes | None) -> bytes:
    started = time.process_time()
    seq = -1
    try:
        from metaregistry import plugins

        seq, name, stamp, rows = pickle.loads(data)
        connector = plugins.load(name)
        records = [RawRecord(payload, ref, stream) for payload, ref, stream in rows]
        page = prepare_page(connector, records, stamp, known)
        unchanged = _take_unchanged(page)
        peak = peak_rss_kib()
        cpu = time.process_time() - started
        answer = ("page", seq, page, unchanged, cpu, peak)
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return failure(seq, exc)


def _take_unchanged(page: PreparedPage) -> list[Unchanged]:
    """Take the blocks found unchanged out of ``page`` (with their raw payloads), except
    those whose key comes more than once in it: the store compares each with the version
    the page itself wrote before it, which only it knows."""
    if not page.unchanged:
        return []
    repeated = {key for key, n in Counter(b.key for b in page.blocks).items() if n > 1}
    taken: list[Unchanged] = []
    blocks = []
    texts = []
    for position, (block, text) in enumerate(zip(page.blocks, page.version_texts, strict=True)):
        record = page.unchanged.get(position)
        if record is None or block.key in repeated:
            blocks.append(block)
            texts.append(text)
            continue
        taken.append(
            (
                position,
                record,
                block.registry,
                block.record_id,
                block.record_hash or "",
                block.raw_hash or "",
            )
        )
    kept = {b.raw_hash for b in blocks}
    page.raw_payloads = {h: text for h, text in page.raw_payloads.items() if h in kept}
    page.blocks, page.version_texts, page.unchanged = blocks, texts, {}
    return taken


def failure(seq: int, exc: BaseException) -> bytes:
    """The answer for a task that raised: the exception itself when it survives pickling,
    its type name and text always, and the traceback."""
    trace = "".join(traceback.format_exception(exc))
    error: BaseException | None = exc
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        error = None
    message: tuple[Any, ...] = ("error", seq, error, type(exc).__name__, str(exc), trace)
    try:
        return pickle.dumps(message)
    except Exception:
        return pickle.dumps(("error", seq, None, type(exc).__name__, str(exc), trace))
