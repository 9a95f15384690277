"""The API's read access to the index: a few long-lived read-only connections, each call in
one read transaction (a consistent snapshot) under a deadline.

Why not a connection per request: the read-only SQLite engine does not pool, and opening a
connection (file open, pragmas, schema parse) costs more than a lookup. Each worker thread
keeps its own connection for the life of the app.

Why threads: the event loop must keep serving while a query runs (PostgreSQL waits on the
network; a large SQLite range scan takes milliseconds). The pool is small because SQLite and
the GIL give little from more than a couple of threads; calls beyond it queue. Work known to
be short on SQLite (a lookup page) runs on the loop instead: see :meth:`Reader.quick`, and
:meth:`Reader.call_batch`, which runs the lookups waiting together in one transaction
(``batches.py``).

Deadlines: on SQLite a progress handler aborts the statement once the call's deadline has
passed; on PostgreSQL the session's ``statement_timeout`` does. Either way the caller gets
:class:`~metaregistry.api.errors.QueryTimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metaregistry.api.errors import QueryTimeoutError
from metaregistry.api.queries import Db

__all__ = ["Call", "Reader"]

P = ParamSpec("P")
T = TypeVar("T")
#: One call of a batch: positional and keyword arguments after the ``db``.
Call = tuple[tuple[Any, ...], dict[str, Any]]

# SQLite calls the progress handler every this many virtual-machine steps: about every
# 0.1 ms here, often enough for a deadline and rare enough to cost nothing measurable.
_PROGRESS_STEPS = 10_000
_PG_TIMEOUT_SQLSTATE = "57014"  # query_canceled
_MMAP_BYTES = 1 << 31  # SQLite caps it at its compile-time limit (2 GB by default)


class _Deadline:
    """The monotonic time after which the current call's statements are interrupted."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = float("inf")

    def passed(self) -> int:
        return 1 if time.monotonic() > self.at else 0


class Reader:
    """Runs ``fn(db, *args)`` in one read transaction of a read-only connection, in a thread
    of a small pool (:meth:`run`, from the event loop) or in the calling thread (:meth:`call`).
    ``db`` is a :class:`~metaregistry.api.queries.Db`; ``db.sa`` is the SQLAlchemy connection
    of the same transaction, for other areas' query functions."""

    def __init__(self, engine: Engine, *, threads: int = 2, timeout: float = 2.0) -> None:
        if threads < 1:
            raise ValueError(f"threads must be >= 1, got {threads}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.engine = engine
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="metaregistry-api-db")
        self._local = threading.local()
        self._open: list[sa.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def run(
        self, fn: Callable[Concatenate[Db, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn(db, *args, **kwargs)`` in a thread of the pool."""
        return await self.run_within(self.timeout, fn, *args, **kwargs)

    async def run_within(
        self,
        timeout: float,
        fn: Callable[Concatenate[Db, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Like :meth:`run` with another deadline (a known full scan, say)."""
        loop = asyncio.get_running_loop()
        job = functools.partial(self.call_within, timeout, fn, *args, **kwargs)
        return await loop.run_in_executor(self._pool, job)

    async def quick(
        self, fn: Callable[Concatenate[Db, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Like :meth:`run`, for work bounded to about a millisecond (a health check; lookup
        pages run in batches, see ``batches.py``, by the same rule): on SQLite it runs right
        here on the event loop, because handing it to a thread costs more than the queries
        (measured: 0.55 ms of CPU per lookup inline, 0.95 ms through the pool, the
        difference spent passing the GIL back and forth at every sqlite3 call). The deadline
        still holds. Elsewhere the queries wait on the network: pool."""
        if self.dialect == "sqlite":
            return self.call(fn, *args, **kwargs)
        return await self.run(fn, *args, **kwargs)

    def call(self, fn: Callable[Concatenate[Db, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(db, *args, **kwargs)`` in the calling thread."""
        return self.call_within(self.timeout, fn, *args, **kwargs)

    def call_within(
        self,
        timeout: float,
        fn: Callable[Concatenate[Db, P], T],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        (result,) = self.call_batch(fn, [(args, kwargs)], timeout=timeout)
        if isinstance(result, BaseException):
            raise result
        return result

    async def run_batch(
        self, fn: Callable[..., T], calls: Sequence[Call], *, budget: float = float("inf")
    ) -> list[T | BaseException]:
        """:meth:`call_batch` in a thread of the pool."""
        loop = asyncio.get_running_loop()
        job = functools.partial(self.call_batch, fn, calls, budget=budget)
        return await loop.run_in_executor(self._pool, job)

    def call_batch(
        self,
        fn: Callable[..., T],
        calls: Sequence[Call],
        *,
        budget: float = float("inf"),
        timeout: float | None = None,
    ) -> list[T | BaseException]:
        """``fn(db, *args, **kwargs)`` for each ``(args, kwargs)`` of ``calls``, in the
        calling thread, one after the other in one read transaction (its set-up is paid once
        and every answer is of the same moment), each under its own deadline (``timeout``,
        by default the reader's). Each call's result, or the exception it raised (a stopped
        query as :class:`QueryTimeoutError`), in order; after a failure the transaction ends
        and the calls after it run in a new one. Once ``budget`` seconds have passed no
        further call starts: the list is then shorter than ``calls`` (never empty)."""
        timeout = self.timeout if timeout is None else timeout
        out: list[T | BaseException] = []
        stop_at = time.monotonic() + budget
        while len(out) < len(calls):
            conn, deadline, cache = self._connection()
            db: Db | None = None
            try:
                deadline.at = time.monotonic() + timeout
                db = Db(conn, cache)
                if timeout != self.timeout and self.dialect == "postgresql":
                    db.execute(f"SET LOCAL statement_timeout = {_millis(timeout)}")
                for args, kwargs in calls[len(out) :]:
                    now = time.monotonic()
                    if out and now > stop_at:
                        return out
                    deadline.at = now + timeout
                    try:
                        out.append(fn(db, *args, **kwargs))
                    except Exception as exc:
                        out.append(self._failure(conn, exc, timeout))
                        if _is_broken(conn, exc):
                            db = None
                        break
            except Exception as exc:  # the transaction could not begin: the rest fail
                if _is_broken(conn, exc):
                    db = None
                failure = self._failure(conn, exc, timeout)
                out.extend(failure for _ in calls[len(out) :])
            finally:
                deadline.at = float("inf")
                if db is not None:
                    # End the read transaction: the next call sees new data, and SQLite's
                    # WAL can be checkpointed past this reader.
                    with contextlib.suppress(Exception):
                        db.end()
        return out

    def _failure(self, conn: sa.Connection, exc: Exception, timeout: float) -> Exception:
        """What a failed call raises: ``exc``, or for a stopped query a
        :class:`QueryTimeoutError` caused by it. A broken connection is dropped, so that the
        next call opens another."""
        if _is_timeout(exc):
            error = QueryTimeoutError(f"the query took longer than {timeout:g} s and was stopped")
            error.__cause__ = exc
            return error
        if _is_broken(conn, exc):
            self._forget(conn)
        return exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            self._closed = True
            for conn in self._open:
                with contextlib.suppress(sa.exc.SQLAlchemyError):
                    conn.close()
            self._open.clear()

    def _connection(self) -> tuple[sa.Connection, _Deadline, dict[Any, Any]]:
        conn: sa.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed and not conn.invalidated:
            return conn, self._local.deadline, self._local.cache
        conn = self.engine.connect()
        deadline = _Deadline()
        if self.dialect == "sqlite":
            raw: Any = conn.connection.dbapi_connection
            raw.set_progress_handler(deadline.passed, _PROGRESS_STEPS)
            # Reads through a memory map skip a system call per page: lookups touch a few
            # random pages of a large file, so this halves their cost here.
            raw.execute(f"PRAGMA mmap_size = {_MMAP_BYTES}")
        elif self.dialect == "postgresql":
            conn.exec_driver_sql(f"SET statement_timeout = {_millis(self.timeout)}")
            # The API's statements are short index probes: JIT compiling, which a plan's
            # estimates can trigger, costs more than any of them runs. (Plans themselves
            # are cached by psycopg's prepared statements, which need the read transactions
            # to end in COMMIT: see Db.end. Forcing generic plans was tried and dropped: no
            # faster for lookups, and 10x slower for a MIN() over a scope.)
            conn.exec_driver_sql("SET jit = off")
            conn.commit()
        with self._lock:
            if self._closed:
                conn.close()
                raise RuntimeError("the reader is closed")
            self._open.append(conn)
        self._local.conn = conn
        self._local.deadline = deadline
        self._local.cache = {}
        return conn, deadline, self._local.cache

    def _forget(self, conn: sa.Connection) -> None:
        with self._lock:
            if conn in self._open:
                self._open.remove(conn)
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.close()
        self._local.conn = None


def _millis(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _is_timeout(exc: BaseException) -> bool:
    # Raw driver errors arrive as they are; Core queries wrap them in DBAPIError.
    orig = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
    if getattr(orig, "sqlstate", None) == _PG_TIMEOUT_SQLSTATE:
        return True
    # sqlite3 reports an aborted statement as OperationalError("interrupted").
    return type(orig).__name__ == "OperationalError" and "interrupted" in str(orig)


def _is_broken(conn: sa.Connection, exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if conn.closed or conn.invalidated:
        return True
    raw: Any = conn.connection.dbapi_connection
    # psycopg marks a connection whose server went away as closed / broken.
    return bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))
